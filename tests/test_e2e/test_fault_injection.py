"""Fault injection, checkpoint cases, on real tiny trainings.

Each test breaks something the way a crash, a disk or a stranger would and
asserts the outcome: a usable checkpoint is left, a clear error names the
culprit, or a payload is refused without running. Simulated, and how:
- The SIGKILL during a checkpoint write is real (a training process killed
  with SIGKILL), but its moment is chosen: the child pauses inside the write
  of ``epoch_2.pth`` (data written, not yet renamed) until it is killed.
- Broken files (truncated, zero bytes, empty ``last_checkpoint``) are made
  by cutting genuine checkpoints, as a full disk or a kill during a
  non-atomic copy would.
Other reliability cases live in test_resume_exact.py and test_bad_input.py.
"""
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time
import uuid
import warnings

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmreid_tricks.datasets.synthetic import generate_synthetic_market1501
from mmreid_tricks.utils import (NoResumableCheckpointError,
                                 UnreadableCheckpointError, WorkDirInUseError,
                                 WorkDirLock, load_from_local_safe)
from mmreid_tricks.utils.checkpoint import TRUST_ENV
from .utils import REPO, TINY_CONFIG, cli_options, tiny_config

pytestmark = pytest.mark.slow

TRAIN = osp.join(REPO, 'tools', 'train.py')
TEST = osp.join(REPO, 'tools', 'test.py')


class WriteMarker:
    """Unpickling it writes ``marker``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").write("ran")', ))


def short(epochs, **extra):
    return {
        'train_cfg.max_epochs': epochs,
        'train_cfg.val_interval': 100,
        **extra
    }


def train(data_root, work_dir, epochs, resume=False, **extra):
    """Train the tiny config in this process; returns the log text."""
    cfg = tiny_config(data_root, str(work_dir), **short(epochs, **extra))
    cfg.resume = resume
    # mmengine names its logger after the experiment, by default config and
    # second: two runs in one second would share one logger and log file.
    cfg.experiment_name = f'fault_injection_{uuid.uuid4().hex}'
    runner = Runner.from_cfg(cfg)
    runner.train()
    with open(osp.join(runner.log_dir, f'{runner.timestamp}.log')) as f:
        return f.read()


def run(args, env=None, timeout=300):
    env = dict({
        k: v
        for k, v in os.environ.items() if k != TRUST_ENV
    },
               PYTHONPATH=REPO,
               **(env or {}))
    out = subprocess.run(
        args,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    return out.returncode, out.stdout + out.stderr


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('faults') / 'data')
    generate_synthetic_market1501(root,
                                  **Config.fromfile(TINY_CONFIG).generate)
    return root


@pytest.fixture(scope='module')
def trained(data_root, tmp_path_factory):
    """Two epochs, both checkpoints kept."""
    work = tmp_path_factory.mktemp('faults') / 'work'
    train(data_root, work, 2)
    return work


@pytest.fixture
def work_copy(trained, tmp_path):
    work = tmp_path / 'work'
    shutil.copytree(trained, work)
    return work


def resumed_epoch(log):
    for line in log.splitlines():
        if 'resumed epoch:' in line:
            return int(line.split('resumed epoch:')[1].split(',')[0])
    return None


def test_genuine_checkpoints_load_without_warning(trained, data_root,
                                                  tmp_path):
    by_iter = tmp_path / 'by_iter'
    train(
        data_root, by_iter, 1, **{
            'default_hooks.checkpoint.by_epoch': False,
            'default_hooks.checkpoint.interval': 2
        })
    paths = [
        trained / 'epoch_1.pth', trained / 'epoch_2.pth',
        by_iter / 'iter_4.pth'
    ]
    for path in paths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            checkpoint = load_from_local_safe(str(path))
        assert [str(w.message) for w in caught] == [], path
        assert 'message_hub' in checkpoint and 'optimizer' in checkpoint
    assert (trained / 'last_checkpoint').read_text() == 'epoch_2.pth'
    assert (by_iter / 'last_checkpoint').read_text() == 'iter_5.pth'


KILLED_CHILD = '''
import os, sys, time
sys.path.insert(0, {tests!r})
from mmengine.runner import Runner
from utils import tiny_config
from mmreid_tricks.utils import atomic_file

fsync = os.fsync
def pause_in_epoch_2_write(fd):
    fsync(fd)
    if os.readlink(f'/proc/self/fd/{{fd}}').startswith({partial!r}):
        open({signal_file!r}, 'w').close()
        time.sleep(600)  # killed here
atomic_file.os.fsync = pause_in_epoch_2_write
cfg = tiny_config({data!r}, {work!r}, **{options!r})
Runner.from_cfg(cfg).train()
'''


def test_sigkill_during_checkpoint_write_keeps_previous(data_root, tmp_path):
    """max_keep_ckpts=1: mmengine would remove epoch_1.pth first."""
    work, signal_file = tmp_path / 'work', tmp_path / 'writing'
    script = tmp_path / 'child.py'
    script.write_text(
        KILLED_CHILD.format(
            tests=osp.dirname(osp.abspath(__file__)),
            partial=str(work / '.epoch_2.pth.'),
            signal_file=str(signal_file),
            data=data_root,
            work=str(work),
            options=short(3, **{'default_hooks.checkpoint.max_keep_ckpts':
                                1})))
    child = subprocess.Popen([sys.executable, str(script)],
                             env=dict(os.environ, PYTHONPATH=REPO),
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not signal_file.exists():
        assert child.poll() is None, 'the child ended before the write'
        assert time.time() < deadline
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    names = sorted(os.listdir(work))
    assert 'epoch_1.pth' in names and 'epoch_2.pth' not in names
    assert any(n.startswith('.epoch_2.pth.') for n in names)  # the partial
    assert (work / 'last_checkpoint').read_text() == 'epoch_1.pth'
    # The lock died with the child: resuming is allowed and continues.
    log = train(
        data_root,
        work,
        2,
        resume=True,
        **{'default_hooks.checkpoint.max_keep_ckpts': 1})
    assert resumed_epoch(log) == 1
    assert 'left unfinished by an earlier run' in log
    assert sorted(n for n in os.listdir(work)
                  if n.endswith('.pth')) == ['epoch_2.pth']


def test_copied_work_dir_resumes_from_its_own_files(work_copy, trained,
                                                    data_root):
    # As mmengine writes it: the absolute path into the original folder.
    (work_copy / 'last_checkpoint').write_text(str(trained / 'epoch_1.pth'))
    log = train(data_root, work_copy, 1, resume=True)
    assert str(work_copy / 'epoch_1.pth') in log
    assert str(trained) not in log.replace(str(work_copy), '')
    assert resumed_epoch(log) == 1


def test_corrupt_latest_falls_back_with_warning(work_copy, data_root):
    latest = work_copy / 'epoch_2.pth'
    latest.write_bytes(latest.read_bytes()[:4096])
    log = train(data_root, work_copy, 1, resume=True)
    assert f'cannot resume from {latest}' in log and 'truncated' in log
    assert 'WARNING' in log
    assert resumed_epoch(log) == 1


def test_empty_last_checkpoint_falls_back_to_newest(work_copy, data_root):
    (work_copy / 'last_checkpoint').write_text('')
    log = train(data_root, work_copy, 2, resume=True)
    assert f'{work_copy / "last_checkpoint"} is empty' in log
    assert resumed_epoch(log) == 2


def test_zero_byte_checkpoints(work_copy, data_root):
    (work_copy / 'epoch_2.pth').write_bytes(b'')
    log = train(data_root, work_copy, 1, resume=True)
    assert 'epoch_2.pth: the file is empty (0 bytes)' in log
    assert resumed_epoch(log) == 1
    # Named explicitly: an error naming the file, no fallback.
    with pytest.raises(UnreadableCheckpointError, match='epoch_2.pth'):
        train(
            data_root,
            work_copy,
            2,
            resume=True,
            load_from=str(work_copy / 'epoch_2.pth'))
    # Nothing readable left: an error, never a silent restart.
    (work_copy / 'epoch_1.pth').write_bytes(b'')
    with pytest.raises(NoResumableCheckpointError, match='scratch'):
        train(data_root, work_copy, 2, resume=True)


def test_second_run_in_same_work_dir_is_refused(data_root, tmp_path):
    work = tmp_path / 'work'
    holder = subprocess.Popen([
        sys.executable, '-c',
        'import sys, time; from mmreid_tricks.utils import WorkDirLock;'
        f'lock = WorkDirLock({str(work)!r}); lock.acquire();'
        'print("locked", flush=True);'
        'time.sleep(600)'
    ],
                              env=dict(os.environ, PYTHONPATH=REPO),
                              stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(WorkDirInUseError) as err:
            train(data_root, work, 1)
        assert f'"pid": {holder.pid}' in str(err.value)
        assert not any(n.endswith('.pth') for n in os.listdir(work))
    finally:
        holder.kill()
        holder.wait()
    lock = WorkDirLock(str(work))  # the holder is dead: its lock is stale
    lock.acquire()
    lock.release()


@pytest.fixture(scope='module')
def payload(trained, tmp_path_factory):
    """A genuine checkpoint with one extra object that writes a marker."""
    folder = tmp_path_factory.mktemp('payload')
    checkpoint = torch.load(trained / 'epoch_2.pth', weights_only=False)
    checkpoint['meta']['note'] = WriteMarker(str(folder / 'marker'))
    torch.save(checkpoint, folder / 'evil.pth')
    return folder / 'evil.pth', folder / 'marker'


@pytest.mark.parametrize('how', ['resume', 'load_from', 'test'])
def test_payload_checkpoint_is_refused(payload, data_root, tmp_path, how):
    evil, marker = payload
    work = ['--work-dir', str(tmp_path / 'work')]
    options = cli_options(data_root, **short(3))
    if how == 'resume':
        args = [TRAIN, TINY_CONFIG, *work, '--resume', str(evil)]
    elif how == 'load_from':
        options.append(f'load_from={evil}')
        args = [TRAIN, TINY_CONFIG, *work]
    else:
        args = [TEST, TINY_CONFIG, str(evil), *work]
    code, log = run([sys.executable, *args, '--cfg-options', *options])
    assert code != 0
    assert 'UntrustedCheckpointError' in log and str(evil) in log
    assert 'builtins.exec' in log and TRUST_ENV in log
    assert not marker.exists()
    # Opting in through MMREID_TRICKS_TRUST_CHECKPOINTS=1: unit-tested in
    # tests/test_utils/test_checkpoint.py.
