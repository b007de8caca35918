"""last_checkpoint written relative to the work dir, read in both forms,
numbered checkpoints ordered by number, and atomic writes."""
import os

import pytest
from mmengine.fileio import get_file_backend

from mmreid_tricks.utils import (AtomicLocalBackend, atomic_file, atomic_write,
                                 read_last_checkpoint, write_last_checkpoint)
from mmreid_tricks.utils.last_checkpoint import numbered_checkpoints


def test_written_relative_inside_and_absolute_outside(tmp_path):
    work = tmp_path / 'work'
    write_last_checkpoint(str(work), str(work / 'epoch_3.pth'))
    assert (work / 'last_checkpoint').read_text() == 'epoch_3.pth'
    outside = str(tmp_path / 'elsewhere' / 'x.pth')
    write_last_checkpoint(str(work), outside)
    assert (work / 'last_checkpoint').read_text() == outside


def test_read_both_forms(tmp_path):
    work, other = tmp_path / 'copy', tmp_path / 'original'
    work.mkdir()
    other.mkdir()
    assert read_last_checkpoint(str(work)) == (False, None)
    (work / 'last_checkpoint').write_text('\n')
    assert read_last_checkpoint(str(work)) == (True, None)
    (work / 'last_checkpoint').write_text('epoch_2.pth')
    assert read_last_checkpoint(str(work)) == (True, str(work / 'epoch_2.pth'))
    # mmengine's absolute path into the folder this one was copied from:
    # the copy's own file wins when it has one.
    (work / 'last_checkpoint').write_text(str(other / 'epoch_2.pth'))
    assert read_last_checkpoint(str(work)) == (True,
                                               str(other / 'epoch_2.pth'))
    (work / 'epoch_2.pth').write_bytes(b'x')
    assert read_last_checkpoint(str(work)) == (True, str(work / 'epoch_2.pth'))


def test_numbered_checkpoints_newest_first(tmp_path):
    for name in ('epoch_2.pth', 'epoch_10.pth', 'epoch_9.pth',
                 'best_reid_mAP_epoch_10.pth', '.epoch_11.pth.7.partial',
                 'iter_50.pth', 'epoch_3.pth.bak'):
        (tmp_path / name).write_bytes(b'')
    assert [
        os.path.basename(p)
        for p in numbered_checkpoints(str(tmp_path), 'epoch_{}.pth')
    ] == ['epoch_10.pth', 'epoch_9.pth', 'epoch_2.pth']


def test_atomic_write_failure_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    atomic_write(target, b'old')

    def crash(fd):
        raise KeyboardInterrupt  # stands for a kill before the rename

    monkeypatch.setattr(atomic_file.os, 'fsync', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b'new')
    monkeypatch.undo()
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_atomic_backend_for_mmengine(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend=atomic_file.ATOMIC_BACKEND))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'data', tmp_path / 'sub' / 'a.pth')
    assert (tmp_path / 'sub' / 'a.pth').read_bytes() == b'data'
