"""CMC curves (rank 1..50) of one or several saved test results, one plot.

    python tools/test.py CONFIG_A CKPT_A --out a.pth
    python tools/test.py CONFIG_B CKPT_B --out b.pth
    python tools/analysis_tools/plot_cmc.py a.pth b.pth \
        --labels baseline "+ tricks" --out cmc.png [--rerank]

The curves are computed from the saved embeddings with the ReID metric's
own ranking and distance settings (saved with the results), so R1 equals
the reported ``reid/R1``. ``--rerank`` adds each result's curve with
k-reciprocal re-ranking.
"""
import argparse
import os
import os.path as osp

import mmcv
from mmengine.config import DictAction

from mmreid_tricks.evaluation import (load_reid_results, plot_cmc,
                                      results_rank_metrics)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Plot CMC curves')
    parser.add_argument(
        'results',
        nargs='+',
        help='results files of `tools/test.py CONFIG CKPT --out FILE.pth`')
    parser.add_argument('--out', required=True, help='the PNG written')
    parser.add_argument(
        '--labels', nargs='+', help='one legend label per results file')
    parser.add_argument(
        '--max-rank', type=int, default=50, help='last rank of the curves')
    parser.add_argument(
        '--rerank',
        action='store_true',
        help='also plot each result with k-reciprocal re-ranking')
    parser.add_argument('--title', help='plot title')
    parser.add_argument(
        '--dpi', type=int, default=100, help='pixels per inch (6.4 x 4.8)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override the saved distance settings, e.g. metric=cosine '
        'normalize_feature=False rerank_cfg.k1=30')
    args = parser.parse_args(argv)
    if args.labels is not None and len(args.labels) != len(args.results):
        parser.error(f'got {len(args.labels)} labels for '
                     f'{len(args.results)} results files')
    if args.max_rank < 1:
        parser.error('--max-rank must be positive')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    labels = args.labels or args.results
    curves = {}
    for path, label in zip(args.results, labels):
        results = load_reid_results(path)
        if args.cfg_options:
            meta = results.setdefault('meta', {})
            settings = meta.setdefault('metric', {})
            for key, value in args.cfg_options.items():
                *parents, leaf = key.split('.')  # rerank_cfg.k1=30
                node = settings
                for parent in parents:
                    node = node.setdefault(parent, {})
                node[leaf] = value
        for rerank in ((False, True) if args.rerank else (False, )):
            cmc = results_rank_metrics(
                results, rerank=rerank, max_rank=args.max_rank)['cmc']
            name = f'{label} + re-ranking' if rerank else label
            curves[name] = 100 * cmc
            print(f'{name}: R1 {100 * cmc[0]:.2f}%, R5 '
                  f'{100 * cmc[min(4, len(cmc) - 1)]:.2f}%')
    picture = plot_cmc(curves, title=args.title or 'CMC', dpi=args.dpi)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    mmcv.imwrite(picture[..., ::-1], args.out)  # RGB -> BGR for OpenCV
    print(f'CMC plot written to {args.out}')


if __name__ == '__main__':
    main()
