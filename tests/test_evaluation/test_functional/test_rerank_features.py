"""The features of re-ranking: exact rows from the caller's tensors, and
the block products they fill (see test_rerank_products.py)."""
import pytest
import torch
import torch.nn.functional as F

from mmreid_tricks.evaluation.functional.rerank_features import CentredFeatures

ARITHMETIC = ['float32', 'int8']


def test_unknown_arithmetic_is_refused():
    feats = torch.randn(4, 3)
    with pytest.raises(ValueError, match="'int4'"):
        CentredFeatures(feats, feats, 'euclidean', 'int4')


def test_exact_rows_are_the_centred_float64_features():
    query = torch.tensor([[1., 2.], [3., 5.]])
    gallery = torch.tensor([[5., 8.]])
    features = CentredFeatures(query, gallery, 'euclidean')
    # Mean (3, 5): centred rows (-2, -3), (0, 0), (2, 3).
    rows = features.exact_rows(torch.tensor([2, 0, 1, 2]))
    assert rows.dtype == torch.float64
    assert rows.tolist() == [[2., 3.], [-2., -3.], [0., 0.], [2., 3.]]
    assert features.length.tolist() == pytest.approx([13**0.5, 0, 13**0.5])


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_cosine_normalises_first(arithmetic):
    query = torch.tensor([[3., 4.]])
    gallery = torch.tensor([[10., 0.], [0., 2.]])
    features = CentredFeatures(query, gallery, 'cosine', arithmetic)
    unit = F.normalize(torch.cat([query, gallery]).double(), dim=1)
    rows = features.exact_rows(torch.arange(3))
    torch.testing.assert_close(rows, unit - unit.mean(0))
    # |a - b|^2 = 2 (1 - cos) for unit vectors.
    dist = features.products.block(slice(0, 3), slice(0, 3))
    cos = unit @ unit.t()
    torch.testing.assert_close(dist.double(), 2 * (1 - cos), rtol=0, atol=1e-4)
