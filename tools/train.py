"""Train a ReID model from a config (mmpretrain-style, stock mmengine Runner).

    python tools/train.py configs/strong_baseline_synthetic.py
    mim train mmreid_tricks configs/strong_baseline.py
    torchrun --nproc_per_node=4 tools/train.py CONFIG --launcher pytorch
    mim train mmreid_tricks CONFIG --launcher pytorch --gpus 4

Without GPUs the distributed launchers run on CPU with gloo
(:func:`mmreid_tricks.utils.prepare_distributed_cfg`).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmreid_tricks  # noqa: F401  (registers modules)
from mmreid_tricks.utils import (install_checkpoint_loader,
                                 prepare_distributed_cfg)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a ReID model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or, without a value, from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--amp', action='store_true', help='mixed-precision training')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual over the base batch size')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. train_cfg.max_epochs=10')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2) or --local_rank.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def fix_dataloaders(cfg: Config) -> None:
    """Persistent workers need workers; torch raises otherwise."""
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if loader and loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    fix_dataloaders(cfg)
    return cfg


def main() -> None:
    args = parse_args()
    # Local checkpoints load through an allow-list (docs/reliability.md).
    install_checkpoint_loader()
    cfg = merge_args(Config.fromfile(args.config), args)
    prepare_distributed_cfg(cfg)  # CPU-only: gloo, DDP without device_ids
    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.train()


if __name__ == '__main__':
    main()
