"""The neighbour search of re-ranking, against a brute-force float64 sort."""
import numpy as np
import pytest
import torch

from mmreid_tricks.evaluation.functional import rerank_search
from mmreid_tricks.evaluation.functional.rerank_features import CentredFeatures
from mmreid_tricks.evaluation.functional.rerank_search import \
    nearest_neighbours

ARITHMETIC = ['float32', 'int8']
# Largest differences of the search's values from the exact distances:
# float32 rounding; 16-bit digits of the features.
VALUE_ATOL = dict(float32=1e-6, int8=1e-4)


def search(feats,
           set_sizes,
           num_cand,
           chunk=7,
           num_query=None,
           arithmetic='float32'):
    feats = torch.as_tensor(feats)
    features = CentredFeatures(feats[:0], feats, 'euclidean', arithmetic)
    return nearest_neighbours(features, set_sizes, num_cand, chunk, num_query)


def brute_force(feats):
    """Squared distances in float64 rounded to float32, and every row's
    order by (distance / row max, index), as the original sorts."""
    feats = np.asarray(feats, np.float64)
    dist = ((feats[:, None] - feats[None])**2).sum(2).astype(np.float32)
    max_dist = dist.max(1)
    order = np.argsort(dist / max_dist[:, None], axis=1, kind='stable')
    return dist, max_dist, order


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
@pytest.mark.parametrize('num,chunk', [(90, 7), (700, 96)])
def test_random_features_match_brute_force(num, chunk, arithmetic):
    feats = np.random.default_rng(0).normal(size=(num, 12)) + 2
    dist, max_dist, order = brute_force(feats)
    found = search(
        feats.astype(np.float32), [6, 4],
        num_cand=9,
        chunk=chunk,
        arithmetic=arithmetic)
    np.testing.assert_array_equal(found.idx[:, :6].numpy(), order[:, :6])
    np.testing.assert_allclose(found.max_dist.numpy(), max_dist, rtol=1e-6)
    expected = np.take_along_axis(dist, order[:, :6], 1) / max_dist[:, None]
    # Settled rows keep their search values (self-distances ~1e-8).
    np.testing.assert_allclose(
        found.norm_dist[:, :6].numpy(),
        expected,
        rtol=0,
        atol=VALUE_ATOL[arithmetic])


def test_block_search_keeps_the_smallest_values(monkeypatch):
    """Small integer features: float32 distances are exact whatever the
    block shapes, with many ties. The candidates hold the num_cand smallest
    values of every row and the farthest image its max, whether a block's
    candidates come from the smallest group minima or from the groups
    below the row's bound (both happen here)."""
    half = np.random.default_rng(6).integers(0, 4, (350, 6))
    # Mean 0: centring leaves the integers as they are.
    feats = np.concatenate([half, -half])
    dist = ((feats[:, None] - feats[None])**2).sum(2)
    features = CentredFeatures(
        torch.as_tensor(feats[:0], dtype=torch.float32),
        torch.as_tensor(feats, dtype=torch.float32), 'euclidean', 'float32')
    paths = []
    columns = rerank_search._candidate_columns

    def spy(*args):
        cols, padding = columns(*args)
        paths.append(padding is None)
        return cols, padding

    monkeypatch.setattr(rerank_search, '_candidate_columns', spy)
    found = rerank_search._coarse_search(features, 10, 96, None)
    assert set(paths) == {True, False}
    np.testing.assert_array_equal(
        found.cand_dist.sort(1).values.numpy(),
        np.sort(dist, 1)[:, :10])
    np.testing.assert_array_equal(
        np.take_along_axis(dist, found.cand_idx.numpy(), 1),
        found.cand_dist.numpy())
    # The farthest images: the _FAR largest values of every row.
    far = rerank_search._FAR
    np.testing.assert_array_equal(
        np.sort(found.far_dist.numpy(), 1),
        np.sort(dist, 1)[:, -far:])
    np.testing.assert_array_equal(
        np.take_along_axis(dist, found.far_idx.numpy(), 1),
        found.far_dist.numpy())


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_ties_are_ordered_by_index(arithmetic):
    """Integer features: many exactly equal distances, which the error
    bound cannot separate; the fallback orders them by index."""
    feats = np.random.default_rng(1).integers(0, 3, (80, 3))
    _, _, order = brute_force(feats)
    found = search(
        feats.astype(np.float32), [8, 5, 3],
        num_cand=12,
        arithmetic=arithmetic)
    # Only the sets of the requested sizes are guaranteed, and with ties
    # the members at a set's boundary too: compare set by set.
    for size in (8, 5, 3):
        assert (np.sort(found.idx[:, :size].numpy(),
                        1) == np.sort(order[:, :size], 1)).all()


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_duplicate_features_come_in_index_order(arithmetic):
    base = np.random.default_rng(2).normal(size=(20, 8))
    feats = np.concatenate([base, base[:5]]).astype(np.float32)
    # Sets of 1: the tie between an image and its copy is decided exactly.
    found = search(feats, [1, 3], num_cand=5, arithmetic=arithmetic)
    # Images 0 and 20 are the same point: both lists start 0, 20.
    assert found.idx[0, :2].tolist() == [0, 20]
    assert found.idx[20, :2].tolist() == [0, 20]
    assert found.norm_dist[20, 0] == 0


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_more_neighbours_wanted_than_images(arithmetic):
    feats = np.random.default_rng(3).normal(size=(6, 4)).astype(np.float32)
    _, _, order = brute_force(feats)
    found = search(feats, [6], num_cand=6, arithmetic=arithmetic)
    np.testing.assert_array_equal(found.idx.numpy(), order)


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_query_gallery_distances_are_kept(arithmetic):
    feats = np.random.default_rng(4).normal(size=(40, 6)).astype(np.float32)
    dist, _, _ = brute_force(feats)
    found = search(feats, [4], num_cand=6, num_query=11, arithmetic=arithmetic)
    np.testing.assert_allclose(
        found.query_gallery.numpy(),
        dist[:11, 11:],
        rtol=0,
        atol=10 * VALUE_ATOL[arithmetic])
    assert search(feats, [4], num_cand=6).query_gallery is None


def test_long_search_logs_progress(monkeypatch):
    messages = []
    monkeypatch.setattr(rerank_search, '_PROGRESS_MIN', 10)
    monkeypatch.setattr(
        rerank_search,
        'print_log',
        lambda msg, logger=None: messages.append(msg))
    feats = np.random.default_rng(5).normal(size=(30, 4)).astype(np.float32)
    search(feats, [3], num_cand=4, chunk=10)
    # 3 block columns hold 1 + 2 + 3 blocks.
    assert messages[-1].endswith('neighbour search 100% (6/6 blocks)')
    assert messages[0].endswith('neighbour search 16% (1/6 blocks)')


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_features_are_named(bad):
    from mmreid_tricks.evaluation.functional import k_reciprocal_rerank
    query = torch.randn(4, 8)
    gallery = torch.randn(10, 8)
    gallery[7, 3] = bad
    with pytest.raises(ValueError, match='gallery row 7'):
        k_reciprocal_rerank(query, gallery)


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_normaliser_is_the_exact_max_among_near_ties(arithmetic, monkeypatch):
    """Rows whose largest distances are closer than the error bound get
    the exact max, from the kept farthest images or, when more images than
    the kept ones are that close, from the whole row."""
    rng = np.random.default_rng(7)
    base = rng.normal(size=(60, 10))
    # Image 0's farthest: images 1-6, at distances a few 1e-7 apart.
    base[1:7] = base[0] + 30 + rng.normal(size=(6, 10)) * 1e-7
    base = base.astype(np.float32)
    dist, max_dist, _ = brute_force(base)
    whole_rows = []
    exact_rows = rerank_search._exact_rows

    def spy(features, rows, num_keep):
        whole_rows.extend(rows.tolist())
        return exact_rows(features, rows, num_keep)

    monkeypatch.setattr(rerank_search, '_exact_rows', spy)
    found = search(base, [3], num_cand=5, arithmetic=arithmetic)
    np.testing.assert_array_equal(found.max_dist.numpy(), max_dist)
    # Six near ties and four kept: image 0 is computed whole.
    assert 0 in whole_rows


def test_finite_rows_whose_sum_overflows_are_accepted():
    """Rows are screened by their sums; a finite row whose sum overflows
    to inf is checked value by value and accepted."""
    from mmreid_tricks.evaluation.functional.rerank import check_features
    query = torch.randn(4, 8)
    gallery = torch.randn(10, 8)
    gallery[3] = 3e38
    check_features(query, gallery)
    gallery[5, 2] = float('nan')
    with pytest.raises(ValueError, match='1 gallery feature row.*row 5'):
        check_features(query, gallery)
