"""A resumed run is the same run: training processes are killed with SIGKILL
after a checkpoint was saved, resumed with ``tools/train.py --resume``, and
their final weights must equal, bit for bit, those of an uninterrupted run.

Random augmentation is on (random crop, erasing and flip in the workers or
the main process, batch erasing with torch's generator in the data
preprocessor), in deterministic mode. Cases: an epoch checkpoint with 2
dataloader workers, a mid-epoch (by-iteration) checkpoint without workers,
and a mid-epoch checkpoint in 2 processes (gloo) with 2 workers each. The
runs go side by side (see ``runs``).
"""
import os
import os.path as osp
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

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


# (processes, workers, checkpoint by epoch, interval, killed before iter).
# With seed 0, one process runs 5 + 5 iterations, each of 2 processes 2 + 2:
# the by-iteration checkpoints are iter_6 (epoch 1, 1 batch done) and iter_3
# (the same); the last iteration is saved too.
CASES = {
    'epoch_ckpt-1proc-2workers': (1, 2, True, 1, 7),
    'iter_ckpt-1proc-0workers': (1, 0, False, 3, 8),
    'iter_ckpt-2procs-2workers': (2, 2, False, 1, 3),
}


def kill_and_resume(tmp, data_root, case):
    """Run ``case`` until it kills itself, then resume it in the same work
    dir ``tmp / case``; return (the killed run, its last checkpoint's meta,
    the resumed run), both completed processes."""
    nproc, workers, by_epoch, interval, kill_at = CASES[case]
    work = str(tmp / case)
    killed = train(
        write_config(tmp / f'{case}-killed.py', data_root, work, workers,
                     by_epoch, interval, kill_at), work, nproc)
    saved = osp.exists(osp.join(work, 'last_checkpoint'))
    meta = load(work)[0] if saved else None
    resumed = train(
        write_config(tmp / f'{case}-resumed.py', data_root, work, workers,
                     by_epoch, interval),
        work,
        nproc,
        resume=True)
    return killed, meta, resumed


def run_uninterrupted(tmp, data_root, nproc):
    """Train ``tmp / full{nproc}`` without a break; the completed process."""
    work = str(tmp / f'full{nproc}')
    return train(
        write_config(tmp / f'full{nproc}.py', data_root, work, 0, True, 1),
        work, nproc)


@pytest.fixture(scope='module')
def runs(tmp_path_factory, data_root):
    """Every run, started at once with the first case: the uninterrupted
    ones in 1 and 2 processes (keys 1 and 2) and each case's killed and
    resumed one (key: the case). Each process has one thread and the imports
    alone take seconds, so one run at a time would leave a core idle."""
    tmp = tmp_path_factory.mktemp('runs')
    with ThreadPoolExecutor(max_workers=2 + len(CASES)) as pool:
        futures = {
            nproc: pool.submit(run_uninterrupted, tmp, data_root, nproc)
            for nproc in (1, 2)
        }
        futures.update({
            case: pool.submit(kill_and_resume, tmp, data_root, case)
            for case in CASES
        })
        yield tmp, futures


@pytest.mark.slow
@pytest.mark.parametrize('case', list(CASES))
def test_killed_and_resumed_run_ends_as_uninterrupted(case, runs):
    nproc, workers, by_epoch, interval, kill_at = CASES[case]
    tmp, futures = runs
    killed, meta, resumed = futures[case].result()
    assert killed.returncode != 0, 'the run was not killed'
    assert meta is not None, 'no checkpoint before the kill'
    assert 0 < meta['iter'] <= kill_at
    if not by_epoch:
        assert meta['iter'] % interval == 0

    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-5000:]
    assert f'resumed epoch: {meta["epoch"]}, iter: {meta["iter"]}' in log
    if not by_epoch:
        assert 'Resumed mid-epoch' in log

    full = futures[nproc].result()
    assert full.returncode == 0, (full.stdout + full.stderr)[-5000:]
    expected_meta, expected = load(
        str(tmp / f'full{nproc}'), f'epoch_{EPOCHS}.pth')
    final_meta, final = load(
        str(tmp / case), f'epoch_{EPOCHS}.pth'
        if by_epoch else f'iter_{expected_meta["iter"]}.pth')
    assert_same_weights(expected, final)
    assert final_meta['iter'] == expected_meta['iter']
