"""Pictures of ranked lists: a query and its top-k gallery images.

    python tools/analysis_tools/visualize_ranked_results.py CONFIG CHECKPOINT \
        --out-dir vis --num-queries 10 --mode worst --topk 10
    python -m mim run mmreid_tricks visualize_ranked_results \
        CONFIG CHECKPOINT --out-dir vis
    # or from saved results (tools/test.py CONFIG CHECKPOINT --out res.pth):
    python tools/analysis_tools/visualize_ranked_results.py \
        --from-results res.pth --out-dir vis

One PNG per query. Frames: green for a correct match (same identity, other
camera), red for a wrong one; images of the query's identity and camera,
which the Market-1501 protocol ignores, are skipped (``--show-ignored``
shows them greyed out, without a rank). The ranking is the one the ReID
metric scores (same distance, normalisation and tie order).
"""
import argparse
import os
import os.path as osp

import cv2
import mmcv
from mmengine.config import DictAction

import mmreid_tricks  # noqa: F401  (registers modules, checkpoint loader)
from mmreid_tricks.apis import ReIDFeatureExtractor
from mmreid_tricks.evaluation import (load_reid_results, make_reid_results,
                                      results_distance_rows)
from mmreid_tricks.utils.test_results import reid_metric_settings
from mmreid_tricks.visualization import (RankedListLayout, draw_query_result,
                                         rank_all_queries, select_queries)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw the ranked gallery of test queries')
    parser.add_argument('config', nargs='?', help='test config file')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument(
        '--from-results',
        help='results file of `tools/test.py --out FILE.pth`, instead of '
        'CONFIG CHECKPOINT')
    parser.add_argument(
        '--out-dir', required=True, help='folder of the pictures')
    parser.add_argument(
        '--num-queries', type=int, default=10, help='queries drawn')
    parser.add_argument(
        '--mode',
        choices=['worst', 'best', 'random'],
        default='worst',
        help='which queries: lowest AP, highest AP, or random')
    parser.add_argument(
        '--topk', type=int, default=10, help='gallery images per query')
    parser.add_argument(
        '--show-ignored',
        action='store_true',
        help='show the same-identity same-camera gallery images greyed out '
        '(the protocol ignores them; skipped by default)')
    parser.add_argument(
        '--rerank',
        action='store_true',
        help='rank with k-reciprocal re-ranking (the settings of the '
        "config's ReID metric)")
    parser.add_argument(
        '--tile-size',
        type=int,
        nargs=2,
        default=[128, 256],
        metavar=('W', 'H'),
        help='size of each image in the picture')
    parser.add_argument('--seed', type=int, default=0, help='seed of random')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. '
        'test_dataloader.dataset.datasets.0.data_root=data/market1501')
    args = parser.parse_args(argv)
    if args.from_results is None and (args.config is None
                                      or args.checkpoint is None):
        parser.error('give CONFIG CHECKPOINT, or --from-results FILE')
    if args.num_queries < 1 or args.topk < 1:
        parser.error('--num-queries and --topk must be positive')
    return args


def embed_test_set(config: str, checkpoint: str, cfg_options) -> dict:
    """The config's test set embedded as the metric sees it, as results."""
    extractor = ReIDFeatureExtractor(
        config, checkpoint, cfg_options=cfg_options)
    out = extractor.extract_dataset()
    meta = dict(
        config=config,
        checkpoint=checkpoint,
        metric=reid_metric_settings(extractor.cfg))
    return make_reid_results(out.features, out.pids, out.camids, out.is_query,
                             out.paths, meta)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.from_results:
        results = load_reid_results(args.from_results)
    else:
        results = embed_test_set(args.config, args.checkpoint,
                                 args.cfg_options)
    dist = results_distance_rows(results, rerank=args.rerank)
    chosen = select_queries(
        rank_all_queries(dist, results), args.mode, args.num_queries,
        args.seed)
    layout = RankedListLayout(tile_size=tuple(args.tile_size))
    os.makedirs(args.out_dir, exist_ok=True)
    for order, index in enumerate(chosen):
        picture = draw_query_result(results, index,
                                    dist(index, index + 1)[0], args.topk,
                                    args.show_ignored, layout)
        name = osp.splitext(
            osp.basename(results['query']['img_paths'][index]))[0]
        out_file = osp.join(
            args.out_dir, f'{args.mode}_{order:03d}_query{index}_{name}.png')
        mmcv.imwrite(picture, out_file, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f'{len(chosen)} ranked lists ({args.mode} queries, top-'
          f'{args.topk}) written to {args.out_dir}')


if __name__ == '__main__':
    main()
