"""The command-line paths: `mim train`, `mim test`, tools/train.py with an
interrupted run resumed by --resume, and the missing-data message."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from .utils import REPO, TINY_CONFIG


def run(args, cwd=REPO, timeout=600, **kwargs):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs)


@pytest.mark.slow
def test_mim_train_then_mim_test(tmp_path):
    data, work = str(tmp_path / 'data'), str(tmp_path / 'work')
    # mim finds our package root and tools/train.py through mmreid_tricks/.mim.
    # --data-root sets the root of every data set (train, query, gallery).
    out = run([
        sys.executable, '-m', 'mim', 'train', 'mmreid_tricks', TINY_CONFIG,
        '--work-dir', work, '--data-root', data, '--cfg-options',
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1'
    ])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'reid/R1' in log and 'reid/mAP' in log and 'reid/R10' in log
    # It says what it does, and nothing a user cannot act on.
    assert 'synthetic data set of about' in log and data in log
    assert 'MultiScaleDeformableAttention' not in log
    assert 'eta: -' not in log
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)

    out = run([
        sys.executable, '-m', 'mim', 'test', 'mmreid_tricks', TINY_CONFIG,
        '--checkpoint', ckpt, '--work-dir', work, '--data-root', data
    ])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'reid/mAP' in log and 'reid/mINP' in log
    assert 'reid-rerank/mAP' in log and 'rerank=' in log


def test_missing_market1501_says_where_it_looked(tmp_path):
    out = run([
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'),
        osp.join(REPO, 'configs', 'strong_baseline.py'), '--work-dir',
        str(tmp_path / 'work')
    ],
              cwd=str(tmp_path))
    assert out.returncode == 1
    err = out.stderr
    # The message that says what to do ends the output, with no traceback.
    assert 'Traceback' not in err
    last = err.strip().split('\nError: ')[-1]
    assert 'data/market1501' in last
    assert 'bounding_box_train' in last
    assert 'strong_baseline_synthetic.py' in last
    # Checked before the Runner starts: no config dump, no log lines.
    assert 'data_root' not in err.split('\nError: ')[0]
    assert len(err.strip().splitlines()) <= 3
