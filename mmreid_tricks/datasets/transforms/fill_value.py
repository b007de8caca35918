"""The constant colour that cutout and random erasing write into an image."""
from numbers import Number
from typing import Sequence, Union

import numpy as np


def constant_fill(fill: Union[float, Sequence[float]],
                  channel_order: str) -> np.ndarray:
    """A fill given in RGB, as float64 values in the image's channel order.

    Args:
        fill (float | Sequence[float]): One value for every channel, or one
            value per channel in RGB.
        channel_order (str): ``'bgr'`` or ``'rgb'``, the image's order.

    Returns:
        np.ndarray: Shape (1, ) for one value, else (C, ).
    """
    if isinstance(fill, Number):
        return np.array([float(fill)])
    rgb = np.array(fill, dtype=np.float64)
    if rgb.ndim != 1:
        raise ValueError(f'fill must be one value per channel, got {fill}')
    return rgb[::-1].copy() if channel_order == 'bgr' else rgb


def fill_for_image(value: np.ndarray, img: np.ndarray) -> np.ndarray:
    """``value`` cast to ``img``'s dtype, ready to assign to a box of it.

    Integer images get the value rounded and clipped to their range.

    Args:
        value (np.ndarray): From :func:`constant_fill`, shape (1, ) or (C, ).
        img (np.ndarray): The image, shape (H, W) or (H, W, C).

    Returns:
        np.ndarray: Shape () for a 2-D image, else (1, ) or (C, ).
    """
    channels = img.shape[2] if img.ndim == 3 else 1
    if value.size not in (1, channels):
        raise ValueError(f'fill has {value.size} values but the image '
                         f'has {channels} channels')
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        value = np.clip(np.round(value), info.min, info.max)
    value = value.astype(img.dtype)
    return value[0] if img.ndim == 2 else value
