"""One training run per work directory.

Two runs writing into one folder overwrite each other's checkpoints and
``last_checkpoint``. :class:`WorkDirLock` holds an exclusive ``flock`` on
``<work_dir>/train.lock`` for the life of the run; the kernel drops it when
the process ends however it ends (even SIGKILL), so a lock left by a dead
run never blocks the next one. The file records the holder's pid, host and
start time for the error message; it stays after the run, unlocked.
"""
import json
import os
import os.path as osp
import socket
import time
from typing import Optional

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

LOCK_NAME = 'train.lock'


class WorkDirInUseError(RuntimeError):
    """Another live process trains into the same work directory."""


class WorkDirLock:
    """An exclusive lock on a work directory.

    Args:
        work_dir (str): The folder to lock; created if missing.
    """

    def __init__(self, work_dir: str) -> None:
        self.path = osp.join(work_dir, LOCK_NAME)
        self._fd: Optional[int] = None

    @property
    def supported(self) -> bool:
        """Whether this platform can lock (POSIX ``flock``)."""
        return fcntl is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`WorkDirInUseError` naming the
        process that holds it."""
        if fcntl is None or self._fd is not None:
            return
        os.makedirs(osp.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 4096).decode(errors='replace').strip()
            os.close(fd)
            raise WorkDirInUseError(
                f'{osp.dirname(self.path)} is in use by another training run '
                f'({holder or "holder unknown"}; lock file {self.path}). Two '
                'runs in one work dir overwrite each other\'s checkpoints: '
                'wait for it to end, or give this run its own --work-dir.'
            ) from None
        holder = dict(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime('%Y-%m-%d %H:%M:%S'))
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder).encode())
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (closing the file releases the ``flock``)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # A run that raised never reaches after_run; free the lock with it.
    __del__ = release
