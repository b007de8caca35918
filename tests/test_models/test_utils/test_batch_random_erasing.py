import math

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

# Imported for their registration, whatever the package's __init__ imports.
import mmreid_tricks.datasets.transforms.random_erasing  # noqa: F401
import mmreid_tricks.models.utils  # noqa: F401
from mmreid_tricks.models.utils import BatchRandomErasing, ReIDDataPreprocessor
from mmreid_tricks.registry import BATCH_AUGMENTS, MODELS, TRANSFORMS

IMG_H, IMG_W = 128, 64
NUM_DRAWS = 2000
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
BOT = torch.tensor([0.485, 0.456, 0.406])


def build(**kwargs):
    return BATCH_AUGMENTS.build(dict(type='BatchRandomErasing', **kwargs))


def boxes_from_mask(mask):
    """(erased, top, left, h, w) per image of an (N, H, W) bool mask."""
    rows, cols = mask.any(axis=2), mask.any(axis=1)
    height, width = rows.sum(axis=1), cols.sum(axis=1)
    # Every changed region must be one full rectangle.
    assert (mask.sum(axis=(1, 2)) == height * width).all()
    top, left = rows.argmax(axis=1), cols.argmax(axis=1)
    return height > 0, top, left, height, width


def cpu_boxes(num, **kwargs):
    """Boxes drawn by the per-image uint8 transform on black images."""
    np.random.seed(0)
    transform = TRANSFORMS.build(
        dict(type='ReIDRandomErasing', fill=255, **kwargs))
    img = np.zeros((IMG_H, IMG_W), dtype=np.uint8)
    masks = np.stack(
        [transform(dict(img=img.copy()))['img'] > 0 for _ in range(num)])
    return boxes_from_mask(masks)


def batch_boxes(num, **kwargs):
    """Boxes drawn by the batch version on zero tensors."""
    torch.manual_seed(0)
    transform = build(fill=1., **kwargs)
    masks = [
        transform(torch.zeros(500, 1, IMG_H, IMG_W))[0][:, 0] != 0
        for _ in range(num // 500)
    ]
    return boxes_from_mask(torch.cat(masks).numpy())


def ks_statistic(a, b):
    """Two-sample Kolmogorov-Smirnov statistic (scipy is not required)."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side='right') / len(a)
    cdf_b = np.searchsorted(b, grid, side='right') / len(b)
    return np.abs(cdf_a - cdf_b).max()


def ks_critical(n, m, alpha=1e-3):
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def box_statistics(boxes):
    erased, top, left, height, width = boxes
    height, width = height[erased], width[erased]
    return dict(
        area=height * width / (IMG_H * IMG_W),
        aspect=height / width,
        top=top[erased],
        left=left[erased]), erased.mean()


def test_same_distribution_as_cpu_transform():
    cpu, cpu_rate = box_statistics(cpu_boxes(NUM_DRAWS))
    batch, batch_rate = box_statistics(batch_boxes(NUM_DRAWS))
    # Binomial standard error at p = 0.5 and 2000 draws is about 0.011.
    assert abs(cpu_rate - 0.5) < 0.05 and abs(batch_rate - 0.5) < 0.05
    for key in ('area', 'aspect', 'top', 'left'):
        a, b = cpu[key], batch[key]
        stderr = math.sqrt(a.var() / len(a) + b.var() / len(b))
        assert abs(a.mean() - b.mean()) < 4 * stderr, key
        assert ks_statistic(a, b) < ks_critical(len(a), len(b)), key
    # The boxes obey the limits of the draw.
    assert batch['area'].min() >= 0.015 and batch['area'].max() <= 0.41
    assert 0.25 < batch['aspect'].min() and batch['aspect'].max() < 3.6


def test_distribution_test_detects_log_uniform_aspect():
    """The KS check above has the power to tell the two aspect draws apart."""
    cpu, _ = box_statistics(cpu_boxes(1000))
    batch, _ = box_statistics(batch_boxes(1000, log_aspect=True))
    a, b = cpu['aspect'], batch['aspect']
    assert ks_statistic(a, b) > ks_critical(len(a), len(b))


@pytest.mark.parametrize('fill, channel_order, expected', [
    ('mean', 'rgb', [0., 0., 0.]),
    ('bot', 'rgb', BOT.tolist()),
    ('bot', 'bgr', BOT.flip(0).tolist()),
    ((1., 2., 3.), 'rgb', [1., 2., 3.]),
    ((1., 2., 3.), 'bgr', [3., 2., 1.]),
    (-2.5, 'rgb', [-2.5, -2.5, -2.5]),
])
def test_exact_fill_values(fill, channel_order, expected):
    torch.manual_seed(0)
    inputs = torch.full((16, 3, IMG_H, IMG_W), 9.)
    out, _ = build(prob=1., fill=fill, channel_order=channel_order)(inputs)
    assert out.shape == inputs.shape and out.dtype == inputs.dtype
    mask = out[:, 0] != 9.
    erased, *_ = boxes_from_mask(mask.numpy())
    assert erased.all()
    for channel, value in enumerate(expected):
        assert (out[:, channel][mask] == value).all()
        assert (out[:, channel][~mask] == 9.).all()
    # A new tensor: the input is not erased in place.
    assert (inputs == 9.).all()


def test_random_fill_is_standard_normal():
    torch.manual_seed(0)
    inputs = torch.full((32, 3, IMG_H, IMG_W), 9.)
    out, _ = build(prob=1., fill='random')(inputs)
    mask = (out != 9.).all(dim=1)
    boxes_from_mask(mask.numpy())
    values = out.permute(1, 0, 2, 3)[:, mask]
    assert values.numel() > 10000
    assert abs(values.mean().item()) < 0.05
    assert abs(values.std().item() - 1.) < 0.05
    assert (out.permute(1, 0, 2, 3)[:, ~mask] == 9.).all()


def test_unchanged_when_nothing_fits_or_prob_zero():
    inputs = torch.randn(8, 3, 32, 32)
    # A square box of the whole image never fits strictly.
    never_fits = build(
        prob=1., area_ratio_range=(0.99, 1.), aspect_range=(1., 1.))
    assert torch.equal(never_fits(inputs)[0], inputs)
    assert torch.equal(build(prob=0.)(inputs)[0], inputs)


def test_scores_pass_through_and_sample_boxes():
    transform = build(prob=1.)
    scores = torch.rand(4, 10)
    _, out_scores = transform(torch.zeros(4, 3, 64, 32), scores)
    assert out_scores is scores
    top, left, height, width = transform.sample_boxes(256, 64, 32,
                                                      torch.device('cpu'))
    assert top.dtype == torch.int64 and top.shape == (256, )
    assert ((height > 0) & (height < 64) & (width > 0) & (width < 32)).all()
    assert (top + height <= 64).all() and (left + width <= 32).all()


def test_half_precision_and_channel_mismatch():
    out, _ = build(prob=1., fill='bot')(torch.zeros(2, 3, 64, 32).half())
    assert out.dtype == torch.float16
    with pytest.raises(ValueError, match='channels'):
        build(fill='bot')(torch.zeros(2, 1, 64, 32))


@pytest.mark.parametrize('kwargs', [
    dict(prob=1.5),
    dict(area_ratio_range=(0.5, 0.1)),
    dict(aspect_range=(0., 1.)),
    dict(max_attempts=0),
    dict(fill='black'),
    dict(channel_order='hsv'),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        BatchRandomErasing(**kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda():
    torch.manual_seed(0)
    inputs = torch.zeros(64, 3, IMG_H, IMG_W, device='cuda')
    out, _ = build(prob=1., fill='bot')(inputs)
    assert out.device == inputs.device
    mask = (out != 0).any(dim=1)
    erased, *_ = boxes_from_mask(mask.cpu().numpy())
    assert erased.all()
    assert (out.permute(1, 0, 2, 3)[:, mask].cpu() == BOT[:, None]).all()


def raw_batch(num=8):
    imgs = [
        torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8)
        for _ in range(num)
    ]
    samples = [DataSample().set_gt_label(i % 4) for i in range(num)]
    return dict(inputs=imgs, data_samples=samples)


def preprocessor(**kwargs):
    return MODELS.build(
        dict(
            type='ReIDDataPreprocessor',
            mean=MEAN,
            std=STD,
            to_rgb=True,
            batch_transforms=[
                dict(type='BatchRandomErasing', prob=1., fill=7.)
            ],
            **kwargs))


def test_preprocessor_erases_in_training_only_and_keeps_labels():
    torch.manual_seed(0)
    data = raw_batch()
    plain = MODELS.build(
        dict(type='ClsDataPreprocessor', mean=MEAN, std=STD,
             to_rgb=True))(data, False)['inputs']
    pre = preprocessor()
    assert isinstance(pre.batch_transforms[0], BatchRandomErasing)

    out = pre(data, training=True)
    # Erased after normalisation: exactly the normalised fill is written.
    mask = (out['inputs'] == 7.).all(dim=1)
    assert mask.flatten(1).any(dim=1).all()
    assert torch.equal(out['inputs'].permute(1, 0, 2, 3)[:, ~mask],
                       plain.permute(1, 0, 2, 3)[:, ~mask])
    for i, sample in enumerate(out['data_samples']):
        assert sample.gt_label.tolist() == [i % 4]
        assert 'gt_score' not in sample

    test_out = pre(data, training=False)['inputs']
    assert torch.equal(test_out, plain)


def test_preprocessor_in_reid_model_loss():
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='ReIDModel',
            data_preprocessor=dict(
                type='ReIDDataPreprocessor',
                mean=MEAN,
                std=STD,
                to_rgb=True,
                batch_transforms=[
                    dict(type='BatchRandomErasing', prob=1., fill='bot')
                ]),
            backbone=dict(
                type='LastStrideResNet', depth=18, out_indices=(3, )),
            neck=dict(type='BNNeck', in_channels=512),
            head=dict(type='ReIDHead', num_classes=4, in_channels=512)))
    assert isinstance(model.data_preprocessor, ReIDDataPreprocessor)
    data = model.data_preprocessor(raw_batch(), True)
    assert all('gt_score' not in s for s in data['data_samples'])
    losses = model(**data, mode='loss')
    assert all(torch.isfinite(v).all() for v in losses.values())


def test_preprocessor_built_from_mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pre = MODELS.build(
            dict(
                type='mmreid_tricks.ReIDDataPreprocessor',
                batch_transforms=[dict(type='BatchRandomErasing')]))
    assert isinstance(pre.batch_transforms[0], BatchRandomErasing)


def test_mmpretrain_batch_augments_also_work_but_add_one_hot_scores():
    """The mmpretrain route works, at the cost of one-hot gt_score."""
    pre = MODELS.build(
        dict(
            type='ClsDataPreprocessor',
            mean=MEAN,
            std=STD,
            num_classes=4,
            batch_augments=dict(
                augments=[dict(type='mmreid_tricks.BatchRandomErasing')])))
    out = pre(raw_batch(), training=True)
    for i, sample in enumerate(out['data_samples']):
        assert sample.gt_label.tolist() == [i % 4]
        assert sample.gt_score.shape == (4, )
