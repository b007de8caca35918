"""Glue that lets mmengine's launcher path run on CPU-only machines (gloo).

``tools/train.py`` and ``tools/test.py`` call :func:`prepare_distributed_cfg`
just before the runner is built. With an accelerator, or without a launcher,
it changes nothing and mmengine does everything itself. On CPU it works
around three GPU assumptions of mmengine 0.10.x:

1. ``mmengine.dist.init_dist`` calls ``torch.cuda.set_device`` (a
   ``RuntimeError`` without a driver) and the configs ask for nccl. We start
   a gloo process group first; ``Runner.setup_env`` then sees
   ``is_distributed()`` and skips its own ``init_dist``.
2. ``Runner.wrap_model`` gives DDP ``device_ids=[LOCAL_RANK]``, which CPU
   modules refuse. We pass an explicit ``model_wrapper_cfg`` with
   ``device_ids=None``.
3. ``sync_bn`` converts BN layers to ``SyncBatchNorm``, which only runs on
   GPUs. We drop it with a warning: every rank keeps its own BN statistics.
"""
import datetime
import logging
import os
import subprocess
from typing import Optional

import mmengine.model  # noqa: F401  (registers mmengine's model wrappers)
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.device import get_device
from mmengine.dist import is_distributed
from mmengine.logging import print_log
from mmengine.registry import MODEL_WRAPPERS, DefaultScope
from torch.nn.parallel import DistributedDataParallel


def _set_slurm_env() -> None:
    """Export the env:// variables from SLURM's, as mmengine does."""
    node_list = os.environ['SLURM_NODELIST']
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {node_list} | head -n1')
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')


def _set_mpi_env() -> None:
    """Export the env:// variables from Open MPI's, as mmengine does."""
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('The environment variable MASTER_ADDR is not set')
    os.environ.setdefault('MASTER_PORT', '29500')
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['LOCAL_RANK'] = os.environ['OMPI_COMM_WORLD_LOCAL_RANK']


def init_cpu_distributed(launcher: str,
                         backend: str = 'gloo',
                         timeout: Optional[float] = None) -> None:
    """Start the process group as ``mmengine.dist.init_dist`` would, without
    touching CUDA.

    Args:
        launcher (str): ``'pytorch'`` (torchrun, ``torch.distributed.launch``),
            ``'slurm'`` or ``'mpi'``.
        backend (str): A backend that runs on CPU. Defaults to ``'gloo'``.
        timeout (float, optional): Collective timeout in seconds, as
            ``env_cfg.dist_cfg.timeout``. Defaults to None (torch's default).
    """
    if launcher == 'slurm':
        _set_slurm_env()
    elif launcher == 'mpi':
        _set_mpi_env()
    elif launcher != 'pytorch':
        raise ValueError(f'Invalid launcher type: {launcher}')
    kwargs = {}
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    # env:// reads MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE.
    torch_dist.init_process_group(backend=backend, **kwargs)


def _wraps_with_ddp(wrapper_cfg: dict, scope: Optional[str]) -> bool:
    """Whether ``wrapper_cfg`` builds a DDP subclass (mmengine's default)."""
    wrapper_type = wrapper_cfg.get('type', 'MMDistributedDataParallel')
    if isinstance(wrapper_type, str):
        with DefaultScope.overwrite_default_scope(scope):
            wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    return isinstance(wrapper_type, type) and issubclass(
        wrapper_type, DistributedDataParallel)


def prepare_distributed_cfg(cfg: Config) -> Config:
    """Make a distributed config run on CPU with gloo; no-op otherwise.

    Call it after ``cfg.launcher`` is set and before the runner is built.
    Without an accelerator and with a launcher other than ``'none'`` it
    starts the gloo process group, sets ``model_wrapper_cfg`` to a DDP with
    ``device_ids=None`` (a config's own wrapper is kept; a DDP one only gets
    ``device_ids=None`` if it sets none) and removes ``sync_bn``. See the
    module docstring for the mmengine assumption each step works around.

    Args:
        cfg (Config): The full config; modified in place.

    Returns:
        Config: ``cfg``.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or get_device() != 'cpu':
        return cfg  # mmengine's own path

    # nccl needs GPUs; recorded so that the dumped config says what ran.
    cfg.merge_from_dict({'env_cfg.dist_cfg.backend': 'gloo'})
    if not is_distributed():
        init_cpu_distributed(
            launcher, timeout=cfg.env_cfg.dist_cfg.get('timeout'))

    wrapper_cfg = cfg.get('model_wrapper_cfg')
    if wrapper_cfg is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            # What mmengine reads from the config when it builds DDP itself.
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    elif _wraps_with_ddp(wrapper_cfg, cfg.get('default_scope')):
        wrapper_cfg.setdefault('device_ids', None)

    sync_bn = cfg.pop('sync_bn', None)
    if sync_bn is not None:
        print_log(
            f'sync_bn={sync_bn!r} is ignored: SyncBatchNorm needs GPUs, so '
            'each process keeps its own BatchNorm statistics on CPU.',
            logger='current',
            level=logging.WARNING)
    return cfg
