"""Random erasing of a whole normalised batch on its device."""
import math
from typing import Sequence, Tuple, Union

import torch

from mmreid_tricks.registry import BATCH_AUGMENTS
from mmreid_tricks.utils.erasing_args import (BOT_NORMALISED_FILL,
                                              check_erasing_args)
from .batch_image_augment import BatchImageAugment, box_mask, constant_fill


@BATCH_AUGMENTS.register_module()
class BatchRandomErasing(BatchImageAugment):
    """Random erasing of every image of a normalised batch, on its device.

    The batch counterpart of :class:`ReIDRandomErasing`, for the data
    preprocessor: it erases the normalised tensor, as the released BoT code
    does, and draws boxes from the same distribution. Each image is erased
    with probability ``prob``; up to ``max_attempts`` times an area fraction
    is drawn uniformly from ``area_ratio_range`` and an aspect ratio (height /
    width) from ``aspect_range`` (uniformly unless ``log_aspect``),
    ``h = round(sqrt(area * aspect))`` and ``w = round(sqrt(area /
    aspect))``, and the first draw with ``h < H`` and ``w < W`` (strictly) is
    kept; the top-left corner is uniform over every position where the box
    fits. If no draw fits, the image is left unchanged. All attempts of all
    images are drawn at once, shape (N, max_attempts), so there is no Python
    loop over images or attempts.

    The fill is written in normalised space:

    - ``'mean'``: 0, the dataset mean once normalised (the CPU transform's
      ``'mean'``).
    - ``'bot'``: the constant ``(0.485, 0.456, 0.406)`` per RGB channel that
      the released code writes into the normalised tensor, about 0.45
      standard deviations above the mean (the CPU transform's ``'bot'``).
    - ``'random'``: independent N(0, 1) values for every pixel and channel,
      the usual choice for a normalised tensor (as torchvision's
      ``RandomErasing(value='random')``). The CPU transform instead draws
      uint8 values uniformly in [0, 255].
    - a number, or one number per channel in RGB: that normalised value.

    The draws use torch's random state on the batch's device, which mmengine
    seeds; they differ from the CPU transform's numpy draws.

    It follows the interface of mmpretrain's batch augments, ``(inputs,
    scores) -> (inputs, scores)``, and never touches the scores, so it also
    works in ``ClsDataPreprocessor(batch_augments=...)``, which however turns
    the labels into one-hot ``gt_score``. :class:`ReIDDataPreprocessor`
    applies it through ``batch_transforms`` and leaves the labels alone.

    Args:
        prob (float): Probability of erasing an image. Defaults to 0.5.
        area_ratio_range (Sequence[float]): Range of the erased area as a
            fraction of the image area. Defaults to (0.02, 0.4).
        aspect_range (Sequence[float]): Range of the aspect ratio (height /
            width) of the box. Defaults to (0.3, 1 / 0.3).
        log_aspect (bool): Draw the aspect ratio uniformly in log space, as
            torchvision and mmpretrain do, instead of uniformly as the
            released code does. Defaults to False.
        max_attempts (int): Number of draws before giving up. Defaults to 100.
        fill (str | float | Sequence[float]): ``'mean'``, ``'bot'``,
            ``'random'`` or a constant in normalised space, in RGB.
            Defaults to ``'mean'``.
        channel_order (str): Channel order of the normalised batch, ``'rgb'``
            (mmpretrain's preprocessor with ``to_rgb=True``) or ``'bgr'``.
            Defaults to ``'rgb'``.
    """

    def __init__(self,
                 prob: float = 0.5,
                 area_ratio_range: Sequence[float] = (0.02, 0.4),
                 aspect_range: Sequence[float] = (0.3, 1 / 0.3),
                 log_aspect: bool = False,
                 max_attempts: int = 100,
                 fill: Union[str, float, Sequence[float]] = 'mean',
                 channel_order: str = 'rgb') -> None:
        check_erasing_args(prob, area_ratio_range, aspect_range, max_attempts,
                           fill, channel_order)

        self.prob = prob
        self.area_ratio_range = tuple(float(v) for v in area_ratio_range)
        self.aspect_range = tuple(float(v) for v in aspect_range)
        self.log_aspect = log_aspect
        self.max_attempts = max_attempts
        self.fill = fill
        self.channel_order = channel_order

    def sample_boxes(
        self, num: int, img_h: int, img_w: int, device: torch.device
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw one box per image; images left alone get an empty box.

        Args:
            num (int): Number of images N.
            img_h (int): Image height H.
            img_w (int): Image width W.
            device (torch.device): Where to draw.

        Returns:
            tuple[Tensor]: ``(top, left, height, width)``, each of shape
            (N, ) and dtype int64; height and width are 0 for an image that
            is not erased.
        """
        # float64, as numpy draws in the CPU transform: the same rounding.
        draws = torch.rand(
            num, self.max_attempts, 2, dtype=torch.float64, device=device)
        min_area, max_area = self.area_ratio_range
        area = (min_area + (max_area - min_area) * draws[..., 0]) * (
            img_h * img_w)
        min_aspect, max_aspect = self.aspect_range
        if self.log_aspect:
            low, high = math.log(min_aspect), math.log(max_aspect)
            aspect = torch.exp(low + (high - low) * draws[..., 1])
        else:
            aspect = min_aspect + (max_aspect - min_aspect) * draws[..., 1]
        # torch.round, like Python's round, rounds halves to even.
        height = torch.round(torch.sqrt(area * aspect))
        width = torch.round(torch.sqrt(area / aspect))
        fits = (height < img_h) & (width < img_w)

        # Index of the first attempt that fits; max_attempts if none does.
        attempts = torch.arange(self.max_attempts, device=device)
        first = torch.where(fits, attempts, self.max_attempts).amin(dim=1)
        erase = (torch.rand(num, device=device) < self.prob) & (
            first < self.max_attempts)
        first = first.clamp(max=self.max_attempts - 1).unsqueeze(1)
        height = height.gather(1, first).squeeze(1).long() * erase
        width = width.gather(1, first).squeeze(1).long() * erase

        # Uniform over the img_h - h + 1 valid rows (and columns).
        corner = torch.rand(num, 2, dtype=torch.float64, device=device)
        top = (corner[:, 0] * (img_h - height + 1)).long()
        left = (corner[:, 1] * (img_w - width + 1)).long()
        return top, left, height, width

    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        """Erase a box of each image with probability ``prob``."""
        num, _, img_h, img_w = inputs.shape
        mask = box_mask(*self.sample_boxes(num, img_h, img_w, inputs.device),
                        img_h, img_w)
        if self.fill == 'random':
            value = torch.randn_like(inputs)
        elif self.fill == 'mean':
            value = inputs.new_zeros(())
        elif self.fill == 'bot':
            value = constant_fill(BOT_NORMALISED_FILL, self.channel_order,
                                  inputs)
        else:
            value = constant_fill(self.fill, self.channel_order, inputs)
        return torch.where(mask, value, inputs)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'area_ratio_range={self.area_ratio_range}, '
                f'aspect_range={self.aspect_range}, '
                f'log_aspect={self.log_aspect}, '
                f'max_attempts={self.max_attempts}, fill={self.fill!r}, '
                f'channel_order={self.channel_order!r})')
