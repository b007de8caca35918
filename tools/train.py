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

# Before torch loads OpenMP (libgomp): idle OpenMP threads spin 10k rounds,
# not 300k, before they sleep. On a busy CPU the long spin made a step 3x
# slower; on an idle one the short spin costs about 3-6% (README, "Time and
# threads"; benchmarks/omp_wait_benchmark.py). Unset when the user chose a
# wait policy or spin count.
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '10000'

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmreid_tricks  # noqa: E402,F401  (registers modules)
from mmreid_tricks.utils import clear_errors  # noqa: E402
from mmreid_tricks.utils import (check_data_roots, install_checkpoint_loader,
                                 prepare_distributed_cfg, set_collect_dir,
                                 set_data_root)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a ReID model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--work-dir',
        help='where to save logs and models; defaults to '
        'work_dirs/CONFIG_NAME, or work_dirs/CONFIG_NAME_LAUNCHER with a '
        'distributed launcher')
    parser.add_argument(
        '--data-root',
        help='the data set folder, set on every data set of the train, val '
        'and test dataloaders')
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
        # A distributed run is another run: it keeps its own checkpoints.
        name = osp.splitext(osp.basename(args.config))[0]
        if args.launcher != 'none':
            name = f'{name}_{args.launcher}'
        cfg.work_dir = osp.join('./work_dirs', name)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.launcher != 'none':
        set_collect_dir(cfg)
    fix_dataloaders(cfg)
    return cfg


def main() -> None:
    args = parse_args()
    # Local checkpoints load through an allow-list (docs/reliability.md).
    install_checkpoint_loader()
    cfg = merge_args(Config.fromfile(args.config), args)
    # A missing data set says so before the Runner prints the config.
    check_data_roots(cfg, ('train_dataloader', 'val_dataloader'))
    prepare_distributed_cfg(cfg)  # CPU-only: gloo, DDP without device_ids
    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.logger.info(
        f'Training; logs and checkpoints go to {osp.abspath(cfg.work_dir)}')
    runner.train()


if __name__ == '__main__':
    with clear_errors():
        main()
