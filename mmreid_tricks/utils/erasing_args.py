"""Argument checks and constants shared by the image and batch erasing.

Random erasing and cutout exist twice: as data transforms on one ``uint8``
image (``datasets/transforms``) and as batch augments on the normalised
batch (``models/utils``). Both sides import their checks and constants from
here, so that ``datasets/`` and ``models/`` never import each other.
"""
from typing import Sequence, Tuple, Union

# The constant that the paper's released code writes into the normalised
# tensor, one value per RGB channel.
BOT_NORMALISED_FILL = (0.485, 0.456, 0.406)
# Channel orders an image or a batch may have.
CHANNEL_ORDERS = ('bgr', 'rgb')
# Named fill modes of random erasing; any other fill is a constant.
ERASING_FILL_MODES = ('mean', 'bot', 'random')


def check_channel_order(channel_order: str) -> None:
    """Raise a ValueError unless ``channel_order`` is ``'bgr'`` or ``'rgb'``.

    Args:
        channel_order (str): The value to check.
    """
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError("channel_order must be 'bgr' or 'rgb', got "
                         f'{channel_order!r}')


def check_erasing_args(prob: float, area_ratio_range: Sequence[float],
                       aspect_range: Sequence[float], max_attempts: int,
                       fill: Union[str, float, Sequence[float]],
                       channel_order: str) -> None:
    """Validate the arguments shared by the image and the batch erasing.

    Args:
        prob (float): Probability of erasing, in [0, 1].
        area_ratio_range (Sequence[float]): ``(min, max)`` erased area
            fraction, ``0 < min <= max <= 1``.
        aspect_range (Sequence[float]): ``(min, max)`` aspect ratio,
            ``0 < min <= max``.
        max_attempts (int): Draws before giving up, at least 1.
        fill (str | float | Sequence[float]): A mode of
            :data:`ERASING_FILL_MODES` or a constant.
        channel_order (str): ``'bgr'`` or ``'rgb'``.

    Raises:
        ValueError: Naming the first argument out of range.
    """
    if not 0 <= prob <= 1:
        raise ValueError(f'prob must be in [0, 1], got {prob}')
    min_area, max_area = area_ratio_range
    if not 0 < min_area <= max_area <= 1:
        raise ValueError('area_ratio_range must satisfy 0 < min <= max '
                         f'<= 1, got {tuple(area_ratio_range)}')
    min_aspect, max_aspect = aspect_range
    if not 0 < min_aspect <= max_aspect:
        raise ValueError('aspect_range must satisfy 0 < min <= max, got '
                         f'{tuple(aspect_range)}')
    if max_attempts < 1:
        raise ValueError(
            f'max_attempts must be at least 1, got {max_attempts}')
    check_channel_order(channel_order)
    if isinstance(fill, str) and fill not in ERASING_FILL_MODES:
        raise ValueError("fill must be 'mean', 'bot', 'random' or a "
                         f'value, got {fill!r}')


def check_cutout_args(size: Union[int, Sequence[int]], prob: float,
                      channel_order: str) -> Tuple[int, int]:
    """Validate the arguments shared by the image and the batch cutout.

    Args:
        size (int | Sequence[int]): Side of the square box, or its
            (height, width); positive.
        prob (float): Probability of a cutout, in [0, 1].
        channel_order (str): ``'bgr'`` or ``'rgb'``.

    Returns:
        tuple[int, int]: The box size ``(h, w)``.

    Raises:
        ValueError: Naming the first argument out of range.
    """
    box_h, box_w = (size, size) if isinstance(size, int) else size
    if box_h < 1 or box_w < 1:
        raise ValueError(f'size must be positive, got {size}')
    if not 0 <= prob <= 1:
        raise ValueError(f'prob must be in [0, 1], got {prob}')
    check_channel_order(channel_order)
    return int(box_h), int(box_w)
