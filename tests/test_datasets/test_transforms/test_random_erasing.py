import numpy as np
import pytest

# Imported for its registration, whatever the package's __init__ imports.
import mmreid_tricks.datasets.transforms.random_erasing  # noqa: F401
from mmreid_tricks.registry import TRANSFORMS

IMG_H, IMG_W = 256, 128
IMAGENET_MEAN = np.array([123.675, 116.28, 103.53])
IMAGENET_STD = np.array([58.395, 57.12, 57.375])


def build(**kwargs):
    return TRANSFORMS.build(dict(type='ReIDRandomErasing', **kwargs))


def erased_box(before, after):
    """(top, left, h, w) of the changed pixels, checked to be a rectangle."""
    changed = np.any(before != after, axis=-1)
    if not changed.any():
        return None
    rows, cols = np.nonzero(changed.any(axis=1))[0], np.nonzero(
        changed.any(axis=0))[0]
    top, left = rows[0], cols[0]
    h, w = rows[-1] - top + 1, cols[-1] - left + 1
    assert changed[top:top + h, left:left + w].all()
    assert changed.sum() == h * w
    return top, left, h, w


def test_constant_fill_in_box_rest_unchanged():
    np.random.seed(0)
    transform = build(prob=1., fill=(10, 20, 30), channel_order='bgr')
    img = np.full((IMG_H, IMG_W, 3), 200, dtype=np.uint8)
    out = transform(dict(img=img.copy()))['img']
    assert out.dtype == np.uint8 and out.shape == img.shape
    top, left, h, w = erased_box(img, out)
    # The colour is given in RGB and written in the image's BGR order.
    assert (out[top:top + h, left:left + w] == [30, 20, 10]).all()
    outside = np.ones((IMG_H, IMG_W), dtype=bool)
    outside[top:top + h, left:left + w] = False
    assert (out[outside] == 200).all()


def test_input_image_not_modified_in_place():
    img = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    build(prob=1., fill=255)(dict(img=img))
    assert not img.any()


@pytest.mark.parametrize('channel_order, expected', [
    ('bgr', [104, 116, 124]),
    ('rgb', [124, 116, 104]),
])
def test_mean_fill_and_channel_order(channel_order, expected):
    np.random.seed(1)
    transform = build(prob=1., fill='mean', channel_order=channel_order)
    img = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    out = transform(dict(img=img))['img']
    top, left, h, w = erased_box(img, out)
    assert (out[top:top + h, left:left + w] == expected).all()


def test_bot_fill_normalises_to_released_constant():
    np.random.seed(2)
    transform = build(prob=1., fill='bot')
    img = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    out = transform(dict(img=img))['img']
    top, left, h, w = erased_box(img, out)
    bgr = out[top:top + h, left:left + w].reshape(-1, 3)
    assert (bgr == [127, 142, 152]).all()
    # What the data preprocessor (to_rgb, ImageNet mean/std) makes of it.
    normalised = (bgr[0, ::-1] - IMAGENET_MEAN) / IMAGENET_STD
    np.testing.assert_allclose(
        normalised, [0.485, 0.456, 0.406], atol=0.5 / IMAGENET_STD.min())


def test_random_fill_varies_inside_box_only():
    np.random.seed(3)
    transform = build(prob=1., fill='random', area_ratio_range=(0.2, 0.4))
    img = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    out = transform(dict(img=img.copy()))['img']
    changed = np.any(out != img, axis=-1)
    rows, cols = np.nonzero(changed)
    box = out[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    # Thousands of uniform draws: many distinct values, mean near 127.5.
    assert len(np.unique(box)) > 200
    assert abs(box.mean() - 127.5) < 5
    assert changed.sum() > 0.9 * box.shape[0] * box.shape[1]


def test_nothing_fits_leaves_image_unchanged():
    transform = build(prob=1., area_ratio_range=(0.9, 0.95), fill=255)
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    for _ in range(20):
        assert not transform(dict(img=img.copy()))['img'].any()


def test_grayscale_image():
    np.random.seed(4)
    img = np.zeros((IMG_H, IMG_W), dtype=np.uint8)
    out = build(prob=1., fill=9)(dict(img=img))['img']
    assert out.shape == img.shape and set(np.unique(out)) == {0, 9}


def expected_erasing_statistics(log_aspect=False):
    """E[area fraction] and P(aspect > 1) given acceptance, by integration.

    ``round(x) < H`` holds exactly when ``x < H - 0.5``, which models the
    rounding in the acceptance test.
    """
    n = 800
    area = 0.02 + (np.arange(n) + 0.5) / n * (0.4 - 0.02)
    if log_aspect:
        lo, hi = np.log(0.3), np.log(1 / 0.3)
        aspect = np.exp(lo + (np.arange(n) + 0.5) / n * (hi - lo))
    else:
        aspect = 0.3 + (np.arange(n) + 0.5) / n * (1 / 0.3 - 0.3)
    a, r = np.meshgrid(area, aspect, indexing='ij')
    pixels = a * IMG_H * IMG_W
    accepted = (np.sqrt(pixels * r) < IMG_H - 0.5) & (
        np.sqrt(pixels / r) < IMG_W - 0.5)
    return a[accepted].mean(), (r[accepted] > 1).mean()


@pytest.mark.parametrize('log_aspect', [False, True])
def test_box_statistics(log_aspect):
    np.random.seed(5)
    num_draws = 2000
    transform = build(prob=0.5, fill=255, log_aspect=log_aspect)
    img = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    fractions, aspects = [], []
    for _ in range(num_draws):
        box = erased_box(img, transform(dict(img=img))['img'])
        if box is not None:
            _, _, h, w = box
            fractions.append(h * w / (IMG_H * IMG_W))
            aspects.append(h / w)
    fractions, aspects = np.array(fractions), np.array(aspects)

    # Hit rate: binomial standard error 0.011.
    assert abs(len(fractions) / num_draws - 0.5) < 0.05
    # Rounding h and w moves the area by at most about (h + w) / 2 pixels.
    assert fractions.min() > 0.02 * 0.9 and fractions.max() < 0.4 * 1.05
    assert aspects.min() > 0.3 * 0.85 and aspects.max() < 1 / 0.3 / 0.85

    mean_fraction, p_tall = expected_erasing_statistics(log_aspect)
    # The area fraction has std about 0.11: standard error about 0.0035.
    assert abs(fractions.mean() - mean_fraction) < 0.012
    # Uniform aspects are mostly tall (about 0.76), log-uniform about half.
    assert abs((aspects > 1).mean() - p_tall) < 0.06


def test_same_seed_same_result():
    transform = build(prob=0.5, fill='random')
    img = np.zeros((IMG_H, IMG_W, 3), dtype=np.uint8)
    outs = []
    for _ in range(2):
        np.random.seed(6)
        outs.append([transform(dict(img=img))['img'] for _ in range(5)])
    for first, second in zip(*outs):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize('kwargs', [
    dict(prob=1.5),
    dict(area_ratio_range=(0.5, 0.2)),
    dict(aspect_range=(0., 2.)),
    dict(max_attempts=0),
    dict(fill='median'),
    dict(channel_order='gbr'),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        build(**kwargs)


def test_fill_channels_must_match_image():
    transform = build(prob=1., fill=(1, 2, 3))
    with pytest.raises(ValueError, match='channels'):
        transform(dict(img=np.zeros((IMG_H, IMG_W, 4), dtype=np.uint8)))
