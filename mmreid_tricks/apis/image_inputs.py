"""What an extractor reads: image files, folders and numpy images."""
import os
import os.path as osp
from pathlib import Path
from typing import List, Sequence, Union

import numpy as np

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')

ImageInput = Union[str, Path, np.ndarray]
Inputs = Union[ImageInput, Sequence[ImageInput]]


def list_images(folder: str) -> List[str]:
    """Image files under ``folder``, recursively, sorted by path.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
        ValueError: It holds no file with an extension of
            ``IMG_EXTENSIONS`` (any case).
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} does not exist')
    paths = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        paths.extend(
            osp.join(root, name) for name in files
            if name.lower().endswith(IMG_EXTENSIONS))
    if not paths:
        raise ValueError(f'image folder {folder} holds no image (searched '
                         f'recursively for {", ".join(IMG_EXTENSIONS)})')
    return sorted(paths)


def check_array(image: np.ndarray, index: int) -> None:
    """Raise ValueError unless ``image`` is an HxWx3 uint8 array."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'input {index}: a numpy image must be HxWx3 uint8 '
                         f'(BGR, as mmcv.imread returns), got shape '
                         f'{image.shape} and dtype {image.dtype}')


def inputs_to_list(inputs: Inputs) -> List[ImageInput]:
    """A flat list of image paths and arrays, in order.

    A folder becomes its images (see :func:`list_images`), a path or an
    array becomes a list of one; a list may mix paths, folders and arrays.
    """
    if isinstance(inputs, (str, Path, np.ndarray)):
        inputs = [inputs]
    items: List[ImageInput] = []
    for index, item in enumerate(inputs):
        if isinstance(item, np.ndarray):
            check_array(item, index)
            items.append(item)
        elif isinstance(item, (str, Path)):
            item = str(item)
            if osp.isdir(item):
                items.extend(list_images(item))
            elif osp.isfile(item):
                items.append(item)
            else:
                raise FileNotFoundError(f'image {item} does not exist')
        else:
            raise TypeError(f'input {index}: expected a path or a numpy '
                            f'image, got {type(item).__name__}')
    if not items:
        raise ValueError('no input image given')
    return items
