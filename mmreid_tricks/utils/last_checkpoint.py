"""``last_checkpoint`` and the choice of the checkpoint to resume from.

mmengine writes the absolute path of the newest checkpoint into
``<work_dir>/last_checkpoint`` and ``--resume`` loads whatever it names. A
copied work dir then resumes from the original folder, and an empty file or
a checkpoint cut short by a crash fails with a bare error. Here the file
holds a path relative to the work dir (absolute only for a checkpoint
outside it), both forms are read, and :func:`find_resumable_checkpoint`
falls back, with a warning per skipped file, to the newest complete one.
"""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from .atomic_file import atomic_write
from .checkpoint import checkpoint_file_problem

LAST_CHECKPOINT = 'last_checkpoint'


class NoResumableCheckpointError(RuntimeError):
    """Checkpoints exist in a work dir, but none can be resumed from."""


def write_last_checkpoint(work_dir: str, checkpoint: str) -> None:
    """Record ``checkpoint`` as the newest one, atomically.

    Args:
        work_dir (str): The run's work directory.
        checkpoint (str): Path of a complete checkpoint.
    """
    path = osp.abspath(checkpoint)
    rel = osp.relpath(path, osp.abspath(work_dir))
    if not rel.startswith(osp.pardir):
        path = rel
    atomic_write(osp.join(work_dir, LAST_CHECKPOINT), path.encode())


def read_last_checkpoint(work_dir: str) -> Tuple[bool, Optional[str]]:
    """The checkpoint ``last_checkpoint`` names, as a usable path.

    A relative entry is relative to ``work_dir``. An absolute entry (written
    by mmengine, or by a run in another folder) that names a file of another
    folder gives way to the file of the same name in ``work_dir``, if any:
    a copied work dir resumes from its own files.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        tuple[bool, str | None]: Whether the file exists, and the path it
        names (None if it is missing or empty).
    """
    save_file = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(save_file):
        return False, None
    with open(save_file) as f:
        entry = f.read().strip()
    if not entry:
        return True, None
    if not osp.isabs(entry):
        return True, osp.join(work_dir, entry)
    local = osp.join(work_dir, osp.basename(entry))
    if osp.dirname(entry) != osp.abspath(work_dir) and osp.isfile(local):
        return True, local
    return True, entry


def numbered_checkpoints(folder: str, filename_tmpl: str) -> List[str]:
    """Checkpoints named by ``filename_tmpl`` in ``folder``, newest first.

    Args:
        folder (str): Where the checkpoints are saved.
        filename_tmpl (str): As ``CheckpointHook``'s, e.g. ``epoch_{}.pth``.

    Returns:
        list[str]: Paths, by decreasing epoch or iteration number.
    """
    if '{}' not in filename_tmpl or not osp.isdir(folder):
        return []
    pattern = re.compile(
        re.escape(filename_tmpl).replace(re.escape('{}'), r'(\d+)') + '$')
    steps = []
    for name in os.listdir(folder):
        match = pattern.match(name)
        if match:
            steps.append((int(match.group(1)), name))
    return [osp.join(folder, name) for _, name in sorted(steps, reverse=True)]


def find_resumable_checkpoint(
        work_dir: str, folder: str,
        filename_tmpl: str) -> Tuple[Optional[str], List[str]]:
    """The newest complete checkpoint to resume from.

    Candidates: the file ``last_checkpoint`` names, then the numbered
    checkpoints of ``folder``, newest first. Each is checked without being
    unpickled (size, zip directory and CRCs).

    Args:
        work_dir (str): The run's work directory.
        folder (str): Where the checkpoints are saved.
        filename_tmpl (str): Their name template, e.g. ``epoch_{}.pth``.

    Returns:
        tuple[str | None, list[str]]: The checkpoint (None when the work dir
        holds no checkpoint and no ``last_checkpoint``: a fresh start), and
        one warning per skipped candidate.

    Raises:
        NoResumableCheckpointError: There are candidates, all unreadable.
    """
    has_record, named = read_last_checkpoint(work_dir)
    warnings = []
    if has_record and named is None:
        warnings.append(f'{osp.join(work_dir, LAST_CHECKPOINT)} is empty')
    candidates = [named] if named else []
    candidates += [
        path for path in numbered_checkpoints(folder, filename_tmpl)
        if named is None or osp.realpath(path) != osp.realpath(named)
    ]
    for path in candidates:
        problem = checkpoint_file_problem(path, full=True)
        if not problem:
            return path, warnings
        warnings.append(f'cannot resume from {path}: {problem}')
    if not has_record and not candidates:
        return None, warnings
    raise NoResumableCheckpointError(
        f'--resume found no usable checkpoint in {work_dir}: ' +
        '; '.join(warnings) + '. Refusing to start from scratch over them: '
        'pass a checkpoint with --resume PATH, or move the work dir away to '
        'start afresh.')
