import math

import numpy as np
import pytest
import torch

# Imported for their registration, whatever the package's __init__ imports.
import mmreid_tricks.datasets.transforms.cutout  # noqa: F401
import mmreid_tricks.models.utils  # noqa: F401
from mmreid_tricks.models.utils import BatchCutout
from mmreid_tricks.registry import BATCH_AUGMENTS, TRANSFORMS

IMG_H, IMG_W = 128, 64
SIZE = (48, 32)


def visible_boxes(mask):
    """(top, left, h, w) of the visible part of each (H, W) mask's box."""
    rows, cols = mask.any(axis=2), mask.any(axis=1)
    height, width = rows.sum(axis=1), cols.sum(axis=1)
    assert (mask.sum(axis=(1, 2)) == height * width).all()
    return np.stack([rows.argmax(axis=1),
                     cols.argmax(axis=1), height, width],
                    axis=1)


def ks_statistic(a, b):
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    return np.abs(
        np.searchsorted(a, grid, side='right') / len(a) -
        np.searchsorted(b, grid, side='right') / len(b)).max()


def test_same_boxes_as_cpu_transform():
    np.random.seed(0)
    cpu = TRANSFORMS.build(dict(type='ReIDCutout', size=SIZE, fill=255))
    img = np.zeros((IMG_H, IMG_W), dtype=np.uint8)
    cpu_boxes = visible_boxes(
        np.stack([cpu(dict(img=img.copy()))['img'] > 0 for _ in range(2000)]))
    torch.manual_seed(0)
    batch = BATCH_AUGMENTS.build(dict(type='BatchCutout', size=SIZE, fill=1.))
    out, _ = batch(torch.zeros(2000, 1, IMG_H, IMG_W))
    batch_boxes = visible_boxes((out[:, 0] != 0).numpy())
    assert (batch_boxes[:, 2] <= SIZE[0]).all()
    assert (batch_boxes[:, 3] <= SIZE[1]).all()
    # KS critical value at alpha = 0.001 for two samples of 2000.
    critical = math.sqrt(-math.log(0.0005) / 2) * math.sqrt(2 / 2000)
    for column in range(4):
        assert ks_statistic(cpu_boxes[:, column],
                            batch_boxes[:, column]) < critical


@pytest.mark.parametrize('fill, channel_order, expected', [
    (0., 'rgb', [0., 0., 0.]),
    ((1., 2., 3.), 'rgb', [1., 2., 3.]),
    ((1., 2., 3.), 'bgr', [3., 2., 1.]),
])
def test_fill_prob_and_scores(fill, channel_order, expected):
    torch.manual_seed(0)
    inputs = torch.full((64, 3, IMG_H, IMG_W), 9.)
    scores = torch.rand(64, 5)
    cutout = BatchCutout(
        size=16, fill=fill, prob=0.5, channel_order=channel_order)
    out, out_scores = cutout(inputs, scores)
    assert out_scores is scores and (inputs == 9.).all()
    mask = out[:, 0] != 9.
    hit = mask.flatten(1).any(dim=1).float().mean().item()
    assert 0.25 < hit < 0.75
    for channel, value in enumerate(expected):
        assert (out[:, channel][mask] == value).all()
        assert (out[:, channel][~mask] == 9.).all()


def test_invalid_arguments():
    with pytest.raises(ValueError):
        BatchCutout(size=0)
    with pytest.raises(ValueError):
        BatchCutout(prob=2.)
    with pytest.raises(ValueError):
        BatchCutout(channel_order='hsv')
