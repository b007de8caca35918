import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

# Importing the module registers the metric.
from mmreid_tricks.evaluation.metrics.reid_metric import ReIDMetric
from mmreid_tricks.registry import METRICS


def reference_metrics(features, pids, camids, is_query, topk):
    """Slow Market-1501 evaluation on normalised features, in percent."""
    features = features / np.linalg.norm(features, axis=1, keepdims=True)
    query, gallery = features[is_query], features[~is_query]
    q_pids, g_pids = pids[is_query], pids[~is_query]
    q_camids, g_camids = camids[is_query], camids[~is_query]
    distmat = ((query[:, None] - gallery[None])**2).sum(2)
    cmc, aps, inps = [], [], []
    for i in range(len(query)):
        order = np.argsort(distmat[i], kind='stable')
        removed = (g_pids[order] == q_pids[i]) & (
            g_camids[order] == q_camids[i])
        matches = g_pids[order][~removed] == q_pids[i]
        if not matches.any():
            continue
        ranks = np.flatnonzero(matches)
        cmc.append([ranks[0] < k for k in topk])
        aps.append(np.mean((np.arange(len(ranks)) + 1) / (ranks + 1)))
        inps.append(len(ranks) / (ranks[-1] + 1))
    out = dict(mAP=100 * np.mean(aps), mINP=100 * np.mean(inps))
    for k, value in zip(topk, np.mean(cmc, 0)):
        out[f'R{k}'] = 100 * value
    out['num_skipped_queries'] = len(query) - len(aps)
    return out


def fake_samples(num=90, dim=8, num_ids=10, seed=0):
    """Data samples as the model's predict step gives them, as dicts."""
    rng = np.random.default_rng(seed)
    pids = rng.integers(0, num_ids, num)
    camids = rng.integers(0, 3, num)
    is_query = np.zeros(num, dtype=bool)
    is_query[::3] = True
    # Features near an identity centre, so the ranking is far from random.
    centres = rng.normal(size=(num_ids, dim))
    features = (centres[pids] + rng.normal(size=(num, dim))).astype(np.float32)
    samples = []
    for i in range(num):
        sample = DataSample(
            metainfo=dict(camid=int(camids[i]), is_query=bool(is_query[i])))
        sample.set_gt_label(int(pids[i]))
        sample.set_field(torch.from_numpy(features[i]), 'pred_feature')
        samples.append(sample.to_dict())
    return samples, (features, pids, camids, is_query)


def test_build_from_registry():
    metric = METRICS.build(dict(type='ReIDMetric', metric='cosine', topk=1))
    assert isinstance(metric, ReIDMetric)
    assert metric.topk == (1, ) and metric.prefix == 'reid'


@pytest.mark.parametrize('chunk_size', [4, 256])
def test_values_match_reference(chunk_size):
    samples, arrays = fake_samples()
    metric = METRICS.build(dict(type='ReIDMetric', chunk_size=chunk_size))
    for start in range(0, len(samples), 16):  # batches, as in a test loop
        metric.process({}, samples[start:start + 16])
    out = metric.compute_metrics(metric.results)
    expected = reference_metrics(*arrays, topk=(1, 5, 10))
    assert set(out) == {
        'mAP', 'mINP', 'R1', 'R5', 'R10', 'num_skipped_queries'
    }
    for key, value in expected.items():
        assert out[key] == pytest.approx(value, abs=1e-4), key
    assert 0 < out['mAP'] < 100 and out['num_skipped_queries'] >= 0


def test_through_evaluator_with_prefix():
    samples, arrays = fake_samples(seed=1)
    evaluator = Evaluator(metrics=dict(type='mmreid_tricks.ReIDMetric'))
    evaluator.process(samples)
    out = evaluator.evaluate(len(samples))
    expected = reference_metrics(*arrays, topk=(1, 5, 10))
    assert out['reid/R1'] == pytest.approx(expected['R1'], abs=1e-4)
    assert out['reid/mAP'] == pytest.approx(expected['mAP'], abs=1e-4)


def test_cosine_unnormalised_matches_euclidean_normalised():
    # On unit vectors the squared euclidean distance is 2 - 2 cos: the same
    # order (these features have no near ties), so the same metrics.
    samples, _ = fake_samples(seed=2)
    outs = []
    for cfg in (dict(metric='cosine', normalize_feature=False),
                dict(metric='euclidean', normalize_feature=True)):
        metric = METRICS.build(dict(type='ReIDMetric', **cfg))
        metric.process({}, samples)
        outs.append(metric.compute_metrics(metric.results))
    for key in outs[0]:
        assert outs[0][key] == pytest.approx(outs[1][key], abs=1e-4), key


def test_int_label_and_tensor_fields():
    feature = torch.tensor([1.0, 0.0])
    samples = [
        dict(
            pred_feature=feature,
            gt_label=7,
            camid=torch.tensor(0),
            is_query=torch.tensor(True)),
        dict(
            pred_feature=feature + 0.1,
            gt_label=torch.tensor([7]),
            camid=1,
            is_query=False),
        dict(pred_feature=-feature, gt_label=8, camid=1, is_query=False),
    ]
    metric = ReIDMetric(topk=(1, 2))
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    assert out == dict(
        mAP=100.0, mINP=100.0, R1=100.0, R2=100.0, num_skipped_queries=0)


def test_errors():
    samples, _ = fake_samples(num=6)
    gallery_only = [dict(s, is_query=False) for s in samples]
    metric = ReIDMetric()
    metric.process({}, gallery_only)
    with pytest.raises(ValueError, match='0 queries and 6 gallery'):
        metric.compute_metrics(metric.results)
    metric = ReIDMetric()
    metric.process({}, [dict(s, is_query=True) for s in samples])
    with pytest.raises(ValueError, match='6 queries and 0 gallery'):
        metric.compute_metrics(metric.results)
    missing = dict(samples[0])
    del missing['camid']
    with pytest.raises(KeyError, match=r"missing \['camid'\]"):
        ReIDMetric().process({}, [missing])
    with pytest.raises(ValueError, match='metric must be'):
        ReIDMetric(metric='l1')
    with pytest.raises(ValueError, match='topk'):
        ReIDMetric(topk=(0, 5))


def test_cuda_device_equals_cpu_or_falls_back():
    # Without CUDA the metric warns and computes on the CPU.
    samples, _ = fake_samples(seed=3)
    outs = []
    for device in ('cpu', 'cuda'):
        metric = ReIDMetric(device=device, chunk_size=8)
        metric.process({}, samples)
        outs.append(metric.compute_metrics(metric.results))
    for key in outs[0]:
        assert outs[0][key] == pytest.approx(outs[1][key], abs=1e-4), key


def test_cuhk03_sgs_protocol():
    from mmreid_tricks.evaluation.functional import pairwise_distance
    from mmreid_tricks.evaluation.functional.cuhk03_protocol import \
        rank_metrics_cuhk03
    samples, (features, pids, camids, is_query) = fake_samples(seed=4)
    outs = {}
    for protocol in ('market1501', 'cuhk03_sgs'):
        metric = METRICS.build(
            dict(type='ReIDMetric', protocol=protocol, chunk_size=8))
        metric.process({}, samples)
        outs[protocol] = metric.compute_metrics(metric.results)
    sgs, market = outs['cuhk03_sgs'], outs['market1501']
    # Same AP and INP (full filtered ranking), another CMC.
    assert sgs['mAP'] == pytest.approx(market['mAP'], abs=1e-9)
    assert sgs['mINP'] == pytest.approx(market['mINP'], abs=1e-9)
    feats = torch.nn.functional.normalize(torch.from_numpy(features), dim=1)
    q, g = torch.from_numpy(is_query), torch.from_numpy(~is_query)
    pids, camids = torch.from_numpy(pids), torch.from_numpy(camids)
    expected = rank_metrics_cuhk03(
        pairwise_distance(feats[q], feats[g]), pids[q], pids[g], camids[q],
        camids[g], max_rank=10)
    for k in (1, 5, 10):
        assert sgs[f'R{k}'] == pytest.approx(
            100 * float(expected['cmc'][k - 1]), abs=1e-9)
    with pytest.raises(ValueError, match='protocol must be one of'):
        ReIDMetric(protocol='cuhk03')


def _split(arrays):
    features, pids, camids, is_query = arrays
    q, g = is_query, ~is_query
    feats = torch.nn.functional.normalize(torch.from_numpy(features), dim=1)
    ids = tuple(
        torch.from_numpy(a) for a in (pids[q], pids[g], camids[q], camids[g]))
    return feats[torch.from_numpy(q)], feats[torch.from_numpy(g)], ids


@pytest.mark.parametrize('rerank,aqe', [(True, False), (False, True),
                                        (True, True)])
def test_rerank_and_query_expansion_options(rerank, aqe, caplog):
    from mmreid_tricks.evaluation.functional import (average_query_expansion,
                                                     k_reciprocal_rerank,
                                                     rank_metrics)
    samples, arrays = fake_samples(num=120)
    rerank_cfg = dict(k1=8, k2=3, lambda_value=0.3)
    aqe_cfg = dict(top_k=3, alpha=3.0)
    metric = METRICS.build(
        dict(
            type='ReIDMetric',
            rerank=rerank,
            rerank_cfg=rerank_cfg,
            aqe=aqe,
            aqe_cfg=aqe_cfg))
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)

    query, gallery, ids = _split(arrays)
    if aqe:
        query, gallery = average_query_expansion(query, gallery, **aqe_cfg)
    if rerank:
        dist = k_reciprocal_rerank(query, gallery, **rerank_cfg)
    else:
        dist = torch.cdist(query, gallery).pow(2)
    expected = rank_metrics(dist, *ids, max_rank=10)
    assert out['mAP'] == pytest.approx(100 * expected['mAP'], abs=1e-4)
    assert out['R1'] == pytest.approx(100 * float(expected['cmc'][0]),
                                      abs=1e-4)
    plain = METRICS.build(dict(type='ReIDMetric'))
    plain.process({}, samples)
    assert out['mAP'] != plain.compute_metrics(plain.results)['mAP']
    assert ('rerank=' in metric._settings()) == rerank
    assert ('aqe=' in metric._settings()) == aqe
