import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

from mmreid_tricks.evaluation.functional import rank_metrics, rerank_encoding
from mmreid_tricks.evaluation.functional.rerank import (k_reciprocal_rerank,
                                                        k_reciprocal_rerank_fn)


def _load_reference():
    """The dense original algorithm, which lives beside the benchmark: it
    is a reference for checks, not part of the package."""
    path = osp.join(
        osp.dirname(__file__), *[osp.pardir] * 3, 'benchmarks',
        'rerank_reference.py')
    spec = importlib.util.spec_from_file_location('rerank_reference', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


k_reciprocal_rerank_dense = _load_reference().k_reciprocal_rerank_dense


def random_feats(seed, num_q=30, num_g=120, dim=16, offset=3.0):
    """Tie-free float32 features; the offset imitates post-ReLU ones."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(num_q + num_g, dim)) + offset
    feats = feats.astype(np.float32)
    return feats[:num_q], feats[num_q:]


def rerank(query, gallery, *args, **kwargs):
    return k_reciprocal_rerank(
        torch.from_numpy(query), torch.from_numpy(gallery), *args,
        **kwargs).numpy()


# Largest differences from the original: float32 rounding, or the 16-bit
# digits of 16-d features (2048-d ones: ~1e-6).
ATOL = dict(float32=1e-5, int8=1e-4)


@pytest.mark.parametrize('arithmetic', ['float32', 'int8'])
@pytest.mark.parametrize(
    'seed, k1, k2, lambda_value',
    [
        (0, 20, 6, 0.3),  # the defaults of the paper
        (1, 5, 1, 0.5),  # no query expansion; round(2.5) = 2
        (2, 7, 3, 0.0),  # Jaccard distance only; round(3.5) = 4
        (3, 4, 8, 0.3),  # k2 beyond the k1 + 1 neighbours
        (4, 1, 2, 0.9),
    ])
def test_matches_original_algorithm(seed, k1, k2, lambda_value, arithmetic):
    query, gallery = random_feats(seed)
    expected = k_reciprocal_rerank_dense(query, gallery, k1, k2, lambda_value)
    result = rerank(
        query,
        gallery,
        k1,
        k2,
        lambda_value,
        chunk_size=64,
        arithmetic=arithmetic)
    assert result.dtype == np.float32 and result.shape == (30, 120)
    np.testing.assert_allclose(result, expected, rtol=0, atol=ATOL[arithmetic])


@pytest.mark.parametrize('sparse_pairs', [0, 10**9])
@pytest.mark.parametrize('seed, k1, k2, lambda_value', [(0, 20, 6, 0.3),
                                                        (2, 7, 3, 0.0)])
def test_sparse_and_dense_final_rows_match_original(seed, k1, k2, lambda_value,
                                                    sparse_pairs, monkeypatch):
    """The final rows' two ways (only the pairs sharing a column corrected,
    or every entry from the dense overlaps) agree with the original."""
    monkeypatch.setattr(rerank_encoding, '_SPARSE_PAIRS', sparse_pairs)
    query, gallery = random_feats(seed)
    expected = k_reciprocal_rerank_dense(query, gallery, k1, k2, lambda_value)
    result = rerank(query, gallery, k1, k2, lambda_value, arithmetic='float32')
    np.testing.assert_allclose(result, expected, rtol=0, atol=ATOL['float32'])


@pytest.mark.parametrize('backend', ['numpy', 'torch'])
def test_reference_distance_precision_does_not_matter_without_near_ties(
        backend):
    query, gallery = random_feats(14)
    np.testing.assert_allclose(
        k_reciprocal_rerank_dense(
            query, gallery, exact=False, float32_backend=backend),
        k_reciprocal_rerank_dense(query, gallery),
        rtol=0,
        atol=1e-5)
    with pytest.raises(ValueError, match='float32_backend'):
        k_reciprocal_rerank_dense(query, gallery, float32_backend='cupy')


def test_same_metrics_as_original_algorithm():
    query, gallery = random_feats(5, num_q=40, num_g=160)
    rng = np.random.default_rng(5)
    pids = [torch.from_numpy(rng.integers(0, 15, n)) for n in (40, 160)]
    cams = [torch.from_numpy(rng.integers(0, 3, n)) for n in (40, 160)]
    expected = rank_metrics(
        torch.from_numpy(k_reciprocal_rerank_dense(query, gallery)), *pids,
        *cams)
    result = rank_metrics(
        torch.from_numpy(rerank(query, gallery)), *pids, *cams)
    assert result['mAP'] == pytest.approx(expected['mAP'], abs=1e-4)
    torch.testing.assert_close(
        result['cmc'], expected['cmc'], atol=1e-4, rtol=0)


@pytest.mark.parametrize('arithmetic', ['float32', 'int8'])
def test_lambda_one_gives_normalised_original_distance(arithmetic):
    query, gallery = random_feats(6)
    feats = np.concatenate([query, gallery]).astype(np.float64)
    dist = ((feats[:, None] - feats[None])**2).sum(2)
    # Each query's distances over the max of its column of all N images.
    expected = dist[:30, 30:] / dist[:, :30].max(0)[:, None]
    result = rerank(query, gallery, lambda_value=1.0, arithmetic=arithmetic)
    np.testing.assert_allclose(result, expected, rtol=0, atol=ATOL[arithmetic])


def test_cosine_is_euclidean_on_normalised_features():
    query, gallery = random_feats(7)
    normalise = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa
    expected = k_reciprocal_rerank_dense(normalise(query), normalise(gallery))
    result = rerank(query, gallery, metric='cosine')
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize('chunk_size', [16, 50, 1000])
def test_chunk_size_does_not_matter(chunk_size):
    query, gallery = random_feats(8)
    expected = rerank(query, gallery, chunk_size=4096)
    result = rerank(query, gallery, chunk_size=chunk_size)
    # Block shapes change the float32 rounding of the distances only.
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-6)


def test_exact_ties_are_ordered_by_index():
    """Small integer features: duplicates and many equal distances.

    Every distance is an exact small integer in float32 and float64, so the
    order of equal distances is the only thing that can differ; the
    original's stable sort orders them by index, as must the float32
    search with its float64 fallbacks.
    """
    rng = np.random.default_rng(9)
    feats = rng.integers(0, 3, (150, 4)).astype(np.float32)
    query, gallery = feats[:30], feats[30:]
    for k1, k2 in [(20, 6), (6, 3)]:
        expected = k_reciprocal_rerank_dense(query, gallery, k1, k2)
        result = rerank(query, gallery, k1, k2, chunk_size=50)
        np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)


def test_fewer_images_than_neighbours():
    query, gallery = random_feats(10, num_q=2, num_g=5)
    expected = k_reciprocal_rerank_dense(query, gallery, k1=20, k2=6)
    np.testing.assert_allclose(
        rerank(query, gallery), expected, rtol=0, atol=1e-5)


def test_chunk_function_gives_the_same_rows():
    query, gallery = map(torch.from_numpy, random_feats(11))
    full = k_reciprocal_rerank(query, gallery)
    rows_fn = k_reciprocal_rerank_fn(query, gallery)
    for start, end in [(0, 30), (0, 7), (7, 30), (12, 12)]:
        torch.testing.assert_close(
            rows_fn(start, end), full[start:end], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match='out of range'):
        rows_fn(0, 31)
    pids = torch.arange(150) % 10
    cams = torch.arange(150) // 3 % 3
    from_fn = rank_metrics(
        rows_fn, pids[:30], pids[30:], cams[:30], cams[30:], chunk_size=7)
    from_full = rank_metrics(full, pids[:30], pids[30:], cams[:30], cams[30:])
    assert from_fn['mAP'] == pytest.approx(from_full['mAP'], abs=1e-6)


def test_invalid_arguments():
    query, gallery = map(torch.from_numpy, random_feats(12))
    with pytest.raises(ValueError, match='metric'):
        k_reciprocal_rerank(query, gallery, metric='manhattan')
    with pytest.raises(ValueError, match='same D'):
        k_reciprocal_rerank(query, gallery[:, :8])
    with pytest.raises(ValueError, match='positive'):
        k_reciprocal_rerank(query, gallery, k1=0)
    with pytest.raises(ValueError, match='lambda_value'):
        k_reciprocal_rerank(query, gallery, lambda_value=1.5)
    with pytest.raises(ValueError, match='empty'):
        k_reciprocal_rerank(query[:0], gallery)
    with pytest.raises(ValueError, match="arithmetic .* got 'int4'"):
        k_reciprocal_rerank(query, gallery, arithmetic='int4')
