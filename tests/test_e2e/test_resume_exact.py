"""A resumed run is the same run: training processes are killed with SIGKILL
after a checkpoint was saved, resumed with ``tools/train.py --resume``, and
their final weights must equal, bit for bit, those of an uninterrupted run.

Random augmentation is on (random crop, erasing and flip in the workers or
the main process, batch erasing with torch's generator in the data
preprocessor), in deterministic mode. Cases: an epoch checkpoint with 2
dataloader workers, a mid-epoch (by-iteration) checkpoint without workers,
and a mid-epoch checkpoint in 2 processes (gloo) with 2 workers each.
"""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmreid_tricks.datasets.synthetic import generate_synthetic_market1501
from .utils import REPO, tiny_config

EPOCHS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('resume') / 'data')
    generate_synthetic_market1501(
        root,
        **Config.fromfile(
            osp.join(REPO, 'tests', 'data', 'configs',
                     'tiny_synthetic.py')).generate)
    return root


def write_config(path,
                 data_root,
                 work_dir,
                 num_workers,
                 by_epoch,
                 ckpt_interval,
                 kill_at=None):
    """The tiny config with random augmentation, seeded and deterministic,
    saved to ``path``; with ``kill_at`` the run SIGKILLs itself before that
    iteration."""
    cfg = tiny_config(data_root, work_dir)
    cfg.merge_from_dict({
        'randomness':
        dict(seed=0, deterministic=True),
        'train_cfg.max_epochs':
        EPOCHS,
        'train_cfg.val_interval':
        EPOCHS + 1,  # no validation: weights only
        'train_dataloader.num_workers':
        num_workers,
        'train_dataloader.persistent_workers':
        num_workers > 0,
        'default_hooks.checkpoint':
        dict(by_epoch=by_epoch, interval=ckpt_interval, max_keep_ckpts=-1),
        'default_hooks.logger.interval':
        1,
        # Model-side randomness: torch's generator in the main process.
        'model.data_preprocessor':
        dict(
            type='ReIDDataPreprocessor',
            batch_transforms=[dict(type='BatchRandomErasing', prob=0.5)]),
    })
    assert any(t['type'] == 'ReIDRandomErasing'
               for t in cfg.train_dataloader.dataset.pipeline)
    if kill_at is not None:
        cfg.custom_imports = dict(imports=['sigkill_hook'])
        cfg.custom_hooks = cfg.custom_hooks + [
            dict(type='SigkillAtIterationHook', at_iter=kill_at)
        ]
    cfg.dump(str(path))
    return str(path)


def train(config, work_dir, nproc, resume=False):
    """Run tools/train.py (through torchrun if ``nproc`` > 1); return the
    completed process."""
    script = [
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir
    ]
    if nproc > 1:
        cmd = [
            sys.executable, '-m', 'torch.distributed.run',
            f'--nproc_per_node={nproc}', f'--master_port={free_port()}',
            *script, '--launcher', 'pytorch'
        ]
    else:
        cmd = [sys.executable, *script]
    if resume:
        cmd.append('--resume')
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([REPO, osp.dirname(__file__)]),
        OMP_NUM_THREADS='1')
    return subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def load(work_dir, name=None):
    """(meta, state_dict) of checkpoint ``name``, else of the latest."""
    if name is None:
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            name = f.read().strip()
    ckpt = torch.load(
        osp.join(work_dir, name), map_location='cpu', weights_only=False)
    return ckpt['meta'], ckpt['state_dict']


def assert_same_weights(expected, actual):
    assert expected.keys() == actual.keys()
    different = [
        k for k in expected if not torch.equal(expected[k], actual[k])
    ]
    assert not different, f'{len(different)} tensors differ: {different[:5]}'


def run_uninterrupted(tmp_path, data_root, nproc):
    work = str(tmp_path / f'full{nproc}')
    config = write_config(tmp_path / f'full{nproc}.py', data_root, work, 0,
                          True, 1)
    out = train(config, work, nproc)
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    return load(work, f'epoch_{EPOCHS}.pth')


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, data_root):
    """Final (meta, weights) of an uninterrupted run in ``nproc``
    processes, each run once, when first asked for."""
    tmp, done = tmp_path_factory.mktemp('full'), {}

    def get(nproc):
        if nproc not in done:
            done[nproc] = run_uninterrupted(tmp, data_root, nproc)
        return done[nproc]

    return get


# (processes, workers, checkpoint by epoch, interval, killed before iter).
# With seed 0, one process runs 5 + 5 iterations, each of 2 processes 2 + 2:
# the by-iteration checkpoints are iter_6 (epoch 1, 1 batch done) and iter_3
# (the same); the last iteration is saved too.
CASES = {
    'epoch_ckpt-1proc-2workers': (1, 2, True, 1, 7),
    'iter_ckpt-1proc-0workers': (1, 0, False, 3, 8),
    'iter_ckpt-2procs-2workers': (2, 2, False, 1, 3),
}


@pytest.mark.slow
@pytest.mark.parametrize('case', list(CASES))
def test_killed_and_resumed_run_ends_as_uninterrupted(case, uninterrupted,
                                                      data_root, tmp_path):
    nproc, workers, by_epoch, interval, kill_at = CASES[case]
    work = str(tmp_path / 'work')
    killed = write_config(tmp_path / 'killed.py', data_root, work, workers,
                          by_epoch, interval, kill_at)
    out = train(killed, work, nproc)
    assert out.returncode != 0, 'the run was not killed'
    meta, _ = load(work)
    assert 0 < meta['iter'] <= kill_at
    if not by_epoch:
        assert meta['iter'] % interval == 0

    resumed = write_config(tmp_path / 'resumed.py', data_root, work, workers,
                           by_epoch, interval)
    out = train(resumed, work, nproc, resume=True)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    assert f'resumed epoch: {meta["epoch"]}, iter: {meta["iter"]}' in log
    if not by_epoch:
        assert 'Resumed mid-epoch' in log

    expected_meta, expected = uninterrupted(nproc)
    final_meta, final = load(
        work, f'epoch_{EPOCHS}.pth'
        if by_epoch else f'iter_{expected_meta["iter"]}.pth')
    assert_same_weights(expected, final)
    assert final_meta['iter'] == expected_meta['iter']
