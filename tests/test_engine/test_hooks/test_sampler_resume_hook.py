import logging
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner
# tests/ is on sys.path through its conftest.py.
from test_e2e.utils import tiny_config
from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

import mmreid_tricks.engine.hooks.sampler_resume_hook as hook_module
from mmreid_tricks.registry import DATA_SAMPLERS, HOOKS

# 30 identities with 4 to 12 images: the epoch length varies with the epoch.
LABELS = np.repeat(np.arange(30), 4 + np.arange(30) % 9)
BATCH = 8
# A seed whose first epochs differ in length.
SEED = 3


class Identities:

    def __len__(self):
        return len(LABELS)

    def __getitem__(self, index):
        return index

    def get_gt_labels(self):
        return LABELS


def dataloader(sampler=None):
    sampler = sampler or DATA_SAMPLERS.build(
        dict(type='RandomIdentitySampler', batch_size=BATCH, num_instances=4),
        default_args=dict(dataset=Identities(), seed=SEED))
    return DataLoader(Identities(), batch_size=BATCH, sampler=sampler)


def epoch_batches(loader, epoch):
    loader.sampler.set_epoch(epoch)
    return [batch.tolist() for batch in loader]


def fake_runner(loader, epoch, iteration):
    return SimpleNamespace(
        train_dataloader=loader, epoch=epoch, iter=iteration)


def test_resumed_epoch_continues_after_the_batches_done():
    loader = dataloader()
    epochs = [epoch_batches(loader, e) for e in range(5)]
    lengths = [len(batches) for batches in epochs]
    # Epoch 2 does not start after 2 * len(epoch 2) batches: the hook must
    # count the earlier epochs one by one.
    assert lengths[0] + lengths[1] != 2 * lengths[2]
    for epoch, done in ((1, 3), (2, 1), (2, 5), (3, 2)):
        resumed = dataloader()
        resumed.sampler.set_epoch(epoch)  # as DistSamplerSeedHook does
        runner = fake_runner(resumed, epoch, sum(lengths[:epoch]) + done)
        hook = HOOKS.build(dict(type='IdentitySamplerResumeHook'))
        hook.before_train_epoch(runner)
        assert [b.tolist() for b in resumed] == epochs[epoch][done:]
        # The next epoch is whole.
        resumed.sampler.set_epoch(epoch + 1)
        hook.before_train_epoch(
            fake_runner(resumed, epoch + 1, sum(lengths[:epoch + 1])))
        assert epoch_batches(resumed, epoch + 1) == epochs[epoch + 1]


@pytest.mark.parametrize('epoch, whole', [(0, False), (2, False), (0, True),
                                          (1, True)])
def test_whole_epochs_done(epoch, whole):
    """A fresh start or an epoch boundary gives the whole epoch; a
    checkpoint saved at an epoch's last iteration gives an empty epoch."""
    loader = dataloader()
    lengths = [len(epoch_batches(loader, e)) for e in range(3)]
    done = lengths[epoch] if whole else 0
    hook = HOOKS.build(dict(type='IdentitySamplerResumeHook'))
    loader.sampler.set_epoch(epoch)
    hook.before_train_epoch(
        fake_runner(loader, epoch,
                    sum(lengths[:epoch]) + done))
    whole = epoch_batches(dataloader(), epoch)
    assert [b.tolist() for b in loader] == whole[done:]


@pytest.fixture
def warnings(monkeypatch):
    """The warnings the hook logs."""
    logged = []

    def print_log(msg, logger=None, level=logging.INFO):
        if level >= logging.WARNING:
            logged.append(msg)

    monkeypatch.setattr(hook_module, 'print_log', print_log)
    return logged


def test_sampler_without_skip_is_left_alone(warnings):
    loader = DataLoader(
        Identities(),
        batch_size=BATCH,
        sampler=SequentialSampler(Identities()))
    hook = HOOKS.build(dict(type='IdentitySamplerResumeHook'))
    hook.before_train_epoch(fake_runner(loader, 1, len(loader) + 2))
    hook.before_train_epoch(fake_runner(loader, 2, 2 * len(loader) + 2))
    assert len(warnings) == 1, warnings
    assert 'SequentialSampler has no skip_batches' in warnings[0]
    assert 'after 2 of the' in warnings[0]
    assert [b.tolist() for b in loader][0] == list(range(BATCH))


def test_iteration_beyond_the_epoch_is_not_skipped(warnings):
    loader = dataloader()
    lengths = [len(epoch_batches(loader, e)) for e in range(2)]
    loader.sampler.set_epoch(1)
    hook = HOOKS.build(dict(type='IdentitySamplerResumeHook'))
    hook.before_train_epoch(
        fake_runner(loader, 1, lengths[0] + lengths[1] + 1))
    assert len(warnings) == 1
    assert 'does not match the epoch lengths' in warnings[0]
    assert len(list(loader)) == lengths[1]


def test_batch_size_mismatch_is_named():
    sampler = DATA_SAMPLERS.build(
        dict(type='RandomIdentitySampler', batch_size=BATCH, num_instances=4),
        default_args=dict(dataset=Identities(), seed=SEED))
    hook = HOOKS.build(dict(type='IdentitySamplerResumeHook'))
    hook.before_train(fake_runner(dataloader(sampler), 0, 0))  # equal: fine
    loader = DataLoader(Identities(), batch_size=2 * BATCH, sampler=sampler)
    with pytest.raises(ValueError) as err:
        hook.before_train(fake_runner(loader, 0, 0))
    message = str(err.value)
    assert f'train_dataloader.batch_size={2 * BATCH}' in message
    assert f'train_dataloader.sampler.batch_size={BATCH}' in message
    assert 'RandomIdentitySampler' in message

    # Through a batch sampler, its batch size is compared.
    loader = DataLoader(
        Identities(), batch_sampler=BatchSampler(sampler, BATCH // 2, False))
    with pytest.raises(ValueError, match='batch_sampler.batch_size=4 '):
        hook.before_train(fake_runner(loader, 0, 0))
    # A sampler of single indices is not checked.
    loader = DataLoader(
        Identities(), batch_size=3, sampler=SequentialSampler(Identities()))
    hook.before_train(fake_runner(loader, 0, 0))


# A real Runner on the tiny synthetic config.


class RecordBatches(Hook):
    """Record (epoch, iteration, sample indices) of every train batch."""

    priority = 'VERY_HIGH'

    def __init__(self):
        self.batches = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        indices = [
            s.metainfo['sample_idx'] for s in data_batch['data_samples']
        ]
        self.batches.append((runner.epoch, runner.iter, indices))


class Interrupted(Exception):
    pass


class StopAt(Hook):
    """Stop training after ``iteration`` iterations, once CheckpointHook
    (VERY_LOW) has saved."""

    priority = 'LOWEST'

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            raise Interrupted


def train(tmp_path, name, stop_at=None, resume_from=None):
    """Train 4 epochs without validation, saving after every iteration;
    return the recorded batches and the work directory."""
    work = str(tmp_path / name)
    cfg = tiny_config(
        str(tmp_path / 'data'),
        work,
        **{
            'train_cfg.max_epochs':
            4,
            # The batches do not depend on the model: the smallest one.
            'model.backbone.base_channels':
            4,
            'model.backbone.stem_channels':
            4,
            'model.neck.in_channels':
            32,
            'model.head.in_channels':
            32,
            'default_hooks.checkpoint':
            dict(
                type='CheckpointHook',
                by_epoch=False,
                interval=1,
                max_keep_ckpts=-1,
                save_best=None),
        })
    for key in ('val', 'test'):
        cfg[f'{key}_dataloader'] = cfg[f'{key}_cfg'] = None
        cfg[f'{key}_evaluator'] = None
    cfg.experiment_name = f'{tmp_path.name}_{name}'
    if resume_from:
        cfg.resume, cfg.load_from = True, resume_from
    runner = Runner.from_cfg(cfg)
    recorder = RecordBatches()
    runner.register_hook(recorder)
    if stop_at is None:
        runner.train()
    else:
        runner.register_hook(StopAt(stop_at))
        with pytest.raises(Interrupted):
            runner.train()
    return recorder.batches, work


@pytest.mark.slow
def test_runner_resumes_mid_epoch_where_it_stopped(tmp_path):
    full, _ = train(tmp_path, 'full')
    lengths = np.bincount([epoch for epoch, _, _ in full]).tolist()
    starts = np.cumsum([0] + lengths).tolist()
    # An epoch whose start is not epoch * its length: counting the earlier
    # epochs one by one matters.
    epoch = next(e for e in range(1, 4) if starts[e] != e * lengths[e])
    stop = starts[epoch] + lengths[epoch] // 2

    interrupted, work = train(tmp_path, 'interrupted', stop_at=stop)
    assert interrupted == full[:stop]
    checkpoint = osp.join(work, f'iter_{stop}.pth')
    resumed, _ = train(tmp_path, 'resumed', resume_from=checkpoint)
    # No batch repeated or skipped, the iteration counts line up.
    assert resumed == full[stop:]

    # Saved by iteration at the end of epoch 0: the resumed epoch 0 is
    # empty and epoch 1 follows whole.
    boundary = osp.join(work, f'iter_{lengths[0]}.pth')
    resumed, _ = train(tmp_path, 'boundary', resume_from=boundary)
    assert resumed == full[lengths[0]:]


def test_runner_refuses_batch_size_mismatch_before_training(tmp_path):
    cfg = tiny_config(
        str(tmp_path / 'data'), str(tmp_path / 'work'),
        **{'train_dataloader.batch_size': 32})
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    runner = Runner.from_cfg(cfg)
    recorder = RecordBatches()
    runner.register_hook(recorder)
    with pytest.raises(
            ValueError,
            match='train_dataloader.batch_size=32 '
            'differs from train_dataloader.sampler.batch_size=64'):
        runner.train()
    assert recorder.batches == []
