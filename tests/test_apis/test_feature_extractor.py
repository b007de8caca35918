"""The extraction API gives the embeddings the ReID metric receives during
testing, reads folders, files and arrays, and names what it cannot use."""
import os.path as osp
import shutil

import mmcv
import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mmreid_tricks.apis import ReIDFeatureExtractor, build_model, list_images
from mmreid_tricks.evaluation.metrics import ReIDMetric


def metric_inputs(cfg, ckpt, monkeypatch):
    """The results ReIDMetric.compute_metrics receives in runner.test()."""
    seen = []
    original = ReIDMetric.compute_metrics

    def spy(self, results):
        seen.extend(results)
        return original(self, results)

    monkeypatch.setattr(ReIDMetric, 'compute_metrics', spy)
    cfg = cfg.copy()
    cfg.load_from = ckpt
    Runner.from_cfg(cfg).test()
    return seen


def test_dataset_features_equal_metric_features(tiny, monkeypatch):
    seen = metric_inputs(tiny['cfg'], tiny['ckpt'], monkeypatch)
    out = ReIDFeatureExtractor(
        tiny['cfg'], tiny['ckpt'], batch_size=7,
        progress=False).extract_dataset()
    expected = torch.stack([r['feature'] for r in seen])
    assert out.features.shape == expected.shape
    torch.testing.assert_close(out.features, expected, atol=1e-6, rtol=0)
    assert out.pids.tolist() == [r['pid'] for r in seen]
    assert out.camids.tolist() == [r['camid'] for r in seen]
    assert out.is_query.tolist() == [r['is_query'] for r in seen]


def test_paths_folders_and_arrays_agree(tiny):
    extractor = ReIDFeatureExtractor(
        tiny['cfg'], tiny['ckpt'], batch_size=5, progress=False)
    by_dataset = extractor.extract_dataset()
    row = {p: i for i, p in enumerate(by_dataset.paths)}
    query_dir = osp.join(tiny['data'], 'query')
    folder = extractor(query_dir)
    assert folder.paths == list_images(query_dir)
    expected = by_dataset.features[[row[p] for p in folder.paths]]
    torch.testing.assert_close(folder.features, expected, atol=1e-6, rtol=0)
    # A list in any order keeps its order; numpy BGR images as mmcv reads.
    paths = folder.paths[::-1][:4]
    images = [mmcv.imread(p) for p in paths]
    mixed = extractor([paths[0], images[1], paths[2], images[3]])
    assert mixed.paths == [paths[0], None, paths[2], None]
    torch.testing.assert_close(
        mixed.features, expected.flip(0)[:4], atol=1e-6, rtol=0)


def test_normalize_and_precision(tiny):
    image = mmcv.imread(list_images(tiny['data'])[0])
    raw = ReIDFeatureExtractor(tiny['cfg'], tiny['ckpt'])([image]).features
    unit = ReIDFeatureExtractor(
        tiny['cfg'], tiny['ckpt'], normalize=True,
        channels_last=True)([image]).features
    torch.testing.assert_close(unit, raw / raw.norm(dim=1, keepdim=True))
    bf16 = ReIDFeatureExtractor(
        tiny['cfg'], tiny['ckpt'], precision='bf16')([image]).features
    assert torch.nn.functional.cosine_similarity(bf16, raw).item() > 0.99
    with pytest.raises(ValueError, match='fp16 needs a CUDA'):
        ReIDFeatureExtractor(
            tiny['cfg'], tiny['ckpt'], device='cpu', precision='fp16')


@pytest.fixture
def folder_with_bad_image(tiny, tmp_path):
    folder = tmp_path / 'images' / 'sub'
    folder.mkdir(parents=True)
    good = list_images(osp.join(tiny['data'], 'query'))[:3]
    for path in good:
        shutil.copy(path, folder)
    (folder / 'broken.jpg').write_bytes(b'not an image')
    (folder / 'notes.txt').write_text('not listed: no image extension')
    return str(tmp_path / 'images'), str(folder / 'broken.jpg')


def test_unreadable_image_raises_or_is_skipped(tiny, folder_with_bad_image):
    folder, broken = folder_with_bad_image
    with pytest.raises(ValueError, match=f'cannot read image {broken}'):
        ReIDFeatureExtractor(tiny['cfg'], tiny['ckpt'])(folder)
    # Loading in a worker process reports the file as well.
    skipping = ReIDFeatureExtractor(
        tiny['cfg'],
        tiny['ckpt'],
        on_error='skip',
        batch_size=2,
        num_workers=1)
    with pytest.warns(UserWarning, match=broken):
        out = skipping(folder)
    assert out.skipped == [broken]
    assert len(out.paths) == len(out.features) == 3
    assert broken not in out.paths


def test_empty_or_missing_folder_is_named(tiny, tmp_path):
    extractor = ReIDFeatureExtractor(tiny['cfg'], tiny['ckpt'])
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'readme.txt').write_text('no image')
    with pytest.raises(ValueError, match='empty holds no image'):
        extractor(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='nowhere.jpg'):
        extractor(str(tmp_path / 'nowhere.jpg'))
    with pytest.raises(ValueError, match='HxWx3 uint8'):
        extractor(np.zeros((4, 4), dtype=np.uint8))


def test_checkpoint_not_fitting_config_is_named(tiny, tmp_path):
    model, _ = build_model(tiny['cfg'], device='cpu')
    state = model.state_dict()
    state['head.classifier.weight'] = torch.zeros(3, 128)  # other classes
    state.pop('neck.bn.running_mean')
    state['extra.weight'] = torch.zeros(1)
    path = str(tmp_path / 'other.pth')
    torch.save({'state_dict': state}, path)
    with pytest.raises(ValueError) as error:
        ReIDFeatureExtractor(tiny['cfg'], path)
    message = str(error.value)
    assert path in message
    assert 'missing keys: neck.bn.running_mean' in message
    assert 'unexpected keys: extra.weight' in message
    assert ('head.classifier.weight (checkpoint (3, 128), model (48, 128))'
            in message)


def test_checkpoint_saved_by_the_runner_loads(tiny, tmp_path):
    """A full mmengine checkpoint (optimizer, message hub, meta), from one
    epoch of training, loads and gives the trained model's embeddings."""
    cfg = tiny['cfg'].copy()
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=10)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1)
    runner = Runner.from_cfg(cfg)
    runner.train()
    path = osp.join(str(tmp_path), 'epoch_1.pth')
    extractor = ReIDFeatureExtractor(tiny['cfg'], path)
    image = mmcv.imread(list_images(tiny['data'])[0])
    data = extractor._pipeline(
        dict(img=image, img_shape=image.shape[:2], ori_shape=image.shape[:2]))
    runner.model.eval()
    with torch.no_grad():
        expected = runner.model.test_step(
            dict(inputs=[data['inputs']],
                 data_samples=[data['data_samples']]))[0].pred_feature
    torch.testing.assert_close(extractor([image]).features[0], expected)
