"""Loading of mmengine's own checkpoints with torch >= 2.6.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine 0.10.x
checkpoints hold ``HistoryBuffer`` objects, numpy scalars and dtypes, so
``--resume`` and ``load_from`` fail with ``UnpicklingError``. Allow-listing
those types needs ``builtins.getattr``, which would defeat ``weights_only``.

The loader below first tries ``weights_only=True``; only when that fails on a
local file does it fall back to a full unpickle, with a warning naming the
file. A full unpickle runs code from the file: load only checkpoints you
trust. Setting ``MMREID_TRICKS_WEIGHTS_ONLY=1`` forbids the fallback.
Pretrained weights from URLs (``torchvision://``, ``https://``) keep mmengine's
own loaders and torch's safe default.
"""
import os
import os.path as osp
import pickle
import warnings

import torch
from mmengine.runner import CheckpointLoader

STRICT_ENV = 'MMREID_TRICKS_WEIGHTS_ONLY'


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint, falling back to a full unpickle if needed.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if os.environ.get(STRICT_ENV, '0') == '1':
            raise pickle.UnpicklingError(
                f'{filename} holds objects that weights_only loading '
                f'refuses, and {STRICT_ENV}=1 forbids a full unpickle') from err
    warnings.warn(
        f'{filename} is not a plain weights file (mmengine checkpoints hold '
        'training state); loading it with weights_only=False, which runs '
        f'code from the file. Set {STRICT_ENV}=1 to refuse this.')
    return torch.load(filename, map_location=map_location, weights_only=False)


def register_checkpoint_loader() -> None:
    """Make mmengine use :func:`load_local_checkpoint` for local paths."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
