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
        pairwise_distance(feats[q], feats[g]),
        pids[q],
        pids[g],
        camids[q],
        camids[g],
        max_rank=10)
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
    assert out['R1'] == pytest.approx(
        100 * float(expected['cmc'][0]), abs=1e-4)
    plain = METRICS.build(dict(type='ReIDMetric'))
    plain.process({}, samples)
    assert out['mAP'] != plain.compute_metrics(plain.results)['mAP']
    assert ('rerank=' in metric._settings()) == rerank
    assert ('aqe=' in metric._settings()) == aqe


def test_cuhk03_rerank_computes_each_distance_chunk_once(monkeypatch):
    # The CUHK03 protocol takes its mAP and its sampled CMC from the same
    # rows: each (expensive) re-ranked chunk is asked for once.
    import mmreid_tricks.evaluation.metrics.reid_metric as reid_metric
    from mmreid_tricks.evaluation.functional import k_reciprocal_rerank
    from mmreid_tricks.evaluation.functional.cuhk03_protocol import \
        rank_metrics_cuhk03
    calls = []
    rerank_fn = reid_metric.k_reciprocal_rerank_fn

    def counting_rerank_fn(*args, **kwargs):
        rows = rerank_fn(*args, **kwargs)

        def counted(start, end):
            calls.append((start, end))
            return rows(start, end)

        return counted

    monkeypatch.setattr(reid_metric, 'k_reciprocal_rerank_fn',
                        counting_rerank_fn)
    samples, arrays = fake_samples(num=120)
    rerank_cfg = dict(k1=8, k2=3, lambda_value=0.3)
    metric = ReIDMetric(
        protocol='cuhk03_sgs',
        rerank=True,
        rerank_cfg=rerank_cfg,
        chunk_size=16)
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    assert calls == [(0, 16), (16, 32), (32, 40)]  # 40 queries

    query, gallery, ids = _split(arrays)
    expected = rank_metrics_cuhk03(
        k_reciprocal_rerank(query, gallery, **rerank_cfg), *ids, max_rank=10)
    assert out['mAP'] == pytest.approx(100 * expected['mAP'], abs=1e-4)
    for k in (1, 5, 10):
        assert out[f'R{k}'] == pytest.approx(
            100 * float(expected['cmc'][k - 1]), abs=1e-9)


def _with_paths(samples):
    return [
        dict(s, img_path=f'/data/{"q" if s["is_query"] else "g"}/{i}.jpg')
        for i, s in enumerate(samples)
    ]


def test_feature_dimensions_that_differ_name_both():
    samples, _ = fake_samples(num=12, dim=8)
    samples = _with_paths(samples)
    for s in samples:
        if not s['is_query']:
            s['pred_feature'] = s['pred_feature'][:4]
    metric = ReIDMetric()
    metric.process({}, samples)
    with pytest.raises(ValueError) as info:
        metric.compute_metrics(metric.results)
    message = str(info.value)
    assert r'query D [8], gallery D [4]' in message
    # Sample 0 is a query, sample 1 the first gallery image.
    assert 'query row 0 (/data/q/0.jpg) has D=8' in message
    assert 'gallery row 0 (/data/g/1.jpg) has D=4' in message


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_feature_names_its_image(value):
    samples, _ = fake_samples(num=12)
    samples = _with_paths(samples)
    # Samples 0, 3, 6, 9 are queries: sample 5 is gallery row 3.
    samples[5]['pred_feature'] = samples[5]['pred_feature'].clone()
    samples[5]['pred_feature'][2] = value
    metric = ReIDMetric()
    metric.process({}, samples)
    with pytest.raises(
            ValueError,
            match=r'1 of 12 embeddings are NaN or inf: gallery '
            r'row 3 \(/data/g/5.jpg\);'):
        metric.compute_metrics(metric.results)
    # Without paths, and several bad rows: the first five are named.
    samples, _ = fake_samples(num=12)
    for s in samples:
        s['pred_feature'] = torch.full_like(s['pred_feature'], value)
    metric = ReIDMetric()
    metric.process({}, samples)
    with pytest.raises(
            ValueError,
            match=r'12 of 12 embeddings are NaN or inf: query row '
            r'0, gallery row 0, gallery row 1, query row 1, '
            r'gallery row 2 and 7 more'):
        metric.compute_metrics(metric.results)


def test_last_results_hold_the_whole_cmc_and_ap_per_query():
    from mmreid_tricks.evaluation.functional import rank_metrics
    samples, arrays = fake_samples(seed=6)
    samples = _with_paths(samples)
    metric = ReIDMetric(topk=(1, 5))
    assert metric.last_results is None
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    last = metric.last_results
    assert last['cmc'].shape == (50, )
    assert float(last['cmc'][0]) == out['R1']
    assert float(last['cmc'][4]) == out['R5']
    query, gallery, ids = _split(arrays)
    expected = rank_metrics(torch.cdist(query, gallery).pow(2), *ids)
    np.testing.assert_allclose(
        last['cmc'].numpy(), 100 * expected['cmc'].numpy(), atol=1e-9)
    # AP per query, NaN for skipped ones; their mean is the mAP.
    assert last['ap'].shape == (len(query), )
    assert int(last['ap'].isnan().sum()) == out['num_skipped_queries']
    assert float(last['ap'].nanmean()) == pytest.approx(out['mAP'], abs=1e-9)
    assert last['query_paths'][:2] == ['/data/q/0.jpg', '/data/q/3.jpg']
    assert len(last['gallery_paths']) == len(gallery)
    # topk beyond max_rank lengthens the curve.
    assert ReIDMetric(topk=(1, 60), max_rank=50).max_rank == 60


@pytest.fixture
def tensorboard_visualizer(tmp_path):
    pytest.importorskip(
        'tensorboard',
        reason='the TensorBoard backend needs `pip install tensorboard`')
    from mmengine.logging import MessageHub
    from mmengine.visualization import Visualizer
    name = f'test_reid_metric_{tmp_path.name}'
    visualizer = Visualizer.get_instance(
        name,
        vis_backends=[dict(type='TensorboardVisBackend')],
        save_dir=str(tmp_path))
    hub = MessageHub.get_instance(name)
    hub.update_info('loop_stage', 'test')
    yield visualizer
    hub.pop_info('loop_stage')
    visualizer.close()
    Visualizer._instance_dict.pop(name, None)


def test_cmc_curve_reaches_tensorboard(tensorboard_visualizer, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    samples, _ = fake_samples(seed=7)
    metric = METRICS.build(
        dict(type='ReIDMetric', log_cmc_curve='scalars', max_rank=30))
    metric.process({}, samples)
    metric.compute_metrics(metric.results)
    tensorboard_visualizer.close()  # flushes the event file

    event_dirs = {p.parent for p in tmp_path.rglob('events.out.tfevents.*')}
    assert len(event_dirs) == 1
    events = EventAccumulator(str(event_dirs.pop()))
    events.Reload()
    assert events.Tags()['scalars'] == ['reid/CMC/test']
    scalars = events.Scalars('reid/CMC/test')
    assert [s.step for s in scalars] == list(range(1, 31))
    np.testing.assert_allclose([s.value for s in scalars],
                               metric.last_results['cmc'].numpy(),
                               rtol=1e-6)


def test_cmc_curve_names_each_evaluation():
    from mmengine.logging import MessageHub
    metric = ReIDMetric()
    hub = MessageHub.get_instance('test_reid_metric_names')
    metric._num_evaluations = 2
    try:
        assert metric._evaluation_name() == ('eval_2', 2)
        hub.update_info('iter', 99)  # the last training iteration, 0-based
        assert metric._evaluation_name() == ('iter_100', 100)
        hub.update_info('loop_stage', 'test')
        assert metric._evaluation_name() == ('test', 0)
    finally:
        hub.pop_info('iter')
        hub.pop_info('loop_stage')


def test_cmc_curve_image_reaches_every_backend(tmp_path):
    from mmengine.visualization import Visualizer
    samples, _ = fake_samples(seed=8)
    metric = ReIDMetric(log_cmc_curve='image', max_rank=20)
    metric.process({}, samples)
    name = f'test_reid_metric_image_{tmp_path.name}'
    visualizer = Visualizer.get_instance(
        name,
        vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path))
    try:
        metric.compute_metrics(metric.results)
    finally:
        visualizer.close()
        Visualizer._instance_dict.pop(name, None)
    # No training loop ran: the first evaluation of this metric, step 1.
    saved = list(tmp_path.rglob('reid_CMC_*.png'))
    assert [p.name for p in saved] == ['reid_CMC_1.png']
    import cv2
    assert cv2.imread(str(saved[0])).shape == (480, 640, 3)
    with pytest.raises(ValueError, match='log_cmc_curve must be one of'):
        ReIDMetric(log_cmc_curve=True)
