"""Chunked top-k equals sorting the metric's full distance matrix."""
import pytest
import torch

from mmreid_tricks.apis import topk_search
from mmreid_tricks.evaluation.functional import pairwise_distance


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_chunked_topk_equals_full_sort(metric):
    torch.manual_seed(0)
    query, gallery = torch.randn(11, 16), torch.randn(53, 16)
    dist, idx = topk_search(
        query, gallery, k=9, metric=metric, query_chunk=4, gallery_chunk=7)
    full = pairwise_distance(query, gallery, metric)
    expected = full.argsort(dim=1, stable=True)[:, :9]
    assert torch.equal(idx, expected)
    torch.testing.assert_close(dist, full.gather(1, expected))


def test_ties_in_index_order_and_k_cut_to_gallery():
    gallery = torch.tensor([[1., 0.], [0., 1.], [1., 0.], [1., 0.], [2., 0.]])
    dist, idx = topk_search(
        torch.tensor([[1., 0.]]), gallery, k=10, gallery_chunk=2)
    # Three exact matches (any chunk) in index order, then 1 (d=2), 4 (d=1).
    assert idx.tolist() == [[0, 2, 3, 4, 1]]
    assert dist.tolist() == [[0., 0., 0., 1., 2.]]


def test_float16_gallery_and_bad_shapes():
    torch.manual_seed(1)
    query, gallery = torch.randn(5, 32), torch.randn(40, 32)
    _, idx32 = topk_search(query, gallery, k=3)
    _, idx16 = topk_search(query, gallery.half(), k=3, gallery_chunk=9)
    assert torch.equal(idx16, idx32)
    with pytest.raises(ValueError, match=r'\[Q, D\] and \[G, D\]'):
        topk_search(query, torch.randn(4, 8))
    with pytest.raises(ValueError, match='positive'):
        topk_search(query, gallery, k=0)
