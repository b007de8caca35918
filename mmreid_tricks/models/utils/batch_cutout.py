"""Cutout of a whole normalised batch on its device."""
from typing import Sequence, Union

import torch

from mmreid_tricks.registry import BATCH_AUGMENTS
from mmreid_tricks.utils.erasing_args import check_cutout_args
from .batch_image_augment import BatchImageAugment, box_mask, constant_fill


@BATCH_AUGMENTS.register_module()
class BatchCutout(BatchImageAugment):
    """Cutout of every image of a normalised batch, on its device.

    The batch counterpart of :class:`ReIDCutout`, with the same boxes: the
    centre is uniform over every pixel of the image, an even side ``s``
    spans ``[c - s // 2, c - s // 2 + s)``, and a box that crosses the border
    is clipped, so the whole image is equally likely to be hidden.

    The fill is written in normalised space: 0 is the dataset mean, whereas
    ``ReIDCutout(fill=0)`` writes black pixels before normalisation. Labels
    and scores are left alone (see :class:`BatchRandomErasing`).

    Args:
        size (int | Sequence[int]): Side of the square box, or its
            (height, width). Defaults to 64.
        fill (float | Sequence[float]): Normalised fill value, or one per
            channel in RGB. Defaults to 0.
        prob (float): Probability of cutting out an image. Defaults to 1.0.
        channel_order (str): Channel order of the normalised batch, ``'rgb'``
            or ``'bgr'``. Defaults to ``'rgb'``.
    """

    def __init__(self,
                 size: Union[int, Sequence[int]] = 64,
                 fill: Union[float, Sequence[float]] = 0.,
                 prob: float = 1.0,
                 channel_order: str = 'rgb') -> None:
        self.size = check_cutout_args(size, prob, channel_order)
        self.fill = fill
        self.prob = prob
        self.channel_order = channel_order

    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        """Fill a box of each image with probability ``prob``."""
        num, _, img_h, img_w = inputs.shape
        device = inputs.device
        box_h, box_w = self.size
        top = torch.randint(0, img_h, (num, ), device=device) - box_h // 2
        left = torch.randint(0, img_w, (num, ), device=device) - box_w // 2
        # An image that is not cut out gets an empty box.
        apply = (torch.rand(num, device=device) < self.prob).long()
        mask = box_mask(top, left, box_h * apply, box_w * apply, img_h, img_w)
        value = constant_fill(self.fill, self.channel_order, inputs)
        return torch.where(mask, value, inputs)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'fill={self.fill}, prob={self.prob}, '
                f'channel_order={self.channel_order!r})')
