import numpy as np
import pytest

# Imported for its registration, whatever the package's __init__ imports.
import mmreid_tricks.datasets.transforms.cutout  # noqa: F401
from mmreid_tricks.registry import TRANSFORMS

IMG_H, IMG_W = 256, 128


def build(**kwargs):
    return TRANSFORMS.build(dict(type='ReIDCutout', **kwargs))


def filled_mask(transform, centre, img_shape=(IMG_H, IMG_W, 3)):
    transform._sample_centre = lambda img_h, img_w: centre
    img = np.full(img_shape, 255, dtype=np.uint8)
    out = transform(dict(img=img))['img']
    return out, np.any(out != 255, axis=-1) if out.ndim == 3 else out != 255


def box_mask(y1, y2, x1, x2):
    mask = np.zeros((IMG_H, IMG_W), dtype=bool)
    mask[y1:y2, x1:x2] = True
    return mask


@pytest.mark.parametrize(
    'centre, box',
    [
        ((100, 60), (68, 132, 28, 92)),  # inside: the full 64 x 64 box
        ((0, 0), (0, 32, 0, 32)),  # clipped at the top-left corner
        ((255, 127),
         (223, 256, 95, 128)),  # clipped at the bottom-right corner
        ((10, 64), (0, 42, 32, 96)),  # clipped at the top only
    ])
def test_box_position_and_clipping(centre, box):
    out, mask = filled_mask(build(), centre)
    np.testing.assert_array_equal(mask, box_mask(*box))
    assert (out[mask] == 0).all() and (out[~mask] == 255).all()


def test_odd_and_rectangular_sizes():
    _, mask = filled_mask(build(size=5), (10, 10))
    np.testing.assert_array_equal(mask, box_mask(8, 13, 8, 13))
    _, mask = filled_mask(build(size=(4, 2)), (10, 10))
    np.testing.assert_array_equal(mask, box_mask(8, 12, 9, 11))


@pytest.mark.parametrize('channel_order, expected', [('bgr', [3, 2, 1]),
                                                     ('rgb', [1, 2, 3])])
def test_colour_fill_channel_order(channel_order, expected):
    out, mask = filled_mask(
        build(fill=(1, 2, 3), channel_order=channel_order), (100, 60))
    assert (out[mask] == expected).all()


def test_grayscale_image():
    out, mask = filled_mask(build(fill=7), (100, 60), img_shape=(IMG_H, IMG_W))
    assert mask.sum() == 64 * 64 and (out[mask] == 7).all()


def test_random_centres_cover_image_and_clip():
    np.random.seed(0)
    transform = build(size=64)
    img = np.full((IMG_H, IMG_W, 3), 255, dtype=np.uint8)
    num_draws = 1000
    areas, covered = [], np.zeros((IMG_H, IMG_W))
    for _ in range(num_draws):
        mask = np.any(transform(dict(img=img))['img'] != 255, axis=-1)
        areas.append(mask.sum())
        covered += mask
    areas = np.array(areas)
    assert areas.max() == 64 * 64 and areas.min() > 0
    # The box is whole iff its centre is in rows [32, 224] and cols [32, 96].
    p_whole = (193 / 256) * (65 / 128)
    assert abs((areas == 64 * 64).mean() - p_whole) < 0.05
    # Every pixel, corners included, gets hidden sometimes.
    assert covered.min() > 0


def test_prob():
    np.random.seed(1)
    img = np.full((IMG_H, IMG_W, 3), 255, dtype=np.uint8)
    never = build(prob=0.)
    assert all((never(dict(img=img))['img'] == 255).all() for _ in range(50))
    half = build(prob=0.5)
    hits = sum((half(dict(img=img))['img'] != 255).any() for _ in range(1000))
    assert abs(hits / 1000 - 0.5) < 0.06


@pytest.mark.parametrize('kwargs', [
    dict(size=0),
    dict(prob=-0.1),
    dict(channel_order='bgra'),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        build(**kwargs)
