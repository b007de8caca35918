import pytest
import torch

from mmreid_tricks.evaluation.functional import (DistanceRows,
                                                 distance_rows_fn,
                                                 pairwise_distance)


def test_distance_rows_fn_equals_pairwise_distance():
    torch.manual_seed(0)
    query, gallery = torch.randn(7, 5), torch.randn(11, 5)
    for metric in ('euclidean', 'cosine'):
        rows = distance_rows_fn(query, gallery, metric)
        full = pairwise_distance(query, gallery, metric)
        assert torch.equal(torch.cat([rows(0, 3), rows(3, 7)]), full)


def test_distance_rows_chunks_each_once_and_checks_shapes():
    matrix = torch.arange(12.).view(4, 3)
    chunks = list(DistanceRows(matrix, 4, 3).chunks(3))
    assert [(s, e) for s, e, _ in chunks] == [(0, 3), (3, 4)]
    assert torch.equal(torch.cat([d for _, _, d in chunks]), matrix)

    calls = []

    def rows(start, end):
        calls.append((start, end))
        return matrix[start:end]

    assert len(list(DistanceRows(rows, 4, 3).chunks(2))) == 2
    assert calls == [(0, 2), (2, 4)]
    with pytest.raises(
            ValueError, match=r'distmat has shape \(4, 3\), '
            r'expected \(4, 2\)'):
        DistanceRows(matrix, 4, 2)
    with pytest.raises(
            ValueError,
            match=r'chunk 0:2 has shape \(2, 3\), '
            r'expected \(2, 4\)'):
        list(DistanceRows(rows, 4, 4).chunks(2))
    with pytest.raises(ValueError, match='chunk_size must be positive'):
        list(DistanceRows(matrix, 4, 3).chunks(0))


def test_distances_by_hand():
    query = torch.tensor([[0., 0.], [1., 1.]])
    gallery = torch.tensor([[3., 4.], [1., 1.]])
    # Squared euclidean: |(3, 4)|^2 = 25, |(2, 3)|^2 = 13.
    assert pairwise_distance(query, gallery).tolist() == [[25., 2.], [13., 0.]]
    # 1 - cos: (1, 1) against (3, 4) is 1 - 7 / (5 sqrt 2).
    cosine = pairwise_distance(query[1:], gallery, 'cosine')
    torch.testing.assert_close(cosine, torch.tensor([[1 - 7 / 50**0.5, 0.]]))


def test_chunks_reuse_one_buffer_when_asked():
    torch.manual_seed(1)
    query, gallery = torch.randn(10, 6), torch.randn(9, 6)
    full = pairwise_distance(query, gallery)
    rows = DistanceRows(distance_rows_fn(query, gallery), 10, 9)
    chunks = [(s, e, d.clone(), d.data_ptr())
              for s, e, d in rows.chunks(4, reuse_buffer=True)]
    assert [(s, e) for s, e, _, _ in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert len({ptr for *_, ptr in chunks}) == 1
    assert torch.equal(torch.cat([d for _, _, d, _ in chunks]), full)
    # Without reuse (the default) every chunk is its own tensor.
    kept = [d for _, _, d in rows.chunks(4)]
    assert len({d.data_ptr() for d in kept}) == 3
    assert torch.equal(torch.cat(kept), full)


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_few_and_many_queries_give_the_same_distances(metric):
    """Fewer queries than half the dimensions use the gallery as it is,
    more use factors built once: both give the same distances."""
    torch.manual_seed(2)
    query, gallery = torch.randn(12, 16) + 1, torch.randn(20, 16) + 1
    few = distance_rows_fn(query[:3], gallery, metric)
    many = distance_rows_fn(query, gallery, metric)
    assert not getattr(few, 'fills_buffer', False)
    assert many.fills_buffer
    expected = torch.cdist(query.double(), gallery.double()).square()
    if metric == 'cosine':
        expected = 1 - torch.nn.functional.normalize(query.double(
        )) @ torch.nn.functional.normalize(gallery.double()).t()
    torch.testing.assert_close(
        few(0, 3).double(), expected[:3], rtol=0, atol=1e-4)
    torch.testing.assert_close(
        many(0, 12).double(), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize('num_query', [2, 40])  # plain and factor paths
def test_unclamped_rows_keep_the_rounding_below_zero(num_query):
    """Rankings skip the clamp (a pass over every chunk): identical
    embeddings may then be a little below 0, never more than rounding."""
    torch.manual_seed(2)
    gallery = torch.randn(60, 64) * 10 + 5
    query = gallery[:num_query]
    raw = distance_rows_fn(query, gallery, clamp=False)(0, num_query)
    clamped = distance_rows_fn(query, gallery)(0, num_query)
    assert raw.diagonal().min() < 0 <= clamped.min()
    assert raw.diagonal().abs().max() < 1e-5 * gallery.norm(dim=1).max()**2
    assert torch.equal(raw.clamp(min=0), clamped)


def test_finite_only_for_euclidean_factors_of_bounded_norms():
    query, gallery = torch.randn(12, 4), torch.randn(9, 4)
    assert distance_rows_fn(query, gallery).finite
    assert not distance_rows_fn(query, gallery, 'cosine').finite
    # Squared norms of 2e37 or more, NaN or inf: the ranking must scan.
    for value in (1e19, float('nan'), float('inf')):
        bad = query.clone()
        bad[5, 2] = value
        assert not distance_rows_fn(bad, gallery).finite
        assert not distance_rows_fn(query, bad).finite
