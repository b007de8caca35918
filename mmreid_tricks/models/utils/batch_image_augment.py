"""What the batch augments that change only the images share: the box
masks, the constant fill and the ``(inputs, scores)`` interface."""
from numbers import Number
from typing import Optional, Sequence, Tuple, Union

import torch


def box_mask(top: torch.Tensor, left: torch.Tensor, height: torch.Tensor,
             width: torch.Tensor, img_h: int, img_w: int) -> torch.Tensor:
    """Boolean masks of one axis-aligned box per image.

    Pixels with ``top <= row < top + height`` and ``left <= col < left +
    width`` are set, so a box that crosses the border is clipped and a box of
    height or width 0 is empty.

    Args:
        top (Tensor): First row of each box, shape (N, ).
        left (Tensor): First column of each box, shape (N, ).
        height (Tensor): Height of each box, shape (N, ).
        width (Tensor): Width of each box, shape (N, ).
        img_h (int): Image height H.
        img_w (int): Image width W.

    Returns:
        Tensor: The masks, shape (N, 1, H, W), on the device of ``top``.
    """
    device = top.device
    rows = torch.arange(img_h, device=device).view(1, img_h, 1)
    cols = torch.arange(img_w, device=device).view(1, 1, img_w)
    top, left = top.view(-1, 1, 1), left.view(-1, 1, 1)
    bottom = top + height.view(-1, 1, 1)
    right = left + width.view(-1, 1, 1)
    mask = (rows >= top) & (rows < bottom) & (cols >= left) & (cols < right)
    return mask.unsqueeze(1)


def constant_fill(fill: Union[float, Sequence[float]], channel_order: str,
                  inputs: torch.Tensor) -> torch.Tensor:
    """A constant colour, given in RGB, ready to broadcast over ``inputs``.

    Args:
        fill (float | Sequence[float]): One value, or one value per channel
            in RGB.
        channel_order (str): Channel order of ``inputs``, ``'rgb'`` or
            ``'bgr'``.
        inputs (Tensor): The batch, shape (N, C, H, W).

    Returns:
        Tensor: The colour, shape (1, C, 1, 1) or (1, 1, 1, 1), with the
        dtype and device of ``inputs``.
    """
    values = [fill] if isinstance(fill, Number) else list(fill)
    values = [float(v) for v in values]
    if channel_order == 'bgr':
        values = values[::-1]
    if len(values) not in (1, inputs.size(1)):
        raise ValueError(f'fill has {len(values)} values but the batch has '
                         f'{inputs.size(1)} channels')
    return torch.tensor(
        values, dtype=inputs.dtype, device=inputs.device).view(1, -1, 1, 1)


class BatchImageAugment:
    """Base of the batch augments that change the images, not the scores.

    It follows the interface of mmpretrain's batch augments, ``(inputs,
    scores) -> (inputs, scores)``; a subclass implements :meth:`augment`.
    """

    def augment(self, inputs: torch.Tensor) -> torch.Tensor:
        """Augment the images.

        Args:
            inputs (Tensor): Normalised images, shape (N, C, H, W).

        Returns:
            Tensor: A new tensor of the same shape, dtype and device.
        """
        raise NotImplementedError

    def __call__(
        self,
        batch_inputs: torch.Tensor,
        batch_score: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Augment the batch; the scores pass through unchanged.

        Args:
            batch_inputs (Tensor): Normalised images, shape (N, C, H, W).
            batch_score (Tensor, optional): Scores, shape (N, num_classes),
                or None. Defaults to None.

        Returns:
            tuple[Tensor, Tensor | None]: The images and the scores.
        """
        return self.augment(batch_inputs), batch_score
