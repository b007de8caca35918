"""A grid of training images after each transform of the train pipeline.

    python tools/visualization/browse_pipeline.py CONFIG --out pipeline.png \
        --num-images 4 [--always-apply] [--cfg-options KEY=VALUE ...]

One row per image, one column per transform (resize, crop, random
erasing, cutout, random patch, flip, ...), so the effect of each trick on
your data is visible. Random transforms fire with their configured
probability; ``--always-apply`` sets ``prob`` (and ``prob_happen``) to 1 to
show what each one does. Batch augments of the data preprocessor run on
whole batches on the device and are not drawn.
"""
import argparse
import copy
import inspect
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmreid_tricks  # noqa: F401  (registers modules)
from mmreid_tricks.registry import DATASETS, TRANSFORMS
from mmreid_tricks.visualization import image_grid

# Keys that make a random transform fire, set to 1 by --always-apply.
APPLY_PROB_KEYS = ('prob', 'prob_happen')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw training images after each pipeline transform')
    parser.add_argument('config', help='training config file')
    parser.add_argument('--out', required=True, help='the PNG written')
    parser.add_argument(
        '--num-images', type=int, default=4, help='images (grid rows)')
    parser.add_argument(
        '--always-apply',
        action='store_true',
        help='set the probability of every random transform to 1')
    parser.add_argument(
        '--tile-size',
        type=int,
        nargs=2,
        default=[128, 256],
        metavar=('W', 'H'),
        help='size of each cell')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, e.g. '
        'train_dataloader.dataset.data_root=data/market1501')
    args = parser.parse_args(argv)
    if args.num_images < 1:
        parser.error('--num-images must be positive')
    return args


def _force_apply(transform_cfg: dict) -> None:
    """Set the firing probabilities of a transform config to 1, also those
    left at the class's default."""
    cls = TRANSFORMS.get(transform_cfg['type'])
    params = inspect.signature(cls.__init__).parameters if cls else {}
    for key in APPLY_PROB_KEYS:
        if key in transform_cfg or key in params:
            transform_cfg[key] = 1.0


def _innermost_dataset(cfg: dict) -> dict:
    """The data set config under dataset wrappers (repeat, concat)."""
    while True:
        if 'dataset' in cfg:
            cfg = cfg['dataset']
        elif 'datasets' in cfg:
            cfg = cfg['datasets'][0]
        else:
            return cfg


def _as_image(results: dict) -> np.ndarray:
    if 'img' not in results:
        raise KeyError('no `img` after a transform of the train pipeline '
                       f'(keys: {sorted(results)}); does it start with '
                       'LoadImageFromFile?')
    # A copy: later transforms may change the image in place.
    return np.array(results['img'], copy=True)


def _title(index: int, transform_cfg: dict, always_apply: bool) -> str:
    name = str(transform_cfg['type']).split('.')[-1]
    probs = [
        f'{k}={transform_cfg[k]}' for k in APPLY_PROB_KEYS
        if k in transform_cfg
    ]
    return f'{index}. {name}' + ('\n' + ', '.join(probs) if probs else '')


def browse_pipeline(cfg: Config, num_images: int, always_apply: bool,
                    seed: int) -> tuple:
    """Run the train pipeline step by step on a few images.

    Returns:
        tuple: ``(rows, titles)``: per image the image after loading and
        after each later transform, and the column titles.
    """
    init_default_scope(cfg.get('default_scope', 'mmreid_tricks'))
    dataset_cfg = copy.deepcopy(
        _innermost_dataset(cfg.train_dataloader.dataset))
    pipeline = dataset_cfg.pop('pipeline', None)
    if not pipeline:
        raise KeyError(f'config {cfg.filename!r} has no train pipeline '
                       '(train_dataloader.dataset.pipeline)')
    pipeline = [dict(t) for t in pipeline]
    if always_apply:
        for t in pipeline:
            _force_apply(t)
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    transforms = [TRANSFORMS.build(t) for t in pipeline]
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # the transforms draw from numpy's global state
    indices = rng.choice(
        len(dataset), size=min(num_images, len(dataset)), replace=False)
    # Packing changes no pixel: not drawn.
    shown = [
        i for i, t in enumerate(pipeline)
        if not str(t['type']).split('.')[-1].startswith('Pack')
    ]
    rows = []
    for index in indices:
        results = copy.deepcopy(dataset.get_data_info(int(index)))
        row = []
        for step, transform in enumerate(transforms):
            results = transform(results)
            if results is None:
                raise ValueError(f'transform {step} ({pipeline[step]}) '
                                 f'dropped image {int(index)}')
            if step in shown:
                row.append(_as_image(results))
        rows.append(row)
    return rows, [_title(i, pipeline[i], always_apply) for i in shown]


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    rows, titles = browse_pipeline(cfg, args.num_images, args.always_apply,
                                   args.seed)
    grid = image_grid(rows, titles, tuple(args.tile_size))
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    mmcv.imwrite(grid, args.out, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    batch_augments = cfg.get('model', {}).get('data_preprocessor',
                                              {}).get('batch_augments')
    if batch_augments:
        print('Note: the batch augments of model.data_preprocessor '
              f'({batch_augments}) are not drawn.')
    print(f'{len(rows)} images x {len(titles)} steps written to {args.out}')


if __name__ == '__main__':
    main()
