import pytest

from mmreid_tricks.utils.erasing_args import (BOT_NORMALISED_FILL,
                                              check_channel_order,
                                              check_cutout_args,
                                              check_erasing_args)

GOOD = dict(
    prob=0.5,
    area_ratio_range=(0.02, 0.4),
    aspect_range=(0.3, 1 / 0.3),
    max_attempts=100,
    fill='mean',
    channel_order='bgr')


def test_released_fill_constant():
    assert BOT_NORMALISED_FILL == (0.485, 0.456, 0.406)


@pytest.mark.parametrize('fill', ['mean', 'bot', 'random', 0, (1, 2, 3)])
def test_good_erasing_args_pass(fill):
    check_erasing_args(**dict(GOOD, fill=fill))


@pytest.mark.parametrize('key,value,match', [
    ('prob', 1.5, 'prob'),
    ('area_ratio_range', (0.5, 0.4), 'area_ratio_range'),
    ('area_ratio_range', (0., 0.4), 'area_ratio_range'),
    ('aspect_range', (2., 1.), 'aspect_range'),
    ('max_attempts', 0, 'max_attempts'),
    ('fill', 'zero', "'zero'"),
    ('channel_order', 'hsv', "'hsv'"),
])
def test_bad_erasing_arg_is_named(key, value, match):
    with pytest.raises(ValueError, match=match):
        check_erasing_args(**dict(GOOD, **{key: value}))


def test_cutout_args():
    assert check_cutout_args(64, 1., 'rgb') == (64, 64)
    assert check_cutout_args((32, 16), 0., 'bgr') == (32, 16)
    with pytest.raises(ValueError, match='size'):
        check_cutout_args((0, 16), 1., 'bgr')
    with pytest.raises(ValueError, match='prob'):
        check_cutout_args(8, -0.1, 'bgr')
    with pytest.raises(ValueError, match='channel_order'):
        check_channel_order('RGB')
