"""A gallery index ranks as the ReID metric does, survives a save and
load without pickle, and refuses a model other than its own."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmreid_tricks.apis import GalleryIndex, ReIDFeatureExtractor
from mmreid_tricks.evaluation.functional import (average_query_expansion,
                                                 k_reciprocal_rerank,
                                                 pairwise_distance)
from mmreid_tricks.evaluation.metrics import ReIDMetric


@pytest.fixture(scope='module')
def setup(tiny):
    extractor = ReIDFeatureExtractor(
        tiny['cfg'], tiny['ckpt'], batch_size=64, progress=False)
    test_set = extractor.extract_dataset()
    index = GalleryIndex.build(extractor, tiny['cfg'].test_dataloader.dataset)
    return extractor, test_set, index


def test_topk_equals_metric_ranking(setup):
    _, test_set, index = setup
    q = test_set.is_query
    query, gallery = test_set.features[q], test_set.features[~q]
    assert len(index) == len(gallery) and index.metric == 'euclidean'
    assert index.paths == [p for p, g in zip(test_set.paths, ~q) if g]
    # The metric's distances: normalised embeddings, squared euclidean.
    full = pairwise_distance(
        F.normalize(query, dim=1), F.normalize(gallery, dim=1))
    result = index.search(query, k=20, gallery_chunk=50)
    expected = full.argsort(dim=1, stable=True)[:, :20]
    assert torch.equal(result.indices, expected)
    torch.testing.assert_close(result.distances, full.gather(1, expected))
    assert result.paths[0][0] == index.paths[int(expected[0, 0])]


def test_rank_k_from_search_equals_metric(setup):
    """Rank-1/5 computed from the search's lists (same identity and camera
    removed, as the protocol does) equal ReIDMetric's."""
    _, test_set, index = setup
    q = test_set.is_query
    results = [
        dict(feature=f, pid=int(p), camid=int(c), is_query=bool(iq))
        for f, p, c, iq in zip(test_set.features, test_set.pids,
                               test_set.camids, test_set.is_query)
    ]
    metric = ReIDMetric(topk=(1, 5)).compute_metrics(results)
    ranked = index.search(test_set.features[q], k=len(index)).indices
    q_pids, q_cams = test_set.pids[q], test_set.camids[q]
    hits, valid = torch.zeros(5), 0
    for row, pid, cam in zip(ranked, q_pids, q_cams):
        kept = row[~((index.pids[row] == pid) & (index.camids[row] == cam))]
        match = index.pids[kept] == pid
        if match.any():
            valid += 1
            hits[int(match.nonzero()[0]):] += 1
    assert valid == len(q_pids) - metric['num_skipped_queries']
    assert 100 * hits[0] / valid == pytest.approx(metric['R1'])
    assert 100 * hits[4] / valid == pytest.approx(metric['R5'])


def test_aqe_and_rerank_match_their_functions(setup):
    _, test_set, index = setup
    q = test_set.is_query
    query = F.normalize(test_set.features[q], dim=1)
    gallery = F.normalize(test_set.features[~q], dim=1)
    result = index.search(test_set.features[q], k=5, rerank=True)
    full = k_reciprocal_rerank(query, gallery)
    assert torch.equal(result.indices, full.argsort(dim=1, stable=True)[:, :5])
    result = index.search(
        test_set.features[q], k=5, aqe=True, aqe_cfg=dict(top_k=3))
    eq, eg = average_query_expansion(query, gallery, top_k=3)
    full = pairwise_distance(eq, eg)
    assert torch.equal(result.indices, full.argsort(dim=1, stable=True)[:, :5])


def test_save_load_and_search_images(setup, tiny, tmp_path):
    extractor, test_set, index = setup
    path = index.save(str(tmp_path / 'gallery'))
    assert path.endswith('gallery.npz')
    loaded = GalleryIndex.load(path, extractor)
    assert torch.equal(loaded.features, index.features)
    assert loaded.paths == index.paths and torch.equal(loaded.pids, index.pids)
    images = [p for p, iq in zip(test_set.paths, test_set.is_query) if iq][:3]
    by_images = loaded.search_images(extractor, images, k=4)
    by_features = index.search(test_set.features[:3], k=4)
    assert torch.equal(by_images.indices, by_features.indices)


def test_index_of_another_model_is_refused(setup, tiny, tmp_path):
    _, _, index = setup
    path = index.save(str(tmp_path / 'gallery.npz'))
    other = ReIDFeatureExtractor(tiny['cfg'], tiny['other_ckpt'])
    with pytest.raises(ValueError, match='rebuild the index') as error:
        GalleryIndex.load(path, other)
    assert path in str(error.value) and tiny['other_ckpt'] in str(error.value)
    loaded = GalleryIndex.load(path)
    query = osp.join(tiny['data'], 'query')
    with pytest.raises(ValueError, match=tiny['ckpt']):
        loaded.search_images(other, query)
    # The same weights under another file name are accepted.
    same = tmp_path / 'copy.pth'
    same.write_bytes(open(tiny['ckpt'], 'rb').read())
    loaded.check_model(ReIDFeatureExtractor(tiny['cfg'], str(same)))


def test_not_an_index_is_named(tmp_path):
    bad = tmp_path / 'bad.npz'
    np.savez(bad, features=np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match='bad.npz is not a gallery index'):
        GalleryIndex.load(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        GalleryIndex.load(str(tmp_path / 'missing.npz'))
