"""SafeCheckpointHook with a stand-in runner: the order of save,
``last_checkpoint`` and removal (a crash between any two keeps a usable
checkpoint), the previous best kept until the new one is complete, the
resume fallback, the work-dir lock and the loader's scope."""
import os
import os.path as osp
import uuid
from types import SimpleNamespace

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import MessageHub
from mmengine.runner import CheckpointLoader

from mmreid_tricks.engine.hooks import SafeCheckpointHook
from mmreid_tricks.engine.hooks import safe_checkpoint_hook as hook_module
from mmreid_tricks.registry import HOOKS
from mmreid_tricks.utils import (NoResumableCheckpointError, WorkDirInUseError,
                                 load_from_local_safe)


class Crash(Exception):
    """Stands for the process dying at that point."""


class FakeRunner:
    """What the hook uses of mmengine's Runner; saves record events."""

    def __init__(self, work_dir, events, crash_at=None):
        self.work_dir = str(work_dir)
        self.message_hub = MessageHub.get_instance(str(uuid.uuid4()))
        self.logger = SimpleNamespace(
            info=lambda msg: events.append(('info', msg)),
            warning=lambda msg: events.append(('warning', msg)))
        self.epoch, self.iter = 0, 0
        self._resume, self._load_from = False, None
        self.events, self.crash_at = events, crash_at

    def save_checkpoint(self,
                        out_dir,
                        filename,
                        file_client_args=None,
                        backend_args=None,
                        meta=None,
                        **kwargs):
        if filename == self.crash_at:
            raise Crash(filename)
        path = osp.join(out_dir, filename)
        data = torch.serialization.io.BytesIO()
        torch.save(dict(meta=meta), data)
        get_file_backend(
            path, backend_args=backend_args).put(data.getvalue(), path)
        self.events.append(('save', filename))


def record_steps(monkeypatch, events):
    write = hook_module.write_last_checkpoint

    def write_last(work_dir, path):
        write(work_dir, path)
        events.append(('last', osp.basename(path)))

    monkeypatch.setattr(hook_module, 'write_last_checkpoint', write_last)
    remove = SafeCheckpointHook._remove

    def remove_recorded(self, path):
        remove(self, path)
        events.append(('remove', osp.basename(path)))

    monkeypatch.setattr(SafeCheckpointHook, '_remove', remove_recorded)


def build_hook(**kwargs):
    return HOOKS.build(dict(type='SafeCheckpointHook', interval=1, **kwargs))


def train_epochs(hook, runner, epochs):
    for epoch in range(epochs):
        runner.epoch = epoch
        hook.after_train_epoch(runner)


def test_save_then_last_checkpoint_then_remove(tmp_path, monkeypatch):
    events = []
    record_steps(monkeypatch, events)
    runner = FakeRunner(tmp_path, events)
    hook = build_hook(max_keep_ckpts=1)
    hook.before_train(runner)
    train_epochs(hook, runner, 2)
    hook.after_run(runner)
    steps = [e for e in events if e[0] in ('save', 'last', 'remove')]
    assert steps == [('save', 'epoch_1.pth'), ('last', 'epoch_1.pth'),
                     ('save', 'epoch_2.pth'), ('last', 'epoch_2.pth'),
                     ('remove', 'epoch_1.pth')]
    # Relative to the work dir: a copied work dir resumes from its files.
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_2.pth'
    assert sorted(os.listdir(tmp_path)) == [
        'epoch_2.pth', 'last_checkpoint', 'train.lock'
    ]


def test_crash_while_saving_keeps_previous(tmp_path):
    """max_keep_ckpts=1: mmengine removes epoch_1 before writing epoch_2."""
    runner = FakeRunner(tmp_path, [], crash_at='epoch_2.pth')
    hook = build_hook(max_keep_ckpts=1)
    hook.before_train(runner)
    with pytest.raises(Crash):
        train_epochs(hook, runner, 2)
    hook.after_run(runner)
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'
    assert load_from_local_safe(str(tmp_path / 'epoch_1.pth'))['meta'] == \
        dict(epoch=1, iter=0)


def test_previous_best_removed_after_new_best(tmp_path, monkeypatch):
    events = []
    record_steps(monkeypatch, events)
    runner = FakeRunner(tmp_path, events)
    hook = build_hook(save_best='reid/mAP', rule='greater')
    hook.before_train(runner)
    for epoch, score in ((1, 10.0), (2, 5.0), (3, 20.0)):
        runner.epoch = epoch
        hook.after_val_epoch(runner, {'reid/mAP': score})
    hook.after_run(runner)
    best = [e for e in events if e[0] in ('save', 'remove') and 'best' in e[1]]
    assert best == [('save', 'best_reid_mAP_epoch_1.pth'),
                    ('save', 'best_reid_mAP_epoch_3.pth'),
                    ('remove', 'best_reid_mAP_epoch_1.pth')]
    assert hook.best_ckpt_path == str(tmp_path / 'best_reid_mAP_epoch_3.pth')


def test_crash_while_saving_best_keeps_previous_best(tmp_path):
    runner = FakeRunner(tmp_path, [], crash_at='best_reid_mAP_epoch_2.pth')
    hook = build_hook(save_best='reid/mAP', rule='greater')
    hook.before_train(runner)
    runner.epoch = 1
    hook.after_val_epoch(runner, {'reid/mAP': 10.0})
    runner.epoch = 2
    with pytest.raises(Crash):
        hook.after_val_epoch(runner, {'reid/mAP': 20.0})
    hook.after_run(runner)
    assert (tmp_path / 'best_reid_mAP_epoch_1.pth').is_file()


def saved_work_dir(tmp_path, epochs=3):
    runner = FakeRunner(tmp_path, [])
    hook = build_hook(max_keep_ckpts=epochs)
    hook.before_train(runner)
    train_epochs(hook, runner, epochs)
    hook.after_run(runner)
    return runner


def resume_choice(work_dir):
    events = []
    runner = FakeRunner(work_dir, events)
    runner._resume = True
    hook = build_hook()
    hook.before_run(runner)
    hook.after_run(runner)
    return runner._load_from, [m for kind, m in events if kind == 'warning']


def test_resume_skips_broken_latest_with_warning(tmp_path):
    saved_work_dir(tmp_path)
    latest = tmp_path / 'epoch_3.pth'
    latest.write_bytes(latest.read_bytes()[:100])  # truncated
    (tmp_path / 'epoch_2.pth').write_bytes(b'')  # zero bytes
    chosen, warnings = resume_choice(tmp_path)
    assert chosen == str(tmp_path / 'epoch_1.pth')
    assert any(str(latest) in w and 'truncated' in w for w in warnings)
    assert any('epoch_2.pth' in w and '0 bytes' in w for w in warnings)
    assert 'epoch_1.pth' in warnings[-1]


def test_resume_with_empty_last_checkpoint(tmp_path):
    saved_work_dir(tmp_path)
    (tmp_path / 'last_checkpoint').write_text('')
    chosen, warnings = resume_choice(tmp_path)
    assert chosen == str(tmp_path / 'epoch_3.pth')
    assert 'last_checkpoint is empty' in warnings[0]


def test_resume_refuses_to_restart_over_broken_checkpoints(tmp_path):
    saved_work_dir(tmp_path, epochs=2)
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        (tmp_path / name).write_bytes(b'')
    with pytest.raises(NoResumableCheckpointError) as err:
        resume_choice(tmp_path)
    assert 'epoch_1.pth' in str(err.value) and 'epoch_2.pth' in str(
        err.value) and 'scratch' in str(err.value)


def test_resume_in_empty_work_dir_starts_afresh(tmp_path):
    assert resume_choice(tmp_path) == (None, [])


def test_explicit_resume_path_is_left_alone(tmp_path):
    saved_work_dir(tmp_path)
    runner = FakeRunner(tmp_path, [])
    runner._resume, runner._load_from = True, 'chosen.pth'
    hook = build_hook()
    hook.before_run(runner)
    hook.after_run(runner)
    assert runner._load_from == 'chosen.pth'


def test_second_run_in_same_work_dir_is_refused(tmp_path):
    first, second = build_hook(), build_hook()
    first.before_train(FakeRunner(tmp_path, []))
    with pytest.raises(WorkDirInUseError) as err:
        second.before_train(FakeRunner(tmp_path, []))
    assert f'"pid": {os.getpid()}' in str(err.value)
    assert str(tmp_path) in str(err.value)
    first.after_run(None)
    second.before_train(FakeRunner(tmp_path, []))  # free again
    second.after_run(None)


def test_partial_files_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / '.epoch_2.pth.4242.partial').write_bytes(b'half')
    events = []
    hook = build_hook()
    hook.before_train(FakeRunner(tmp_path, events))
    hook.after_run(None)
    assert not (tmp_path / '.epoch_2.pth.4242.partial').exists()
    assert any('.epoch_2.pth.4242.partial' in e[1] for e in events)


def test_loader_installed_for_the_run_only(tmp_path):
    original = CheckpointLoader._get_checkpoint_loader('')
    hook = build_hook()
    hook.before_run(FakeRunner(tmp_path, []))
    assert CheckpointLoader._get_checkpoint_loader('') is load_from_local_safe
    hook.after_run(None)
    assert CheckpointLoader._get_checkpoint_loader('') is original


def test_remote_out_dir_keeps_mmengine_behaviour():
    hook = build_hook(out_dir='s3://bucket/ckpts')
    assert hook.backend_args is None and not hook._local
    assert build_hook(backend_args=dict(backend='local')).backend_args == \
        dict(backend='local')
