"""Generate the synthetic pedestrian data set in the Market-1501 layout.

Example::

    python tools/generate_synthetic_data.py data/synthetic_market1501 --seed 0
"""
import argparse
import time
from typing import List, Optional

from mmreid_tricks.datasets.synthetic import generate_synthetic_market1501


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a synthetic ReID data set with the folders and '
        'file names of Market-1501.')
    parser.add_argument('out_dir', help='folder to create')
    parser.add_argument('--num-train-ids', type=int, default=64)
    parser.add_argument('--num-test-ids', type=int, default=50)
    parser.add_argument('--num-cameras', type=int, default=6)
    parser.add_argument(
        '--images-per-id',
        type=int,
        default=10,
        help='mean number of images of an identity')
    parser.add_argument('--num-distractors', type=int, default=100)
    parser.add_argument('--num-junk', type=int, default=20)
    parser.add_argument('--height', type=int, default=128)
    parser.add_argument('--width', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--queries-per-camera', type=int, default=1)
    parser.add_argument('--occlusion-prob', type=float, default=0.2)
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace a data set made with other arguments')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    counts = generate_synthetic_market1501(
        args.out_dir,
        num_train_ids=args.num_train_ids,
        num_test_ids=args.num_test_ids,
        num_cameras=args.num_cameras,
        images_per_id=args.images_per_id,
        num_distractors=args.num_distractors,
        num_junk=args.num_junk,
        height=args.height,
        width=args.width,
        seed=args.seed,
        queries_per_camera=args.queries_per_camera,
        occlusion_prob=args.occlusion_prob,
        overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    what = 'Generated' if counts['generated'] else 'Already complete:'
    print(f'{what} {args.out_dir} ({seconds:.1f} s)')
    print(f"  train   {counts['train']:6d} images, "
          f"{counts['num_train_ids']} identities")
    print(f"  query   {counts['query']:6d} images, "
          f"{counts['num_test_ids']} identities")
    print(f"  gallery {counts['gallery']:6d} images, including "
          f"{counts['num_distractors']} distractors and "
          f"{counts['num_junk']} junk")
    return counts


if __name__ == '__main__':
    main()
