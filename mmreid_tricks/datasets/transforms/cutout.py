"""Cutout with a centre anywhere in the image (DeVries and Taylor, 2017)."""
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmreid_tricks.registry import TRANSFORMS
from mmreid_tricks.utils.erasing_args import check_cutout_args
from .fill_value import constant_fill, fill_for_image


@TRANSFORMS.register_module()
class ReIDCutout(BaseTransform):
    """Fill a fixed-size box, centred anywhere in the image, with a constant.

    As in DeVries and Taylor (2017), the centre is uniform over every pixel
    of the image, so near the border the box is clipped and covers less than
    ``size``: the whole image is equally likely to be hidden. (mmcv's
    ``cutout`` instead shifts a box that crosses the top or left border.)

    The paper found a side of about half the image side best on CIFAR
    (16 px of 32). The default 64 is half the width of the usual 256 x 128
    ReID input, a quarter of its height.

    Channel order: a constant ``fill`` sequence is given in RGB, as in
    mmpretrain's data preprocessor, and ``channel_order`` names the order of
    the image; mmcv's ``LoadImageFromFile`` loads BGR, hence the default.

    **Required Keys:**

    - img

    **Modified Keys:**

    - img

    Args:
        size (int | Sequence[int]): Side of the square box, or its
            (height, width). Defaults to 64.
        fill (float | Sequence[float]): Fill value, or one value per channel
            in RGB. Defaults to 0.
        prob (float): Probability of applying the cutout. Defaults to 1.0.
        channel_order (str): Channel order of the image, ``'bgr'`` or
            ``'rgb'``. Defaults to ``'bgr'``.
    """

    def __init__(self,
                 size: Union[int, Sequence[int]] = 64,
                 fill: Union[float, Sequence[float]] = 0,
                 prob: float = 1.0,
                 channel_order: str = 'bgr') -> None:
        self.size = check_cutout_args(size, prob, channel_order)
        self.fill = fill
        self.prob = prob
        self.channel_order = channel_order
        self.fill_value = constant_fill(fill, channel_order)

    @cache_randomness
    def _do_cutout(self) -> bool:
        return np.random.rand() < self.prob

    @cache_randomness
    def _sample_centre(self, img_h: int, img_w: int) -> Tuple[int, int]:
        """Draw the (row, column) of the box centre."""
        return np.random.randint(0, img_h), np.random.randint(0, img_w)

    def transform(self, results: dict) -> dict:
        """Cut a box out of ``results['img']`` with probability ``prob``.

        Args:
            results (dict): The result dict, with ``img`` of shape (H, W) or
                (H, W, C).

        Returns:
            dict: The result dict with the box filled.
        """
        if not self._do_cutout():
            return results
        img = results['img']
        img_h, img_w = img.shape[:2]
        centre_y, centre_x = self._sample_centre(img_h, img_w)
        box_h, box_w = self.size
        # An even side s spans [c - s/2, c + s/2), clipped to the image.
        top, left = centre_y - box_h // 2, centre_x - box_w // 2
        y1, y2 = max(top, 0), min(top + box_h, img_h)
        x1, x2 = max(left, 0), min(left + box_w, img_w)

        value = fill_for_image(self.fill_value, img)
        img = img.copy()
        img[y1:y2, x1:x2] = value
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'fill={self.fill}, prob={self.prob}, '
                f'channel_order={self.channel_order!r})')
