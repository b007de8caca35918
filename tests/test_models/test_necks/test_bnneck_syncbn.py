"""BNNeck with SyncBN across 2 processes (CUDA only).

SyncBatchNorm runs only on GPU tensors. Both processes share the one GPU and
talk over gloo (NCCL refuses two ranks on one device); the statistics are
synchronised the same way as over NCCL on several GPUs.
"""
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from mmreid_tricks.models.necks import BNNeck

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='SyncBatchNorm needs CUDA')

BATCH, CHANNELS = 8, 6


def batch_and_weights():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, CHANNELS, 2, 2, generator=gen) * 3 + 1
    return x, torch.randn(BATCH, CHANNELS, generator=gen)


def _worker(rank: int, port: int, out_dir: str) -> None:
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    torch.cuda.set_device(0)
    neck = nn.SyncBatchNorm.convert_sync_batchnorm(
        BNNeck(CHANNELS)).cuda().train()
    assert isinstance(neck.bn, nn.SyncBatchNorm)
    assert not neck.bn.bias.requires_grad  # BoT's frozen bias survives
    x, w = batch_and_weights()
    half = slice(rank * BATCH // 2, (rank + 1) * BATCH // 2)
    x = x[half].cuda().requires_grad_()
    f_i = neck((x, ))[1]
    (f_i * w[half].cuda()).sum().backward()
    grad_w = neck.bn.weight.grad.clone()
    dist.all_reduce(grad_w)  # what DDP does
    torch.save(
        dict(
            f_i=f_i.detach().cpu(),
            grad_x=x.grad.cpu(),
            grad_w=grad_w.cpu(),
            mean=neck.bn.running_mean.cpu(),
            var=neck.bn.running_var.cpu()), osp.join(out_dir, f'{rank}.pth'))
    dist.destroy_process_group()


def test_syncbn_equals_bn_on_the_whole_batch(tmp_path):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(_worker, args=(port, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'{r}.pth') for r in range(2)]

    # One process, plain BatchNorm1d, the whole batch, float64.
    neck = BNNeck(CHANNELS).double().train()
    x, w = batch_and_weights()
    x = x.double().requires_grad_()
    f_i = neck((x, ))[1]
    (f_i * w.double()).sum().backward()

    got = torch.cat([r['f_i'] for r in ranks]).double()
    torch.testing.assert_close(got, f_i.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        torch.cat([r['grad_x'] for r in ranks]).double(),
        x.grad,
        rtol=1e-5,
        atol=1e-5)
    for r in ranks:
        torch.testing.assert_close(
            r['grad_w'].double(), neck.bn.weight.grad, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(r['mean'].double(), neck.bn.running_mean)
        torch.testing.assert_close(
            r['var'].double(), neck.bn.running_var, rtol=1e-5, atol=1e-6)
