"""Distributed runs on CPU with gloo: torchrun and `mim train --gpus 2`
through tools/train.py and tools/test.py, resume, the ordered gathering of
the metric, and the distributed pieces of ours (center-loss update, P x K
sampler and its mid-epoch resume) in real 2-process groups."""
import datetime
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.config import Config
from torch.utils.data import DataLoader

from mmreid_tricks.datasets.samplers import RandomIdentitySampler
from mmreid_tricks.datasets.synthetic import generate_synthetic_market1501
from mmreid_tricks.engine.hooks import IdentitySamplerResumeHook
from mmreid_tricks.evaluation import load_reid_results
from mmreid_tricks.models.losses import CenterLoss
from mmreid_tricks.utils import dist as dist_utils
from mmreid_tricks.utils import load_from_local_safe, prepare_distributed_cfg
from .utils import REPO, TINY_CONFIG, cli_options

WORLD_SIZE = 2
# One distractor more than the tiny config: an odd number of test images,
# so DefaultSampler pads rank 1 and collect_results must drop the duplicate.
NUM_DISTRACTORS = 41
GENERATE_KEYS = ('train_dataloader.dataset',
                 'val_dataloader.dataset.datasets.0',
                 'val_dataloader.dataset.datasets.1',
                 'test_dataloader.dataset.datasets.0',
                 'test_dataloader.dataset.datasets.1')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(args, timeout=300, env=None, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=REPO, **(env or {}))
    out = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    return log


def torchrun(script, *args):
    script = osp.join(REPO, 'tools', script)
    return [
        sys.executable, '-m', 'torch.distributed.run',
        f'--nproc_per_node={WORLD_SIZE}', f'--master_port={free_port()}',
        script, TINY_CONFIG, *args, '--launcher', 'pytorch'
    ]


def options(data_root, **extra):
    extra.update({
        f'{k}.generate.num_distractors': NUM_DISTRACTORS
        for k in GENERATE_KEYS
    })
    return cli_options(data_root, **extra)


def train_options(data_root, epochs):
    return options(
        data_root, **{
            'train_cfg.max_epochs': epochs,
            'train_cfg.val_interval': epochs
        })


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """The tiny data set, generated once, with an odd number of test
    images."""
    root = str(tmp_path_factory.mktemp('dist') / 'data')
    generate = dict(
        Config.fromfile(TINY_CONFIG).generate, num_distractors=NUM_DISTRACTORS)
    counts = generate_synthetic_market1501(root, **generate)
    # The reader drops the junk images the gallery count includes.
    num_test = counts['query'] + counts['gallery'] - counts['num_junk']
    assert num_test % WORLD_SIZE == 1, f'{num_test} test images: no padding'
    return root


@pytest.fixture(scope='module')
def trained(data_root, tmp_path_factory):
    """One epoch in 2 processes; asks for SyncBN, which CPU must drop."""
    work = str(tmp_path_factory.mktemp('dist') / 'work')
    log = run(
        torchrun('train.py', '--work-dir', work, '--cfg-options',
                 *train_options(data_root, 1), 'sync_bn=torch'))
    return work, log


# Pieces of the glue, without a process group.


@pytest.fixture
def cpu_launch(monkeypatch):
    """Pretend to be a CPU process of a launched group."""
    monkeypatch.setattr(dist_utils, 'get_device', lambda: 'cpu')
    monkeypatch.setattr(dist_utils, 'is_distributed', lambda: True)


def test_prepare_distributed_cfg_on_cpu(cpu_launch):
    cfg = Config(
        dict(launcher='pytorch', sync_bn='torch', find_unused_parameters=True))
    prepare_distributed_cfg(cfg)
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=True)
    assert 'sync_bn' not in cfg
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'

    # A config's own DDP wrapper is kept, only without device ids.
    own = dict(type='MMDistributedDataParallel', broadcast_buffers=True)
    cfg = Config(dict(launcher='pytorch', model_wrapper_cfg=own))
    prepare_distributed_cfg(cfg)
    assert cfg.model_wrapper_cfg == dict(own, device_ids=None)
    # A wrapper that is no DDP gets no DDP argument.
    own = dict(type='MMFullyShardedDataParallel')
    cfg = Config(dict(launcher='pytorch', model_wrapper_cfg=own))
    prepare_distributed_cfg(cfg)
    assert cfg.model_wrapper_cfg == own


def test_prepare_distributed_cfg_keeps_mmengine_path(monkeypatch):
    monkeypatch.setattr(dist_utils, 'is_distributed', lambda: True)
    for device, launcher in (('cpu', 'none'), ('cuda', 'pytorch')):
        monkeypatch.setattr(dist_utils, 'get_device', lambda: device)
        cfg = Config(dict(launcher=launcher, sync_bn='torch'))
        prepare_distributed_cfg(cfg)
        assert cfg.to_dict() == dict(launcher=launcher, sync_bn='torch')


def test_init_cpu_distributed_reads_slurm(monkeypatch):
    calls = []
    monkeypatch.setattr(dist_utils.torch_dist, 'init_process_group',
                        lambda **kwargs: calls.append(kwargs))
    for key in ('MASTER_PORT', 'WORLD_SIZE', 'RANK', 'LOCAL_RANK'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('MASTER_ADDR', 'node7')  # no scontrol needed
    monkeypatch.setenv('SLURM_NODELIST', 'node[7-8]')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    dist_utils.init_cpu_distributed('slurm', timeout=60)
    assert calls[0]['backend'] == 'gloo'
    assert calls[0]['timeout'].total_seconds() == 60
    keys = ('WORLD_SIZE', 'RANK', 'LOCAL_RANK', 'MASTER_PORT')
    assert [os.environ[k] for k in keys] == ['4', '3', '1', '29500']


# The launchers, end to end.


@pytest.mark.slow
def test_torchrun_train(trained):
    work, log = trained
    assert 'Distributed training: True' in log
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert 'sync_bn=' in log and 'is ignored' in log
    assert 'reid/mAP' in log and 'reid/R1' in log
    # A DDP-saved checkpoint passes the allow-list without a warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ckpt = load_from_local_safe(osp.join(work, 'epoch_1.pth'))
    assert [str(w.message) for w in caught] == []
    assert ckpt['meta']['epoch'] == 1
    # DDP saves the bare model: no 'module.' prefix.
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])


@pytest.mark.slow
def test_torchrun_resume(trained, data_root, tmp_path):
    work = str(tmp_path / 'work')
    shutil.copytree(trained[0], work)
    log = run(
        torchrun('train.py', '--work-dir', work, '--resume', '--cfg-options',
                 *train_options(data_root, 2)))
    log = log.replace('  ', ' ')
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [2]' in log and 'Epoch(train) [1]' not in log
    assert 'reid/mAP' in log
    final = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=False)
    assert final['meta']['epoch'] == 2


# Stands in for srun on one node: runs the command once per task with the
# variables SLURM sets, as tools/slurm_*.sh start it.
FAKE_SRUN = r"""#!/usr/bin/env bash
while [[ $1 == -* ]]; do
    case $1 in
        --ntasks=*) NTASKS=${1#*=} ;;
        -p) shift ;;
    esac
    shift
done
for ((i = 0; i < NTASKS; i++)); do
    SLURM_PROCID=$i SLURM_LOCALID=$i SLURM_NTASKS=$NTASKS \
        SLURM_NODELIST=localhost "$@" &
    pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait $pid || rc=$?; done
exit $rc
"""


def fake_slurm_env(tmp_path):
    """PATH with the fake srun and this venv's python, and a free port."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    dirs = [str(bin_dir), osp.dirname(sys.executable), os.environ['PATH']]
    return dict(
        PATH=os.pathsep.join(dirs),
        GPUS=str(WORLD_SIZE),
        GPUS_PER_NODE=str(WORLD_SIZE),
        GRES='',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(free_port()),
        OMP_NUM_THREADS='1')  # as torchrun sets: 2 processes on 2 cores


@pytest.mark.slow
def test_distributed_test_matches_one_process(trained, data_root, tmp_path):
    """1 process, torchrun and (fake) slurm give the same metrics: the
    padded duplicate is dropped and the results are gathered in order; the
    features saved by `--out FILE.pth` too."""
    ckpt = osp.join(trained[0], 'epoch_1.pth')
    outs = [
        str(tmp_path / name) for name in ('one.pth', 'dist.pth', 'slurm.json')
    ]
    common = [
        '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', *options(data_root)
    ]
    run([
        sys.executable,
        osp.join(REPO, 'tools', 'test.py'), TINY_CONFIG, ckpt, '--out',
        outs[0], *common
    ])
    # tools/dist_test.sh with no torchrun on PATH, from another folder: it
    # runs torch's launcher through PYTHON and leaves no .dist_test there.
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir()
    log = run([
        'bash',
        osp.join(REPO, 'tools', 'dist_test.sh'), TINY_CONFIG, ckpt,
        str(WORLD_SIZE), '--out', outs[1], *common
    ],
              env=dict(
                  PATH='/usr/bin:/bin',
                  PYTHON=sys.executable,
                  PORT=str(free_port()),
                  OMP_NUM_THREADS='1'),
              cwd=str(cwd))
    assert 'Distributed training: True' in log
    assert os.listdir(cwd) == []
    assert not [
        n for n in os.listdir(tmp_path / 'work') if n.startswith('.dist')
    ]
    slurm = [
        osp.join(REPO, 'tools', 'slurm_test.sh'), 'partition', 'job',
        TINY_CONFIG, ckpt, '--out', outs[2], *common
    ]
    log = run(slurm, env=fake_slurm_env(tmp_path))
    assert 'Distributed launcher: slurm' in log
    results = [load_reid_results(out) for out in outs[:2]]
    with open(outs[2]) as f:
        metrics = [r['metrics'] for r in results] + [json.load(f)]
    assert set(metrics[0]) >= {'reid/mAP', 'reid/mINP', 'reid/R1'}
    assert metrics[0] == metrics[1] == metrics[2]
    for part in ('query', 'gallery'):
        one, dist = results[0][part], results[1][part]
        assert one['img_paths'] == dist['img_paths']
        assert len(set(one['img_paths'])) == len(one['img_paths'])
        assert torch.allclose(one['features'], dist['features'], atol=1e-5)
        assert torch.equal(one['pids'], dist['pids'])


@pytest.mark.slow
def test_mim_train_pytorch_launcher(data_root, tmp_path):
    work = str(tmp_path / 'work')
    # mim runs `python -m torch.distributed.launch --nproc_per_node=2`.
    log = run([
        sys.executable, '-m', 'mim', 'train', 'mmreid_tricks', TINY_CONFIG,
        '--launcher', 'pytorch', '--gpus',
        str(WORLD_SIZE), '--port',
        str(free_port()), '--work-dir', work, '--cfg-options',
        *train_options(data_root, 1)
    ])
    assert 'torch.distributed.launch --nproc_per_node=2' in log
    assert 'Distributed training: True' in log
    assert 'reid/mAP' in log
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


# Our distributed pieces in real 2-process gloo groups.


def start(worker, *args) -> None:
    """Run ``worker(rank, port, *args)`` in 2 processes; fork, as spawn
    spends most of the test re-importing torch and mmengine."""
    mp.start_processes(
        worker,
        args=(free_port(), *args),
        nprocs=WORLD_SIZE,
        start_method='fork')


def _init_group(rank: int, port: int) -> None:
    torch_dist.init_process_group(
        'gloo',
        init_method=f'tcp://127.0.0.1:{port}',
        rank=rank,
        world_size=WORLD_SIZE,
        timeout=datetime.timedelta(seconds=60))  # fail, not hang


def _feats(step: int, rank: int, batch: int, dim: int):
    g = torch.Generator().manual_seed(100 * step + rank)
    feats = torch.randn(batch, dim, generator=g)
    labels = torch.randint(0, 5, (batch, ), generator=g)
    return feats, labels


def _center_loss_worker(rank, port, out_dir, steps, batch):
    _init_group(rank, port)
    torch.manual_seed(0)  # the same initial centers on every rank
    loss = CenterLoss(num_classes=5, feat_dim=4).train()
    for step in range(steps):
        loss(*_feats(step, rank, batch, 4))
    gathered = [torch.empty_like(loss.centers) for _ in range(WORLD_SIZE)]
    torch_dist.all_gather(gathered, loss.centers)
    torch.save(gathered, osp.join(out_dir, f'centers{rank}.pth'))
    torch_dist.destroy_process_group()


@pytest.mark.slow
def test_center_loss_centers_agree_across_ranks(tmp_path):
    steps, batch = 3, 6
    start(_center_loss_worker, str(tmp_path), steps, batch)
    gathered = torch.load(tmp_path / 'centers0.pth')
    assert torch.equal(gathered[0], gathered[1])
    assert torch.equal(torch.load(tmp_path / 'centers1.pth')[0], gathered[0])

    # The mean over ranks of per-rank mean gradients is the gradient of the
    # mean over the whole batch, as the ranks' batch sizes are equal.
    torch.manual_seed(0)
    single = CenterLoss(num_classes=5, feat_dim=4).train()
    initial = single.centers.clone()
    for step in range(steps):
        parts = [_feats(step, r, batch, 4) for r in range(WORLD_SIZE)]
        single(
            torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))
    assert not torch.allclose(single.centers, initial)
    torch.testing.assert_close(gathered[0], single.centers)


class _Identities:
    """19 identities with 3..9 images each (some fewer than K): 23 chunks
    of K=4, so every epoch has 11 batches of P=2 and loses one to the cut
    to a multiple of the world size."""

    def __init__(self):
        self.labels = [pid for pid in range(19) for _ in range(3 + pid % 7)]

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


def _sampler_worker(rank, port, out_dir, epochs):
    _init_group(rank, port)
    # seed=None: drawn on rank 0 and broadcast.
    sampler = RandomIdentitySampler(
        _Identities(), batch_size=8, num_instances=4)
    drawn = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        # Plain ints: torch.load below unpickles weights only.
        drawn.append((len(sampler), [int(i) for i in sampler]))
    torch.save(
        dict(seed=sampler.seed, drawn=drawn),
        osp.join(out_dir, f'sampler{rank}.pth'))
    torch_dist.destroy_process_group()


@pytest.mark.slow
def test_identity_sampler_splits_batches_across_ranks(tmp_path):
    epochs = 4
    start(_sampler_worker, str(tmp_path), epochs)
    ranks = [torch.load(tmp_path / f'sampler{r}.pth') for r in range(2)]
    assert ranks[0]['seed'] == ranks[1]['seed']
    single = RandomIdentitySampler(
        _Identities(), batch_size=8, num_instances=4, seed=ranks[0]['seed'])
    truncated = 0
    for epoch in range(epochs):
        single.set_epoch(epoch)
        flat = list(single)
        batches = [flat[i:i + 8] for i in range(0, len(flat), 8)]
        num = len(batches) - len(batches) % WORLD_SIZE
        truncated += num < len(batches)
        per_rank = []
        for rank, result in enumerate(ranks):
            length, indices = result['drawn'][epoch]
            assert length == len(indices) == num // WORLD_SIZE * 8
            per_rank.append(
                [indices[i:i + 8] for i in range(0, len(indices), 8)])
            # Rank r takes batches r, r + W, ... of the one-process epoch.
            assert per_rank[rank] == batches[rank:num:WORLD_SIZE]
        assert all(a != b for a, b in zip(*per_rank))
        assert sorted(per_rank[0] + per_rank[1]) == sorted(batches[:num])
    assert truncated, 'no epoch with an odd number of batches'


class _IndexedIdentities(_Identities):

    def __getitem__(self, index):
        return index


def _sampler_epochs(seed, hook, epochs, start_iter=0):
    """(epoch, iteration, batch) as EpochBasedTrainLoop draws them, with
    DistSamplerSeedHook and ``hook`` before every epoch; starts at
    ``start_iter`` as runner.resume leaves it."""
    sampler = RandomIdentitySampler(
        _IndexedIdentities(), batch_size=8, num_instances=4, seed=seed)
    loader = DataLoader(_IndexedIdentities(), batch_size=8, sampler=sampler)
    lengths = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        lengths.append(len(loader))
    start_epoch = next(
        e for e in range(epochs) if sum(lengths[:e + 1]) > start_iter)
    runner = SimpleNamespace(
        train_dataloader=loader, epoch=start_epoch, iter=start_iter)
    drawn = []
    for epoch in range(start_epoch, epochs):
        runner.epoch = epoch
        sampler.set_epoch(epoch)
        hook.before_train_epoch(runner)
        for batch in loader:
            drawn.append((epoch, runner.iter, batch.tolist()))
            runner.iter += 1
    return drawn, lengths


def _resume_worker(rank, port, out_dir, epochs):
    _init_group(rank, port)
    # seed=None: drawn on rank 0 and broadcast, as the runner's seed is.
    seed = RandomIdentitySampler(
        _IndexedIdentities(), batch_size=8, num_instances=4).seed
    full, lengths = _sampler_epochs(seed, IdentitySamplerResumeHook(), epochs)
    # Stop in the middle of epoch 2 (iterations count this rank's batches).
    stop = lengths[0] + lengths[1] + lengths[2] // 2
    resumed, _ = _sampler_epochs(
        seed, IdentitySamplerResumeHook(), epochs, start_iter=stop)
    torch.save(
        dict(full=full, resumed=resumed, lengths=lengths, stop=stop),
        osp.join(out_dir, f'resume{rank}.pth'))
    torch_dist.destroy_process_group()


@pytest.mark.slow
def test_identity_sampler_resumes_mid_epoch_on_every_rank(tmp_path):
    start(_resume_worker, str(tmp_path), 4)
    ranks = [torch.load(tmp_path / f'resume{r}.pth') for r in range(2)]
    lengths, stop = ranks[0]['lengths'], ranks[0]['stop']
    assert ranks[1]['lengths'] == lengths and ranks[1]['stop'] == stop
    for result in ranks:
        # Each rank continues with its next batch: nothing repeated or
        # skipped, and the iteration counts line up.
        assert result['resumed'] == result['full'][stop:]
    # Across ranks too, the resumed part of epoch 2 repeats no batch done
    # before the interruption.
    done = {tuple(b) for r in ranks for e, i, b in r['full'][:stop] if e == 2}
    rest = {tuple(b) for r in ranks for e, i, b in r['resumed'] if e == 2}
    assert done and rest and not done & rest
    assert len(done | rest) == WORLD_SIZE * lengths[2]
