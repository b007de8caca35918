"""The constant fill shared by ReIDCutout and ReIDRandomErasing."""
import numpy as np
import pytest

from mmreid_tricks.datasets.transforms.fill_value import (constant_fill,
                                                          fill_for_image)


def test_constant_fill_channel_order():
    np.testing.assert_array_equal(constant_fill(7, 'bgr'), [7.])
    np.testing.assert_array_equal(constant_fill((1, 2, 3), 'rgb'), [1, 2, 3])
    np.testing.assert_array_equal(constant_fill((1, 2, 3), 'bgr'), [3, 2, 1])
    with pytest.raises(ValueError, match='one value per channel'):
        constant_fill([[1, 2, 3]], 'rgb')


def test_fill_for_image_rounds_clips_and_checks_channels():
    value = np.array([-3.0, 127.5, 300.0])
    out = fill_for_image(value, np.zeros((2, 2, 3), np.uint8))
    assert out.dtype == np.uint8
    # np.round rounds halves to even: 127.5 -> 128.
    np.testing.assert_array_equal(out, [0, 128, 255])
    out = fill_for_image(value, np.zeros((2, 2, 3), np.float32))
    np.testing.assert_array_equal(out, value.astype(np.float32))
    gray = fill_for_image(np.array([9.6]), np.zeros((2, 2), np.uint8))
    assert gray.shape == () and gray == 10
    with pytest.raises(
            ValueError, match='fill has 3 values but the image '
            'has 1 channels'):
        fill_for_image(value, np.zeros((2, 2), np.uint8))
