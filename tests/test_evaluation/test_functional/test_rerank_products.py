"""Block products of re-ranking's search: squared distances within their
error bound, int8 digits, and which arithmetic a device gets."""
import pytest
import torch

from mmreid_tricks.evaluation.functional import rerank_products
from mmreid_tricks.evaluation.functional.rerank_features import CentredFeatures
from mmreid_tricks.evaluation.functional.rerank_products import (
    Float32Products, Int8Products, block_products, fast_int8)

ARITHMETIC = ['float32', 'int8']


@pytest.mark.parametrize('arithmetic', ARITHMETIC)
def test_blocks_are_squared_distances_within_the_bound(arithmetic,
                                                       monkeypatch):
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(5, 7, generator=gen) + 3
    gallery = torch.randn(9, 7, generator=gen) * 4 + 3
    # Tiles smaller than the blocks.
    monkeypatch.setattr(rerank_products, '_TILE_ROWS', 4)
    monkeypatch.setattr(rerank_products, '_TILE_COLS', 3)
    features = CentredFeatures(query, gallery, 'euclidean', arithmetic)
    feats = torch.cat([query, gallery]).double()
    expected = torch.cdist(feats, feats).square()
    products = features.products
    got = products.block(slice(0, 14), slice(0, 14))
    assert got.dtype == torch.float32 and got.shape == (14, 14)
    idx = torch.arange(14)
    bound = products.bound(idx[:, None], idx)
    assert ((got.double() - expected).abs() <= bound).all()
    # A few parts of the float64 ulp of the distances at most.
    assert bound.max() < 2e-3 * expected.max()
    # The bound to any image covers every pair.
    assert (products.bound_to_any(idx[:, None]) >= bound).all()
    # Any block, into a caller's buffer.
    out = torch.empty(3, 5)
    part = products.block(slice(2, 5), slice(8, 13), out=out)
    assert part.data_ptr() == out.data_ptr()
    torch.testing.assert_close(part, got[2:5, 8:13], rtol=0, atol=1e-5)


def test_int8_digits_and_their_residual():
    """x = s (256 h + l) + e with |e| <= eps, and |s l| <= ell."""
    gen = torch.Generator().manual_seed(1)
    query = torch.randn(3, 600, generator=gen)
    gallery = torch.randn(4, 600, generator=gen) * 1e-3
    features = CentredFeatures(query, gallery, 'euclidean', 'int8')
    products = features.products
    exact = features.exact_rows(torch.arange(7))
    high = products.digits[:, :600].double()
    low = products.digits[:, 600:].double()
    assert high.abs().max() <= 125 and low.abs().max() <= 128
    scale = products.scale.double()[:, None] / 256
    resid = (exact - scale * (256 * high + low)).norm(dim=1)
    assert (resid <= products.eps).all()
    assert (products.eps <= 1.2 * resid + 1e-6 * features.length).all()
    torch.testing.assert_close((scale * low).norm(dim=1) * 1.1, products.ell)
    # Digits use the whole range whatever a row's scale.
    assert (high.abs().amax(1)[features.length > 0] >= 124).all()
    # A row equal to the mean: zero digits, no residual.
    products = CentredFeatures(
        torch.tensor([[1., 2.], [3., 4.]]), torch.tensor([[2., 3.]]),
        'euclidean', 'int8').products
    assert products.digits[2].eq(0).all()
    assert products.eps[2] == 0 and products.ell[2] == 0


def test_float32_factors_and_their_buffer():
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(14, 7, generator=gen)
    products = CentredFeatures(feats[:5], feats[5:], 'euclidean',
                               'float32').products
    assert products.left.shape == (14, 16)  # 7 + 2 columns, padded to 16
    right = products.column_side(slice(3, 8))
    # Kept for the last range.
    assert products.column_side(slice(3, 8)) is right
    torch.testing.assert_close(right.clone(),
                               products.column_side(slice(0, 14))[3:8])


def test_int8_only_on_cpus_with_amx(monkeypatch):
    like = torch.zeros(1)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: False)
    assert not fast_int8(torch.device('cpu'))
    assert isinstance(block_products(3, 4, like), Float32Products)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: True)
    assert fast_int8(torch.device('cpu'))
    assert isinstance(block_products(3, 4, like), Int8Products)
    assert not fast_int8(torch.device('cuda'))
    # Forced either way.
    assert isinstance(block_products(3, 4, like, 'float32'), Float32Products)
    with pytest.raises(ValueError, match='CPU only'):
        block_products(3, 4, torch.zeros(1, device='meta'), 'int8')
    with pytest.raises(ValueError, match='2\\^16 dims'):
        block_products(3, 2**16 + 1, like, 'int8')
