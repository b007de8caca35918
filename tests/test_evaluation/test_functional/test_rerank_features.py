"""The features of re-ranking: factors whose product is the squared
distance, and exact rows from the caller's tensors."""
import pytest
import torch
import torch.nn.functional as F

from mmreid_tricks.evaluation.functional.rerank_features import CentredFeatures


def test_factors_give_squared_distances():
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(5, 7, generator=gen) + 3
    gallery = torch.randn(9, 7, generator=gen) + 3
    features = CentredFeatures(query, gallery, 'euclidean')
    feats = torch.cat([query, gallery]).double()
    expected = torch.cdist(feats, feats).square()
    assert features.left.shape == (14, 16)  # 7 + 2 columns, padded to 16
    got = features.left @ features.right(0, 14).t()
    torch.testing.assert_close(got.double(), expected, rtol=0, atol=1e-5)
    # Right factors of a range, written into a caller's buffer.
    buf = torch.empty(100)
    part = features.right(3, 8, buf)
    assert part.data_ptr() == buf.data_ptr()
    torch.testing.assert_close(part, features.right(0, 14)[3:8])


def test_exact_rows_are_the_centred_float64_features():
    query = torch.tensor([[1., 2.], [3., 5.]])
    gallery = torch.tensor([[5., 8.]])
    features = CentredFeatures(query, gallery, 'euclidean')
    # Mean (3, 5): centred rows (-2, -3), (0, 0), (2, 3).
    rows = features.exact_rows(torch.tensor([2, 0, 1, 2]))
    assert rows.dtype == torch.float64
    assert rows.tolist() == [[2., 3.], [-2., -3.], [0., 0.], [2., 3.]]
    assert features.length.tolist() == pytest.approx([13**0.5, 0, 13**0.5])


def test_cosine_normalises_first():
    query = torch.tensor([[3., 4.]])
    gallery = torch.tensor([[10., 0.], [0., 2.]])
    features = CentredFeatures(query, gallery, 'cosine')
    unit = F.normalize(torch.cat([query, gallery]).double(), dim=1)
    rows = features.exact_rows(torch.arange(3))
    torch.testing.assert_close(rows, unit - unit.mean(0))
    # |a - b|^2 = 2 (1 - cos) for unit vectors.
    dist = features.left @ features.right(0, 3).t()
    cos = unit @ unit.t()
    torch.testing.assert_close(dist.double(), 2 * (1 - cos), rtol=0, atol=1e-6)
