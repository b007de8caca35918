"""Random erasing as used by the ReID bag of tricks."""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmreid_tricks.registry import TRANSFORMS
from mmreid_tricks.utils.erasing_args import (BOT_NORMALISED_FILL,
                                              check_erasing_args)
from .fill_value import constant_fill, fill_for_image


@TRANSFORMS.register_module()
class ReIDRandomErasing(BaseTransform):
    """Erase a random rectangle of the image, as in the ReID bag of tricks.

    The rectangle is drawn as in Zhong et al. (AAAI 2020) and in the released
    code of Luo et al. (CVPRW 2019): up to ``max_attempts`` times, draw an area
    fraction uniformly from ``area_ratio_range`` and an aspect ratio
    (height / width) from ``aspect_range``, uniformly unless ``log_aspect``;
    take ``h = round(sqrt(area * aspect))`` and ``w = round(sqrt(area /
    aspect))``, and accept them only if ``h < H`` and ``w < W`` (strictly).
    The top-left corner is then uniform over every position where the
    rectangle fits. If no attempt fits, the image is left unchanged.

    This transform runs in the data pipeline on the ``uint8`` image, before
    the model's data preprocessor normalises it, whereas the released code
    erases the normalised tensor. The fill modes say how the two relate:

    - ``'mean'``: the per-channel mean pixel ``mean``; the box becomes 0 after
      normalisation with the same ``mean``.
    - ``'bot'``: the pixel that normalises to the constant
      ``(0.485, 0.456, 0.406)`` that the released code writes, that is
      ``mean + c * std`` per channel, about ``(152, 142, 127)`` in RGB with
      ImageNet statistics. It is about 0.45 standard deviations above the
      mean, not the mean. Use it to reproduce the paper's numbers.
    - ``'random'``: independent uniform values in [0, 255] for every pixel
      and channel.
    - a number or a sequence of one number per channel: that constant.

    Channel order: every colour argument (``mean``, ``std`` and a constant
    ``fill``) is given in RGB, as in mmpretrain's data preprocessor, and
    ``channel_order`` names the order of the image in the pipeline. mmcv's
    ``LoadImageFromFile`` loads BGR, hence the default ``'bgr'``; the colours
    are reversed before they are written.

    The draws use numpy's global random state, which mmengine seeds in the
    main process and in every dataloader worker.

    **Required Keys:**

    - img

    **Modified Keys:**

    - img

    Args:
        prob (float): Probability of erasing an image. Defaults to 0.5.
        area_ratio_range (Sequence[float]): Range of the erased area as a
            fraction of the image area. Defaults to (0.02, 0.4).
        aspect_range (Sequence[float]): Range of the aspect ratio (height /
            width) of the erased box. Defaults to (0.3, 1 / 0.3).
        log_aspect (bool): Draw the aspect ratio uniformly in log space, as
            torchvision and mmpretrain do, instead of uniformly as the
            released code does. Defaults to False.
        max_attempts (int): Number of draws before giving up. Defaults to 100.
        fill (str | float | Sequence[float]): ``'mean'``, ``'bot'``,
            ``'random'`` or a constant colour in RGB. Defaults to ``'mean'``.
        mean (Sequence[float]): Per-channel mean pixel value in RGB, the one
            the data preprocessor subtracts. Defaults to the ImageNet mean
            (123.675, 116.28, 103.53).
        std (Sequence[float]): Per-channel pixel standard deviation in RGB,
            used by ``fill='bot'``. Defaults to the ImageNet std
            (58.395, 57.12, 57.375).
        channel_order (str): Channel order of the image, ``'bgr'`` or
            ``'rgb'``. Defaults to ``'bgr'``.
    """

    def __init__(self,
                 prob: float = 0.5,
                 area_ratio_range: Sequence[float] = (0.02, 0.4),
                 aspect_range: Sequence[float] = (0.3, 1 / 0.3),
                 log_aspect: bool = False,
                 max_attempts: int = 100,
                 fill: Union[str, float, Sequence[float]] = 'mean',
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 channel_order: str = 'bgr') -> None:
        check_erasing_args(prob, area_ratio_range, aspect_range, max_attempts,
                           fill, channel_order)

        self.prob = prob
        self.area_ratio_range = tuple(float(v) for v in area_ratio_range)
        self.aspect_range = tuple(float(v) for v in aspect_range)
        self.log_aspect = log_aspect
        self.max_attempts = max_attempts
        self.fill = fill
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.channel_order = channel_order
        self.fill_value = self._fill_value()

    def _fill_value(self) -> Optional[np.ndarray]:
        """The constant fill in the image's channel order; None if random."""
        if self.fill == 'random':
            return None
        if self.fill == 'mean':
            fill = self.mean
        elif self.fill == 'bot':
            fill = np.add(self.mean, np.multiply(BOT_NORMALISED_FILL,
                                                 self.std))
        else:
            fill = self.fill
        return constant_fill(fill, self.channel_order)

    @cache_randomness
    def _do_erase(self) -> bool:
        return np.random.rand() < self.prob

    @cache_randomness
    def _sample_box(self, img_h: int,
                    img_w: int) -> Optional[Tuple[int, int, int, int]]:
        """Draw (top, left, h, w) of the box, or None if no draw fits."""
        area = img_h * img_w
        for _ in range(self.max_attempts):
            target_area = np.random.uniform(*self.area_ratio_range) * area
            if self.log_aspect:
                aspect = math.exp(
                    np.random.uniform(*np.log(self.aspect_range)))
            else:
                aspect = np.random.uniform(*self.aspect_range)
            h = int(round(math.sqrt(target_area * aspect)))
            w = int(round(math.sqrt(target_area / aspect)))
            if h < img_h and w < img_w:
                top = np.random.randint(0, img_h - h + 1)
                left = np.random.randint(0, img_w - w + 1)
                return top, left, h, w
        return None

    def _patch(self, h: int, w: int, img: np.ndarray) -> np.ndarray:
        """The values written into an ``h x w`` box of ``img``."""
        shape = (h, w) + img.shape[2:]
        if self.fill_value is None:
            return np.random.randint(0, 256, size=shape).astype(img.dtype)
        return np.broadcast_to(fill_for_image(self.fill_value, img), shape)

    def transform(self, results: dict) -> dict:
        """Erase a box of ``results['img']`` with probability ``prob``.

        Args:
            results (dict): The result dict, with ``img`` of shape (H, W) or
                (H, W, C).

        Returns:
            dict: The result dict with the erased image.
        """
        if not self._do_erase():
            return results
        img = results['img']
        box = self._sample_box(*img.shape[:2])
        if box is None:
            return results
        top, left, h, w = box
        img = img.copy()
        img[top:top + h, left:left + w] = self._patch(h, w, img)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'area_ratio_range={self.area_ratio_range}, '
                f'aspect_range={self.aspect_range}, '
                f'log_aspect={self.log_aspect}, '
                f'max_attempts={self.max_attempts}, fill={self.fill!r}, '
                f'mean={self.mean}, std={self.std}, '
                f'channel_order={self.channel_order!r})')
