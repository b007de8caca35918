"""Loading checkpoints without running code from them.

A pickle can call any function while it loads, so a checkpoint file from
someone else could run code on this machine. torch's ``weights_only=True``
refuses every global outside an allow-list, but mmengine 0.10 checkpoints
hold ``HistoryBuffer`` objects (the logged values of ``message_hub``), numpy
arrays, dtypes and scalars, and ``getattr(HistoryBuffer, 'mean')``-style
references to its statistics methods. :func:`load_from_local_safe` allows
exactly those: the numpy names under numpy 1.x (``numpy.core``) and 2.x
(``numpy._core``) spelling, and ``builtins.getattr`` replaced by a function
that only returns ``HistoryBuffer``'s own statistics methods. Anything else
is refused with :class:`UntrustedCheckpointError`, which names the globals.

Opting in for a file you trust: set ``MMREID_TRICKS_TRUST_CHECKPOINTS=1``
(a full unpickle), or allow-list the named globals yourself with
``torch.serialization.add_safe_globals``, which this loader honours.

Where it is installed (mmengine resolves local paths through
``CheckpointLoader``'s ``''`` scheme): by :class:`SafeCheckpointHook` for
the duration of a run (``before_run``, restored in ``after_run``), and by
``tools/train.py`` and ``tools/test.py`` for their process. Importing
``mmreid_tricks`` installs nothing, so a process that only borrows one of our
modules keeps its own loader. See ``docs/reliability.md``.
"""
import os
import os.path as osp
import pickle
import re
import struct
import zipfile
from typing import Callable, List, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader

TRUST_ENV = 'MMREID_TRICKS_TRUST_CHECKPOINTS'

# The statistics methods HistoryBuffer defines; a checkpoint refers to them
# through getattr because they are pickled by qualified name.
_HISTORY_BUFFER_METHODS = ('current', 'max', 'mean', 'min')
# torch < 1.6 (or _use_new_zipfile_serialization=False) wrote a plain pickle
# that starts with this magic number; torchvision's older weights are such.
_LEGACY_HEAD = b'\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19'
_NUMPY_DTYPES = ('BoolDType', 'Int8DType', 'Int16DType', 'Int32DType',
                 'Int64DType', 'UInt8DType', 'UInt16DType', 'UInt32DType',
                 'UInt64DType', 'Float16DType', 'Float32DType', 'Float64DType')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that loading it would have to run."""


class UnreadableCheckpointError(RuntimeError):
    """A checkpoint file is empty, truncated or corrupt."""


def history_buffer_getattr(obj, name: str):
    """``getattr`` restricted to what mmengine checkpoints use it for.

    Args:
        obj: Must be the ``HistoryBuffer`` class.
        name (str): One of its statistics methods.

    Returns:
        The unbound method ``HistoryBuffer.<name>``.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed: a checkpoint may only '
        f'refer to HistoryBuffer.{{{",".join(_HISTORY_BUFFER_METHODS)}}}')


def checkpoint_safe_globals() -> List[tuple]:
    """The globals a genuine mmengine checkpoint needs, as
    ``(object, name in the pickle)`` pairs for
    :func:`torch.serialization.safe_globals`."""
    multiarray = (np._core if hasattr(np, '_core') else np.core).multiarray
    pairs = [
        (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (history_buffer_getattr, 'builtins.getattr'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
    ]
    for core in ('numpy.core', 'numpy._core'):  # numpy 1.x, 2.x
        pairs += [(multiarray._reconstruct, f'{core}.multiarray._reconstruct'),
                  (multiarray.scalar, f'{core}.multiarray.scalar')]
    dtypes = getattr(np, 'dtypes', None)  # numpy >= 1.25
    pairs += [(getattr(dtypes, name), f'numpy.dtypes.{name}')
              for name in _NUMPY_DTYPES if hasattr(dtypes, name)]
    return pairs


def checkpoint_file_problem(filename: str, full: bool = False) -> str:
    """Why ``filename`` is not a complete checkpoint, or ``''``.

    Args:
        filename (str): Path of a checkpoint saved by ``torch.save``.
        full (bool): Also check every record's CRC (reads the whole file).
            Defaults to False: only the size and the zip directory, which a
            truncated file lacks. A file of torch's legacy (non-zip) format
            is only checked for its header.

    Returns:
        str: The problem in words, empty when none was found.
    """
    if not osp.isfile(filename):
        return 'no such file'
    if osp.getsize(filename) == 0:
        return 'the file is empty (0 bytes)'
    if not zipfile.is_zipfile(filename):
        with open(filename, 'rb') as f:
            if f.read(len(_LEGACY_HEAD)) == _LEGACY_HEAD:
                return ''
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip() if full else None
    except (zipfile.BadZipFile, OSError) as err:
        return f'not a complete torch.save file, truncated or corrupt ({err})'
    if bad is not None:
        return f'corrupt: record {bad} fails its CRC check'
    return ''


def _refusal(filename: str, err: Exception) -> Optional[str]:
    """The refusal message if ``err`` comes from the allow-list."""
    try:  # every offending global, not only the first
        offending = torch.serialization.get_unsafe_globals_in_checkpoint(
            filename)
    except Exception:  # legacy format: only torch's message names one
        offending = []
    if not offending:
        offending = re.findall(r'GLOBAL (\S+)|(getattr\(.*?\)) is not allowed',
                               str(err))
        offending = [a or b for a, b in offending]
    if not offending:
        return None
    offending = ', '.join(sorted(offending))
    return (f'checkpoint {filename} refers to {offending}, which a genuine '
            'mmengine checkpoint does not hold; loading it would run '
            'code from the file, so it was refused. If you trust this file, '
            f'set {TRUST_ENV}=1 (a full unpickle), or allow-list those '
            'globals with torch.serialization.add_safe_globals.')


def load_from_local_safe(filename: str, map_location=None):
    """Load a local checkpoint with the allow-list of this module.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As in :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        UntrustedCheckpointError: The file needs a global outside the
            allow-list (and ``MMREID_TRICKS_TRUST_CHECKPOINTS`` is not 1).
        FileNotFoundError: No such file.
        UnreadableCheckpointError: The file is empty, truncated or corrupt.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    # A CRC mismatch in a tensor record would otherwise load silently.
    problem = checkpoint_file_problem(filename, full=True)
    if problem:
        raise UnreadableCheckpointError(
            f'checkpoint {filename} cannot be loaded: {problem}')
    if os.environ.get(TRUST_ENV, '0') == '1':
        print_log(
            f'{TRUST_ENV}=1: loading {filename} with a full unpickle',
            logger='current')
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    with torch.serialization.safe_globals(checkpoint_safe_globals()):
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            message = _refusal(filename, err)
            if message is not None:
                raise UntrustedCheckpointError(message) from None
            corrupt = err
        except (EOFError, UnicodeDecodeError, AssertionError, IndexError,
                KeyError, ValueError, struct.error) as err:  # malformed pickle
            corrupt = err
        except RuntimeError as err:
            if zipfile.is_zipfile(filename):
                raise  # its CRCs passed: e.g. a map_location error
            corrupt = err  # a legacy file cut short
    raise UnreadableCheckpointError(
        f'checkpoint {filename} cannot be loaded, it is corrupt: '
        f'{type(corrupt).__name__}: {corrupt}') from corrupt


def install_checkpoint_loader() -> Callable:
    """Make mmengine load local paths with :func:`load_from_local_safe`.

    URLs (``torchvision://``, ``https://``, ...) keep their own loaders.

    Returns:
        Callable: The loader it replaced, for
        :func:`restore_checkpoint_loader`.
    """
    previous = CheckpointLoader._get_checkpoint_loader('')
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_safe, force=True)
    return previous


def restore_checkpoint_loader(loader: Callable) -> None:
    """Give local paths back to ``loader``.

    Args:
        loader (Callable): What :func:`install_checkpoint_loader` returned.
    """
    CheckpointLoader.register_scheme(prefixes='', loader=loader, force=True)
