"""Evaluate a ReID checkpoint (mmpretrain-style, stock mmengine Runner).

    python tools/test.py CONFIG CHECKPOINT
    mim test mmreid_tricks CONFIG --checkpoint CHECKPOINT
    torchrun --nproc_per_node=4 tools/test.py CONFIG CHECKPOINT \
        --launcher pytorch

Without GPUs the distributed launchers run on CPU with gloo
(:func:`mmreid_tricks.utils.prepare_distributed_cfg`).

``--out results.pth`` saves the query and gallery embeddings, identities,
cameras, image paths and the metrics (tensors and plain values only, read
back with ``mmreid_tricks.evaluation.load_reid_results``) for
``tools/analysis_tools/plot_cmc.py`` and ``visualize_ranked_results.py``;
``--out metrics.json`` (or ``.yaml``) saves the metrics alone.
"""
import argparse
import os
import os.path as osp

# Before torch loads OpenMP: idle threads spin briefly (see tools/train.py).
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '10000'

import mmengine  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.dist import is_main_process  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmreid_tricks  # noqa: E402,F401  (registers modules)
from mmreid_tricks.utils import clear_errors  # noqa: E402
from mmreid_tricks.utils import (check_data_roots, install_checkpoint_loader,
                                 prepare_distributed_cfg, set_collect_dir,
                                 set_data_root)
from mmreid_tricks.utils.test_results import add_results_dump  # noqa: E402
from mmreid_tricks.utils.test_results import save_metrics_to_results

METRICS_ONLY_SUFFIXES = ('.json', '.yaml', '.yml')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a ReID model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save the metrics')
    parser.add_argument(
        '--out',
        help='save the results: FILE.pth holds the query/gallery features, '
        'pids, camids, image paths and the metrics (loadable with '
        'torch.load(weights_only=True) or '
        'mmreid_tricks.evaluation.load_reid_results); FILE.json or '
        'FILE.yaml holds the metrics only')
    parser.add_argument(
        '--data-root',
        help='the data set folder, set on every data set of the train, val '
        'and test dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. test_evaluator.metric=cosine')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    # Local checkpoints load through an allow-list (docs/reliability.md).
    install_checkpoint_loader()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.data_root is not None:
        set_data_root(cfg, args.data_root)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # A missing data set says so before the Runner prints the config.
    check_data_roots(cfg, ('test_dataloader', ))
    loader = cfg.test_dataloader
    if loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    dump_features = args.out and not args.out.endswith(METRICS_ONLY_SUFFIXES)
    if dump_features:
        add_results_dump(cfg, args.out, args.checkpoint)
    if args.launcher != 'none':
        set_collect_dir(cfg)  # after the dump metric joins the evaluator
    prepare_distributed_cfg(cfg)  # CPU-only: gloo, DDP without device_ids
    runner = (
        RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.logger.info(f'Evaluating {args.checkpoint}')
    metrics = runner.test()
    # Every rank holds the gathered metrics; one writer avoids a race.
    if dump_features:
        save_metrics_to_results(args.out, metrics)
    elif args.out and is_main_process():
        mmengine.dump(metrics, args.out)


if __name__ == '__main__':
    with clear_errors():
        main()
