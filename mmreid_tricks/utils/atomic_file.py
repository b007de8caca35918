"""Files that exist either complete or not at all.

A process killed while it writes a checkpoint in place leaves a truncated
file under the final name. :func:`atomic_write` writes a hidden temporary
file next to the target, flushes it to disk, then renames it over the
target (``os.replace`` is atomic on POSIX and Windows) and flushes the
directory entry: a reader sees the old file or the new one, never a part.
:class:`AtomicLocalBackend` is mmengine's local file backend with that
``put``; :class:`SafeCheckpointHook` saves through it.
"""
import os
import os.path as osp
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

ATOMIC_BACKEND = 'mmreid_tricks_atomic_local'
TEMP_SUFFIX = '.partial'


def temporary_name(filepath: str) -> str:
    """The hidden file :func:`atomic_write` writes ``filepath`` through."""
    folder, name = osp.split(filepath)
    return osp.join(folder, f'.{name}.{os.getpid()}{TEMP_SUFFIX}')


def _fsync_dir(folder: str) -> None:
    if os.name != 'posix':  # directories cannot be opened on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(filepath: Union[str, Path], data: bytes) -> None:
    """Write ``data`` to ``filepath`` so that it is complete or absent.

    Args:
        filepath (str | Path): Destination; its folder is created if needed.
        data (bytes): The content.
    """
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    os.makedirs(folder, exist_ok=True)
    temp = temporary_name(filepath)
    try:
        with open(temp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, filepath)
    except BaseException:
        if osp.exists(temp):
            os.remove(temp)
        raise
    _fsync_dir(folder)


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose ``put`` is :func:`atomic_write`."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(filepath, obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding))
