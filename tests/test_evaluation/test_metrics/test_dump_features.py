import argparse

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from mmreid_tricks.evaluation import (load_reid_results, results_distance,
                                      results_rank_metrics)


def samples(num=40, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(num):
        s = DataSample().set_gt_label(int(rng.integers(1, 6)))
        s.set_field(
            torch.from_numpy(rng.normal(size=dim)).float(), 'pred_feature')
        s.set_metainfo(
            dict(camid=i % 3, is_query=i < 10, img_path=f'img_{i}.jpg'))
        out.append(s.to_dict())
    return out


def evaluate(tmp_path, data, normalize=True):
    out_file = str(tmp_path / 'sub' / 'results.pth')
    meta = dict(metric=dict(metric='euclidean', normalize_feature=normalize))
    evaluator = Evaluator([
        dict(type='ReIDMetric', topk=(1, 5), normalize_feature=normalize),
        dict(type='DumpReIDFeatures', out_file=out_file, meta=meta)
    ])
    evaluator.process(data)
    return evaluator.evaluate(len(data)), out_file


@pytest.mark.parametrize('normalize', [True, False])
def test_dump_round_trips_what_the_metric_sees(tmp_path, normalize):
    data = samples()
    metrics, out_file = evaluate(tmp_path, data, normalize)
    # Plain tensors and values only: readable with weights_only=True.
    raw = torch.load(out_file, weights_only=True)
    assert raw['meta']['metric']['normalize_feature'] is normalize
    results = load_reid_results(out_file)
    q, g = results['query'], results['gallery']
    assert q['img_paths'] == [f'img_{i}.jpg' for i in range(10)]
    assert g['img_paths'] == [f'img_{i}.jpg' for i in range(10, 40)]
    feats = torch.stack([d['pred_feature'] for d in data])
    assert torch.equal(torch.cat([q['features'], g['features']]), feats)
    assert q['camids'].tolist() == [i % 3 for i in range(10)]
    assert torch.cat([q['pids'], g['pids']
                      ]).tolist() == [int(d['gt_label']) for d in data]
    # The metric recomputed from the file equals the metric's own.
    again = results_rank_metrics(results, max_rank=5)
    assert 100 * again['mAP'] == pytest.approx(metrics['reid/mAP'])
    assert 100 * again['cmc'][0].item() == pytest.approx(metrics['reid/R1'])
    assert 100 * again['cmc'][4].item() == pytest.approx(metrics['reid/R5'])
    assert results_distance(results).shape == (10, 30)


def test_missing_image_path_is_named(tmp_path):
    data = samples()
    del data[0]['img_path']
    with pytest.raises(KeyError, match='img_path'):
        evaluate(tmp_path, data)


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {}}, path)
    with pytest.raises(ValueError, match='not a results file'):
        load_reid_results(str(path))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_reid_results(str(tmp_path / 'missing.pth'))


def test_pickled_object_is_not_run(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(
        {
            'format': 'mmreid_tricks.reid_results',
            'x': argparse.Namespace()
        }, path)
    with pytest.raises(ValueError, match='plain values'):
        load_reid_results(str(path))
