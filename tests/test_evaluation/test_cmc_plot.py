import numpy as np
import pytest

from mmreid_tricks.evaluation import plot_cmc

# matplotlib's first two default colours, RGB.
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)


def _pixels(image, colour):
    return int((image == np.array(colour, dtype=np.uint8)).all(2).sum())


def test_one_and_two_curves():
    low = np.linspace(60, 100, 50)
    one = plot_cmc({'plain': low}, size=(4, 3), dpi=50)
    assert one.shape == (150, 200, 3) and one.dtype == np.uint8
    assert _pixels(one, BLUE) > 50 and _pixels(one, ORANGE) == 0
    two = plot_cmc({'plain': low, 'rerank': np.minimum(low + 10, 100)})
    assert two.shape == (480, 640, 3)
    assert _pixels(two, BLUE) > 50 and _pixels(two, ORANGE) > 50


def test_errors():
    with pytest.raises(ValueError, match='at least one curve'):
        plot_cmc({})
    with pytest.raises(ValueError, match="'bad' must be a non-empty 1-D"):
        plot_cmc({'bad': np.zeros((2, 3))})
