from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmreid_tricks.evaluation.functional import (pairwise_distance,
                                                 rank_metrics,
                                                 rank_metrics_from_features)


def reference_rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids,
                           max_rank):
    """Slow, obviously correct Market-1501 evaluation: sort every row."""
    all_cmc, all_ap, all_inp = [], [], []
    for i in range(len(q_pids)):
        order = np.argsort(distmat[i], kind='stable')
        pids, camids = g_pids[order], g_camids[order]
        removed = (pids == q_pids[i]) & (camids == q_camids[i])
        matches = pids[~removed] == q_pids[i]
        if not matches.any():
            continue
        cmc = np.zeros(max_rank)
        first = np.flatnonzero(matches)[0]
        cmc[first:] = 1  # beyond the gallery the curve stays at 1
        all_cmc.append(cmc)
        hits = np.cumsum(matches)
        precision = [hits[r] / (r + 1) for r in np.flatnonzero(matches)]
        all_ap.append(np.mean(precision))
        all_inp.append(matches.sum() / (np.flatnonzero(matches)[-1] + 1))
    return (np.mean(all_cmc, 0), np.mean(all_ap), np.mean(all_inp),
            len(q_pids) - len(all_ap))


def random_problem(seed, num_q=40, num_g=150, num_ids=12, num_cams=3):
    """Tie-free distances; distractors, unmatched and single-positive queries.

    Query ids run past the gallery's (no match at all), gallery pid 0 is a
    distractor, and few cameras make same-camera removals frequent.
    """
    rng = np.random.default_rng(seed)
    g_pids = rng.integers(0, num_ids + 1, num_g)
    g_camids = rng.integers(0, num_cams, num_g)
    q_pids = rng.integers(1, num_ids + 4, num_q)
    q_camids = rng.integers(0, num_cams, num_q)
    # A query whose only gallery item of its id is in another camera.
    g_pids[:2], g_camids[:2] = num_ids + 5, [0, 1]
    q_pids[0], q_camids[0] = num_ids + 5, 0
    distmat = rng.permutation(num_q * num_g).reshape(num_q, num_g) / 7.0
    return distmat.astype(np.float32), q_pids, g_pids, q_camids, g_camids


def as_tensors(*arrays):
    return [torch.from_numpy(np.asarray(a)) for a in arrays]


@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('chunk_size', [1, 7, 256])
def test_rank_metrics_matches_reference(seed, chunk_size):
    problem = random_problem(seed)
    cmc, mean_ap, mean_inp, skipped = reference_rank_metrics(
        *problem, max_rank=20)
    _, q_pids, g_pids, q_camids, g_camids = problem
    same_pid = q_pids[:, None] == g_pids
    removed = same_pid & (q_camids[:, None] == g_camids)
    num_pos = (same_pid & ~removed).sum(1)
    # Every case the protocol distinguishes occurs.
    assert 0 < skipped < len(q_pids) and (num_pos == 1).any()
    assert removed.any() and (g_pids == 0).any()
    out = rank_metrics(
        *as_tensors(*problem), max_rank=20, chunk_size=chunk_size)
    np.testing.assert_allclose(out['cmc'].numpy(), cmc, atol=1e-6)
    assert out['mAP'] == pytest.approx(mean_ap, abs=1e-6)
    assert out['mINP'] == pytest.approx(mean_inp, abs=1e-6)
    assert out['num_skipped_queries'] == skipped
    assert out['num_valid_queries'] == len(problem[1]) - skipped


def test_hand_computed_case():
    # One query (pid 1, camera 0). Gallery in increasing distance:
    # negative, positive, same-camera item of pid 1 (removed), negative,
    # distractor (pid 0), positive -> positives at ranks 1 and 4 of 5.
    dist = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])
    g_pids = torch.tensor([2, 1, 1, 3, 0, 1])
    g_camids = torch.tensor([1, 1, 0, 0, 2, 2])
    out = rank_metrics(
        dist,
        torch.tensor([1]),
        g_pids,
        torch.tensor([0]),
        g_camids,
        max_rank=6)
    ap = (Fraction(1, 2) + Fraction(2, 5)) / 2  # precision at each positive
    assert out['mAP'] == pytest.approx(float(ap))  # 9/20
    assert out['mINP'] == pytest.approx(float(Fraction(2, 5)))
    assert out['cmc'].tolist() == [0, 1, 1, 1, 1, 1]
    assert out['num_skipped_queries'] == 0


def test_hand_computed_two_queries():
    # Query 0 finds its single positive first (AP = INP = 1); query 1 has its
    # positives at ranks 2 and 3 (AP = (1/3 + 2/4) / 2 = 5/12, INP = 2/4);
    # query 2 only has a same-camera item of its id and is skipped.
    dist = torch.tensor([[0.5, 0.1, 0.9, 0.7], [0.3, 0.1, 0.4, 0.2],
                         [0.1, 0.2, 0.3, 0.4]])
    q_pids, q_camids = torch.tensor([1, 2, 3]), torch.tensor([0, 0, 0])
    g_pids = torch.tensor([2, 1, 2, 3])
    g_camids = torch.tensor([1, 1, 1, 0])
    out = rank_metrics(dist, q_pids, g_pids, q_camids, g_camids, max_rank=3)
    assert out['mAP'] == pytest.approx((1 + 5 / 12) / 2)
    assert out['mINP'] == pytest.approx((1 + 1 / 2) / 2)
    assert out['cmc'].tolist() == [0.5, 0.5, 1.0]
    assert out['num_skipped_queries'] == 1
    assert out['num_valid_queries'] == 2


def test_ties_rank_the_negative_first():
    # A negative at exactly the positive's distance ranks before it, so a
    # collapsed model gains nothing from ties.
    dist = torch.tensor([[1.0, 1.0, 2.0]])
    g_pids, g_camids = torch.tensor([1, 2, 3]), torch.tensor([1, 1, 1])
    out = rank_metrics(
        dist,
        torch.tensor([1]),
        g_pids,
        torch.tensor([0]),
        g_camids,
        max_rank=2)
    assert out['mAP'] == pytest.approx(0.5)
    assert out['cmc'].tolist() == [0, 1]


@pytest.mark.parametrize('seed', range(3))
def test_chunking_is_exact(seed):
    problem = as_tensors(*random_problem(seed, num_q=60))
    full = rank_metrics(*problem, chunk_size=60)
    for chunk_size in (1, 4, 13, 59):
        out = rank_metrics(*problem, chunk_size=chunk_size)
        assert torch.equal(out['cmc'], full['cmc'])
        assert out['mAP'] == full['mAP'] and out['mINP'] == full['mINP']
        assert out['num_skipped_queries'] == full['num_skipped_queries']


def test_callable_distances_equal_matrix():
    distmat, *ids = as_tensors(*random_problem(0))
    calls = []

    def chunk(start, end):
        calls.append((start, end))
        return distmat[start:end]

    out = rank_metrics(chunk, *ids, chunk_size=16)
    assert calls == [(0, 16), (16, 32), (32, 40)]
    full = rank_metrics(distmat, *ids)
    assert torch.equal(out['cmc'], full['cmc'])
    assert (out['mAP'], out['mINP']) == (full['mAP'], full['mINP'])


@pytest.mark.parametrize('metric', ['euclidean', 'cosine'])
def test_from_features_equal_distance_matrix(metric):
    _, *ids = as_tensors(*random_problem(1))
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(len(ids[0]), 16, generator=gen)
    gallery = torch.randn(len(ids[1]), 16, generator=gen)
    full = rank_metrics(pairwise_distance(query, gallery, metric), *ids)
    out = rank_metrics_from_features(
        query, gallery, *ids, metric=metric, chunk_size=9)
    assert torch.equal(out['cmc'], full['cmc'])
    assert (out['mAP'], out['mINP']) == (full['mAP'], full['mINP'])


def test_from_features_names_nan_distances():
    """Features the distances cannot be known finite from (a NaN, or norms
    whose products overflow to inf - inf) are still scanned for NaN."""
    _, *ids = as_tensors(*random_problem(1))
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(len(ids[0]), 16, generator=gen)
    gallery = torch.randn(len(ids[1]), 16, generator=gen)
    bad = query.clone()
    bad[3, 7] = float('nan')
    with pytest.raises(ValueError, match='NaN distance in query rows 0:'):
        rank_metrics_from_features(bad, gallery, *ids)
    huge_q, huge_g = query.clone(), gallery.clone()
    huge_q[3], huge_g[:] = 1e19, 1e19
    with pytest.raises(ValueError, match='NaN distance'):
        rank_metrics_from_features(huge_q, huge_g, *ids)


def test_cmc_longer_than_gallery_stays_at_one():
    dist = torch.tensor([[0.3, 0.1, 0.2]])
    out = rank_metrics(
        dist,
        torch.tensor([1]),
        torch.tensor([1, 3, 2]),
        torch.tensor([0]),
        torch.tensor([1, 1, 1]),
        max_rank=5)
    assert out['cmc'].tolist() == [0, 0, 1, 1, 1]


def test_pairwise_distance_values():
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(7, 5, generator=gen, dtype=torch.float64)
    gallery = torch.randn(9, 5, generator=gen, dtype=torch.float64)
    euclidean = pairwise_distance(query, gallery)
    assert euclidean.dtype == torch.float32 and euclidean.shape == (7, 9)
    torch.testing.assert_close(
        euclidean,
        torch.cdist(query, gallery).pow(2).float(),
        atol=1e-5,
        rtol=1e-5)
    cosine = pairwise_distance(query, gallery, 'cosine')
    expected = 1 - F.cosine_similarity(
        query.unsqueeze(1), gallery.unsqueeze(0), dim=2)
    torch.testing.assert_close(cosine, expected.float(), atol=1e-6, rtol=1e-6)
    # Identical points: the expansion may round below 0, the clamp keeps 0.
    assert pairwise_distance(query, query).diagonal().min() >= 0


def test_errors():
    distmat, *ids = as_tensors(*random_problem(0))
    with pytest.raises(ValueError, match='metric must be one of'):
        pairwise_distance(torch.ones(2, 3), torch.ones(2, 3), 'l1')
    with pytest.raises(ValueError, match='same D'):
        pairwise_distance(torch.ones(2, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match='distmat has shape'):
        rank_metrics(distmat[:, 1:], *ids)
    with pytest.raises(ValueError, match='must be positive'):
        rank_metrics(distmat, *ids, chunk_size=0)
    bad = distmat.clone()
    bad[3, 5] = float('nan')
    with pytest.raises(ValueError, match='NaN distance'):
        rank_metrics(bad, *ids)
    with pytest.raises(ValueError, match='every query would be skipped'):
        rank_metrics(
            torch.ones(1, 2), torch.tensor([1]), torch.tensor([1, 2]),
            torch.tensor([0]), torch.tensor([0, 1]))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_equals_cpu():
    distmat, *ids = as_tensors(*random_problem(2))
    cpu = rank_metrics(distmat, *ids, chunk_size=8)
    cuda = rank_metrics(distmat.cuda(), *ids, chunk_size=8)
    assert torch.equal(cpu['cmc'], cuda['cmc'])
    assert cpu['mAP'] == pytest.approx(cuda['mAP'], abs=1e-12)
    assert cpu['mINP'] == pytest.approx(cuda['mINP'], abs=1e-12)


@pytest.mark.parametrize('seed', range(3))
def test_float64_and_float32_paths_agree(seed):
    # float64 takes the search-every-item path, float32 the sparse one.
    distmat, *ids = as_tensors(*random_problem(seed))
    out32 = rank_metrics(distmat, *ids, chunk_size=7)
    out64 = rank_metrics(distmat.double(), *ids, chunk_size=7)
    assert torch.equal(out32['cmc'], out64['cmc'])
    assert (out32['mAP'], out32['mINP']) == (out64['mAP'], out64['mINP'])


def test_special_values_and_ties_against_reference():
    # Signed zeros, infinities, negative distances and many exact ties
    # (which the reference breaks pessimistically, like rank_metrics, when
    # negatives come first among equal values).
    rng = np.random.default_rng(0)
    values = np.array([-np.inf, -2.5, -0.0, 0.0, 1.0, 1.0, 3.0, np.inf],
                      dtype=np.float32)
    distmat, q_pids, g_pids, q_camids, g_camids = random_problem(4)
    distmat = rng.choice(values, size=distmat.shape)
    out = rank_metrics(
        *as_tensors(distmat, q_pids, g_pids, q_camids, g_camids),
        max_rank=20,
        chunk_size=5)
    # Reference with ties broken negatives first: sort by (value, is_match).
    all_cmc, all_ap, all_inp = [], [], []
    for i in range(len(q_pids)):
        keep = ~((g_pids == q_pids[i]) & (g_camids == q_camids[i]))
        dist = distmat[i][keep] + 0.0  # -0.0 == 0.0
        match = g_pids[keep] == q_pids[i]
        if not match.any():
            continue
        order = np.lexsort((match, dist))
        matches = match[order]
        ranks = np.flatnonzero(matches)
        cmc = np.zeros(20)
        cmc[ranks[0]:] = 1
        all_cmc.append(cmc)
        all_ap.append(np.mean((np.arange(len(ranks)) + 1) / (ranks + 1)))
        all_inp.append(len(ranks) / (ranks[-1] + 1))
    np.testing.assert_allclose(out['cmc'].numpy(), np.mean(all_cmc, 0))
    assert out['mAP'] == pytest.approx(np.mean(all_ap), abs=1e-12)
    assert out['mINP'] == pytest.approx(np.mean(all_inp), abs=1e-12)
    out64 = rank_metrics(
        *as_tensors(
            distmat.astype(np.float64), q_pids, g_pids, q_camids, g_camids),
        max_rank=20)
    assert (out64['mAP'], out64['mINP']) == (out['mAP'], out['mINP'])


def test_integer_and_half_distances():
    distmat, *ids = as_tensors(*random_problem(5))
    ints = distmat.argsort(1).argsort(1)  # tie-free integer distances
    base = rank_metrics(ints.double(), *ids)
    for dist in (ints, ints.int(), ints.half()):
        out = rank_metrics(dist, *ids)
        assert (out['mAP'], out['mINP']) == (base['mAP'], base['mINP'])


@pytest.mark.parametrize('chunk_size', [5, 256])
def test_good_ranking_matches_reference(chunk_size, monkeypatch):
    # Items of the query's pid shifted ahead by half the range (onto the
    # half-steps, so still tie-free): few negatives precede the positives,
    # and whole chunks take the sparse path, the others the dense one.
    import mmreid_tricks.evaluation.functional.ranking as ranking
    distmat, q_pids, g_pids, q_camids, g_camids = random_problem(7, num_q=60)
    same = q_pids[:, None] == g_pids
    distmat = (distmat - same * (distmat.size + 1) / 14).astype(np.float32)
    paths = []
    sparse = ranking._positive_ranks_sparse

    def spy(*args):
        out = sparse(*args)
        paths.append(out is not None)
        return out

    monkeypatch.setattr(ranking, '_positive_ranks_sparse', spy)
    problem = (distmat, q_pids, g_pids, q_camids, g_camids)
    cmc, mean_ap, mean_inp, _ = reference_rank_metrics(*problem, max_rank=20)
    out = rank_metrics(
        *as_tensors(*problem), max_rank=20, chunk_size=chunk_size)
    assert any(paths)
    np.testing.assert_allclose(out['cmc'].numpy(), cmc, atol=1e-12)
    assert out['mAP'] == pytest.approx(mean_ap, abs=1e-12)
    assert out['mINP'] == pytest.approx(mean_inp, abs=1e-12)


@pytest.mark.parametrize('bitwise_count', [True, False])
@pytest.mark.parametrize('threads', [1, 2])
def test_items_ahead_counts_and_finds_each_row(monkeypatch, bitwise_count,
                                               threads):
    """Rows of any length (the mask pads them to 8 bytes), bounds of +-inf,
    NaN never counted, one scan reused for chunks of other shapes, split
    over threads and cached rows; numpy without bitwise_count (numpy < 2)
    counts the same."""
    from mmreid_tricks.evaluation.functional import ranking
    if not bitwise_count:
        monkeypatch.delattr(ranking.np, 'bitwise_count', raising=False)
    monkeypatch.setattr(ranking, '_CACHED_BYTES', 8)  # 1 or 2 rows a pass
    monkeypatch.setattr(torch, 'get_num_threads', lambda: threads)
    torch.manual_seed(0)
    items_ahead = ranking.ItemsAhead()
    for num_q, num_g in ((5, 1), (5, 7), (3, 8), (4, 13), (5, 14), (2, 13)):
        dist = torch.rand(num_q, num_g)
        dist[0, 0] = float('nan')
        first = torch.rand(num_q)
        first[:2] = torch.tensor([float('inf'), -float('inf')])
        second = first * torch.rand(num_q)
        counts, found = items_ahead(dist, first, second)
        assert torch.equal(counts, (dist <= first[:, None]).sum(1))
        assert counts[0] == num_g - 1 and counts[1] == 0
        expected = (dist <= second[:, None]).view(-1).nonzero().squeeze(1)
        assert torch.equal(found, expected)
        assert counts.dtype == found.dtype == torch.int64
    counts, found = items_ahead(
        torch.rand(0, 13), torch.rand(0), torch.rand(0))
    assert counts.shape == found.shape == (0, )
