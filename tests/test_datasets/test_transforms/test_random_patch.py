import numpy as np
import pytest

# Imported for its registration, whatever the package's __init__ imports.
import mmreid_tricks.datasets.transforms.random_patch  # noqa: F401
from mmreid_tricks.registry import TRANSFORMS

IMG_H, IMG_W = 64, 32


def build(**kwargs):
    return TRANSFORMS.build(dict(type='RandomPatch', **kwargs))


def constant_image(value):
    return np.full((IMG_H, IMG_W, 3), value, dtype=np.uint8)


def pasted_rectangle(out, background):
    """The changed region of ``out``, checked to be a rectangle."""
    changed = np.any(out != background, axis=-1)
    if not changed.any():
        return None
    rows, cols = np.nonzero(changed)
    top, left = rows.min(), cols.min()
    h, w = rows.max() - top + 1, cols.max() - left + 1
    assert changed.sum() == h * w
    return out[top:top + h, left:left + w]


def test_no_paste_before_min_sample_size_then_paste():
    visible_pastes = 0
    for seed in range(5):
        np.random.seed(seed)
        transform = build(
            prob_happen=1., min_sample_size=5, flip_prob=0., rotate_prob=0.)
        for value in range(1, 5):
            img = constant_image(value)
            out = transform(dict(img=img))['img']
            np.testing.assert_array_equal(out, img)
        assert len(transform.patch_pool) == 4

        # The fifth call fills the pool and pastes one of its patches: one
        # of the four earlier ones, or the one just cut (which cannot show).
        out = transform(dict(img=constant_image(200)))['img']
        pasted = pasted_rectangle(out, 200)
        if pasted is not None:
            visible_pastes += 1
            assert len(np.unique(pasted)) == 1 and 1 <= pasted[0, 0, 0] <= 4
            assert pasted.shape[:2] in [
                p.shape[:2] for p in transform.patch_pool
            ]
    assert visible_pastes >= 3


def test_prob_happen_zero_never_pastes():
    np.random.seed(1)
    transform = build(prob_happen=0., min_sample_size=1)
    for value in range(30):
        img = constant_image(value)
        np.testing.assert_array_equal(transform(dict(img=img))['img'], img)


def test_paste_rate():
    np.random.seed(2)
    transform = build(
        prob_happen=0.5, min_sample_size=1, flip_prob=0., rotate_prob=0.)
    transform.patch_pool.append(np.full((5, 5, 3), 9, dtype=np.uint8))
    # Pool only the marked patch, so every paste shows.
    transform._sample_patch_box = lambda img_h, img_w: None
    pasted = sum((transform(dict(img=constant_image(0)))['img'] == 9).any()
                 for _ in range(600))
    assert abs(pasted / 600 - 0.5) < 0.07


def test_pool_patches_sizes_and_capacity():
    np.random.seed(3)
    transform = build(pool_capacity=300, min_sample_size=10**6)
    for value in range(400):
        transform(dict(img=constant_image(value % 256)))
    pool = transform.patch_pool
    assert len(pool) == 300
    # The oldest patches were forgotten.
    assert pool[0][0, 0, 0] == 100
    h = np.array([p.shape[0] for p in pool])
    w = np.array([p.shape[1] for p in pool])
    assert (h < IMG_H).all() and (w < IMG_W).all()
    fraction = h * w / (IMG_H * IMG_W)
    assert fraction.min() > 0.01 * 0.5 and fraction.max() < 0.5 * 1.2
    aspect = h / w
    assert aspect.min() >= 0.1 * 0.5 and aspect.max() <= 10 * 1.5


def test_pool_holds_copies():
    transform = build(min_sample_size=10**6)
    img = constant_image(7)
    transform(dict(img=img))
    img[...] = 0
    assert (transform.patch_pool[0] == 7).all()


@pytest.mark.parametrize('flip, rotate', [(1., 0.), (0., 1.), (1., 1.)])
def test_flip_and_rotation_keep_patch_shape(flip, rotate):
    np.random.seed(4)
    transform = build(flip_prob=flip, rotate_prob=rotate)
    # Left half 50, right half 100: a flip swaps them.
    patch = np.full((20, 10, 3), 50, dtype=np.uint8)
    patch[:, 5:] = 100
    out = transform._transform_patch(patch)
    assert out.shape == patch.shape
    if flip and not rotate:
        np.testing.assert_array_equal(out, patch[:, ::-1])
    if rotate:
        assert not np.array_equal(out, patch)


def test_patch_larger_than_image_is_skipped():
    np.random.seed(5)
    transform = build(prob_happen=1., min_sample_size=1)
    transform.patch_pool.append(np.zeros((IMG_H * 2, IMG_W, 3), np.uint8))
    transform._sample_patch_box = lambda img_h, img_w: None
    img = constant_image(3)
    np.testing.assert_array_equal(transform(dict(img=img))['img'], img)


@pytest.mark.parametrize('kwargs', [
    dict(prob_happen=2.),
    dict(patch_min_area=0.6, patch_max_area=0.5),
    dict(patch_min_ratio=0.),
    dict(pool_capacity=0),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        build(**kwargs)


@pytest.mark.parametrize('name,ours', [('prob_flip_leftright', 'flip_prob'),
                                       ('prob_rotate', 'rotate_prob')])
def test_torchreid_names_are_refused_with_the_conversion(name, ours):
    """torchreid flips when uniform(0, 1) > prob_flip_leftright: its value
    is the chance of NOT flipping, so a ported 0.2 would mean 0.8 here."""
    with pytest.raises(TypeError) as err:
        build(**{name: 0.2})
    msg = str(err.value)
    assert f'{ours}=1 - {name}' in msg and name in msg
    with pytest.raises(TypeError, match='unexpected.*flip'):
        build(flip=0.2)


@pytest.mark.parametrize('flip_prob', [0.2, 0.9])
def test_flip_prob_is_the_flip_rate(flip_prob):
    np.random.seed(7)
    transform = build(flip_prob=flip_prob, rotate_prob=0.)
    patch = np.zeros((4, 2, 3), dtype=np.uint8)
    patch[:, 1] = 1
    flips = sum(
        transform._transform_patch(patch)[0, 0, 0] == 1 for _ in range(2000))
    assert abs(flips / 2000 - flip_prob) < 0.04
