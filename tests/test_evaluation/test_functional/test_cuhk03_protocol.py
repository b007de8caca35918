import itertools

import numpy as np
import pytest
import torch

from mmreid_tricks.evaluation.functional.cuhk03_protocol import \
    rank_metrics_cuhk03
from mmreid_tricks.evaluation.functional.ranking import rank_metrics


def reference_cuhk03(distmat, q_pids, g_pids, q_camids, g_camids, max_rank,
                     num_repeats, seed):
    """Slow CUHK03 single-gallery-shot evaluation, one loop per draw.

    Same structure as ``eval_cuhk03``; the random draws are the documented
    ones of :func:`rank_metrics_cuhk03`: ``u = default_rng(seed).random((Q,
    R, U))`` and, in repeat r of query i, the image number
    ``floor(u[i, r, j] * n)`` of identity j (the j-th smallest gallery pid)
    among its n remaining images in gallery order.
    """
    uids = np.unique(g_pids)
    u = np.random.default_rng(seed).random(
        (len(q_pids), num_repeats, len(uids)))
    all_cmc, all_ap = [], []
    for i in range(len(q_pids)):
        keep = ~((g_pids == q_pids[i]) & (g_camids == q_camids[i]))
        order = np.argsort(distmat[i], kind='stable')
        raw_cmc = (g_pids[order] == q_pids[i])[keep[order]]
        if not raw_cmc.any():
            continue
        # AP on the whole filtered ranking, before any sampling.
        hits = raw_cmc.cumsum()
        all_ap.append((hits / np.arange(1, len(hits) + 1))[raw_cmc].mean())
        cmc = np.zeros(max_rank)
        for r in range(num_repeats):
            sampled = []
            for j, pid in enumerate(uids):
                images = np.flatnonzero((g_pids == pid) & keep)
                if len(images):
                    sampled.append(images[int(u[i, r, j] * len(images))])
            sampled = np.array(sampled)
            ranked = sampled[np.argsort(distmat[i, sampled], kind='stable')]
            first = np.flatnonzero(g_pids[ranked] == q_pids[i])[0]
            cmc[first:] += 1  # beyond the sampled gallery it stays at 1
        all_cmc.append(cmc / num_repeats)
    return (np.mean(all_cmc, 0), np.mean(all_ap), len(q_pids) - len(all_ap))


def random_problem(seed, num_q=25, num_g=90, num_ids=10, num_cams=3):
    """Tie-free distances with distractors, unmatched and skipped queries."""
    rng = np.random.default_rng(seed)
    g_pids = rng.integers(0, num_ids + 1, num_g)  # pid 0: distractors
    g_camids = rng.integers(0, num_cams, num_g)
    q_pids = rng.integers(1, num_ids + 3, num_q)  # some not in the gallery
    q_camids = rng.integers(0, num_cams, num_q)
    # A query whose identity is only in its own camera: skipped.
    g_pids[:2], g_camids[:2] = num_ids + 5, 0
    q_pids[0], q_camids[0] = num_ids + 5, 0
    distmat = rng.permutation(num_q * num_g).reshape(num_q, num_g) / 7.0
    return distmat.astype(np.float32), q_pids, g_pids, q_camids, g_camids


def as_tensors(*arrays):
    return [torch.from_numpy(np.asarray(a)) for a in arrays]


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('chunk_size', [1, 7, 256])
def test_matches_reference(seed, chunk_size):
    problem = random_problem(seed)
    cmc, mean_ap, skipped = reference_cuhk03(
        *problem, max_rank=15, num_repeats=4, seed=seed)
    _, q_pids, g_pids, q_camids, g_camids = problem
    same_pid = q_pids[:, None] == g_pids
    removed = same_pid & (q_camids[:, None] == g_camids)
    num_pos = (same_pid & ~removed).sum(1)
    # Skipped queries, and queries drawing among several positives left
    # after a same-camera removal.
    assert 0 < skipped < len(q_pids)
    assert ((num_pos > 1) & removed.any(1)).any()
    out = rank_metrics_cuhk03(
        *as_tensors(*problem),
        max_rank=15,
        num_repeats=4,
        seed=seed,
        chunk_size=chunk_size)
    np.testing.assert_allclose(out['cmc'].numpy(), cmc, atol=1e-12)
    assert out['mAP'] == pytest.approx(mean_ap, abs=1e-9)
    assert out['num_skipped_queries'] == skipped
    assert out['num_valid_queries'] == len(problem[1]) - skipped


def test_map_and_minp_are_market1501():
    problem = as_tensors(*random_problem(0))
    market = rank_metrics(*problem, max_rank=15)
    out = rank_metrics_cuhk03(*problem, max_rank=15)
    assert (out['mAP'], out['mINP']) == (market['mAP'], market['mINP'])
    assert out['num_skipped_queries'] == market['num_skipped_queries']


def test_seeded_determinism():
    problem = as_tensors(*random_problem(1))
    first = rank_metrics_cuhk03(*problem, seed=3)
    again = rank_metrics_cuhk03(*problem, seed=3, chunk_size=5)
    other = rank_metrics_cuhk03(*problem, seed=4)
    given = rank_metrics_cuhk03(*problem, seed=np.random.default_rng(3))
    assert torch.equal(first['cmc'], again['cmc'])
    assert torch.equal(first['cmc'], given['cmc'])
    assert not torch.equal(first['cmc'], other['cmc'])


def test_callable_equals_matrix():
    distmat, *ids = as_tensors(*random_problem(2))
    out = rank_metrics_cuhk03(
        lambda start, end: distmat[start:end], *ids, chunk_size=6)
    full = rank_metrics_cuhk03(distmat, *ids)
    assert torch.equal(out['cmc'], full['cmc'])
    assert out['mAP'] == full['mAP']


def test_distance_dtypes():
    distmat, *ids = as_tensors(*random_problem(3))
    ints = distmat.argsort(1).argsort(1)  # same order per row, no ties
    base = rank_metrics_cuhk03(ints.float(), *ids)
    for dist in (ints, ints.double(), distmat):
        out = rank_metrics_cuhk03(dist, *ids)
        assert torch.equal(out['cmc'], base['cmc'])
        assert out['mAP'] == pytest.approx(base['mAP'], abs=1e-12)


def test_expected_cmc_by_enumeration():
    # Query pid 1, camera 0. Positives (pid 1, camera 1) at 0.3 and 0.6; the
    # same-camera image of pid 1 at 0.05 is removed. Identity 2 at 0.2 or
    # 0.7, identity 3 at 0.1, 0.4 or 0.9. Each identity's image is uniform
    # and independent: enumerate the 2 x 2 x 3 equally likely galleries.
    dist = torch.tensor([[0.3, 0.6, 0.05, 0.2, 0.7, 0.1, 0.4, 0.9]])
    g_pids = torch.tensor([1, 1, 1, 2, 2, 3, 3, 3])
    g_camids = torch.tensor([1, 1, 0, 1, 1, 1, 1, 1])
    expected = np.zeros(3)
    for pos, two, three in itertools.product([0.3, 0.6], [0.2, 0.7],
                                             [0.1, 0.4, 0.9]):
        rank = (two < pos) + (three < pos)
        expected[rank:] += 1 / 12
    out = rank_metrics_cuhk03(
        dist,
        torch.tensor([1]),
        g_pids,
        torch.tensor([0]),
        g_camids,
        max_rank=3,
        num_repeats=20000)
    np.testing.assert_allclose(out['cmc'].numpy(), expected, atol=0.015)
    # AP on the full filtered ranking (0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9):
    # positives 3rd and 5th of 7.
    assert out['mAP'] == pytest.approx((1 / 3 + 2 / 5) / 2)


def test_ties_rank_the_negative_first():
    dist = torch.tensor([[1.0, 1.0, 2.0]])
    out = rank_metrics_cuhk03(
        dist,
        torch.tensor([1]),
        torch.tensor([1, 2, 3]),
        torch.tensor([0]),
        torch.tensor([1, 1, 1]),
        max_rank=3,
        num_repeats=2)
    assert out['cmc'].tolist() == [0, 1, 1]


def test_errors():
    distmat, *ids = as_tensors(*random_problem(0))
    with pytest.raises(ValueError, match='num_repeats must be positive'):
        rank_metrics_cuhk03(distmat, *ids, num_repeats=0)
    with pytest.raises(ValueError, match='distmat has shape'):
        rank_metrics_cuhk03(distmat[:, 1:], *ids)
    with pytest.raises(ValueError, match='every query would be skipped'):
        rank_metrics_cuhk03(
            torch.ones(1, 2), torch.tensor([1]), torch.tensor([1, 2]),
            torch.tensor([0]), torch.tensor([0, 1]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_equals_cpu():
    distmat, *ids = as_tensors(*random_problem(3))
    cpu = rank_metrics_cuhk03(distmat, *ids, chunk_size=8)
    cuda = rank_metrics_cuhk03(distmat.cuda(), *ids, chunk_size=8)
    assert torch.equal(cpu['cmc'], cuda['cmc'])
    assert cpu['mAP'] == pytest.approx(cuda['mAP'], abs=1e-12)


def test_rows_function_called_once_per_chunk():
    # mAP and sampled CMC come from the same rows: one call per chunk.
    distmat, *ids = as_tensors(*random_problem(4))
    calls = []

    def rows(start, end):
        calls.append((start, end))
        return distmat[start:end]

    out = rank_metrics_cuhk03(rows, *ids, chunk_size=10)
    assert calls == [(0, 10), (10, 20), (20, 25)]
    full = rank_metrics_cuhk03(distmat, *ids)
    assert torch.equal(out['cmc'], full['cmc'])
    assert out['mAP'] == full['mAP']
    with pytest.raises(ValueError, match=r'chunk 0:10 has shape \(10, 89\)'):
        rank_metrics_cuhk03(lambda s, e: distmat[s:e, 1:], *ids, chunk_size=10)
