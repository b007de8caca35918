"""The data set base configs: large crops are shrunk as torchvision does."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmreid_tricks.registry import DATASETS, TRANSFORMS

F = pytest.importorskip('torchvision.transforms.functional')
InterpolationMode = pytest.importorskip(
    'torchvision.transforms').InterpolationMode

DATASET_CONFIGS = osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'datasets')
LARGE_CROP_SETS = {
    'dukemtmc-reid_bs64.py': 'DukeMTMCReID',
    'msmt17_bs64.py': 'MSMT17',
    'cuhk03-np_bs64.py': 'CUHK03NP',
}


def resizes(cfg):
    """Every Resize of the train and test pipelines of a config."""
    return [
        t for pipeline in (cfg.train_pipeline, cfg.test_pipeline)
        for t in pipeline if t['type'] == 'Resize'
    ]


def large_crop(seed=0, size=(380, 150)):
    """A textured crop larger than 256 x 128, BGR as mmcv loads it."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (size[0] // 4, size[1] // 4, 3))
    img = np.kron(coarse, np.ones((4, 4, 1))).astype(np.uint8)
    noise = rng.integers(-40, 41, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('name,dataset_type', LARGE_CROP_SETS.items())
def test_large_crop_sets_resize_with_pillow(name, dataset_type):
    cfg = Config.fromfile(osp.join(DATASET_CONFIGS, name))
    assert cfg.train_dataloader.dataset.type == dataset_type
    assert dataset_type in DATASETS.module_dict
    for query_or_gallery in cfg.val_dataloader.dataset.datasets:
        assert query_or_gallery.type == dataset_type
    found = resizes(cfg)
    assert len(found) == 2
    assert all(t['backend'] == 'pillow' for t in found)


def test_market_keeps_cv2():
    """Market's 128 x 64 crops are enlarged, where cv2 is within one grey
    level of PIL; its config, and its figures, stay as they were."""
    cfg = Config.fromfile(osp.join(DATASET_CONFIGS, 'market1501_bs64.py'))
    assert all('backend' not in t for t in resizes(cfg))


def test_pillow_resize_matches_torchvision_on_a_large_crop():
    cfg = Config.fromfile(osp.join(DATASET_CONFIGS, 'msmt17_bs64.py'))
    resize = TRANSFORMS.build(resizes(cfg)[-1])
    img = large_crop()
    out = resize(dict(img=img.copy()))['img']
    assert out.shape == (256, 128, 3)
    # torchvision resizes a PIL image; channel order does not matter.
    expected = np.asarray(
        F.resize(
            Image.fromarray(img), [256, 128],
            interpolation=InterpolationMode.BILINEAR))
    np.testing.assert_array_equal(out, expected)

    # What the cv2 default would do: no antialiasing when shrinking.
    cv2_resize = TRANSFORMS.build(dict(resizes(cfg)[-1], backend='cv2'))
    cv2_out = cv2_resize(dict(img=img.copy()))['img']
    gap = np.abs(cv2_out.astype(int) - expected.astype(int)).mean()
    assert gap > 3
