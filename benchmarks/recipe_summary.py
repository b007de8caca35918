"""Summarise a run of the full recipe from its logs: per epoch, the time of
an iteration, the loader's share of it (``data_time``), images per second and
peak GPU memory; then the validation and test metrics and the wall times.

Written for ``benchmarks/gpu_recipe.sh``; reads the ``vis_data/scalars.json``
files that mmengine writes under the work folder (one per run: training,
then testing).

Example::

    python benchmarks/recipe_summary.py WORK_DIR --train-seconds 812 \\
        --test-seconds 95 --metrics metrics.json
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from collections import defaultdict
from typing import Dict, List


def read_scalars(work_dir: str) -> List[dict]:
    """Every logged line of every run under ``work_dir``, oldest run
    first."""
    lines = []
    pattern = osp.join(work_dir, '*', 'vis_data', 'scalars.json')
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            lines += [json.loads(line) for line in f if line.strip()]
    return lines


def epoch_table(lines: List[dict], batch_size: int) -> List[str]:
    """One row per training epoch."""
    epochs: Dict[int, List[dict]] = defaultdict(list)
    for line in lines:
        if 'lr' in line and 'time' in line:
            epochs[line['epoch']].append(line)
    rows = [
        'epoch  logged iters  s/iter (median)  data_time s (median)  '
        'data share  images/s  peak memory MB'
    ]
    for epoch, its in sorted(epochs.items()):
        step = statistics.median(it['time'] for it in its)
        data = statistics.median(it['data_time'] for it in its)
        memory = max((it.get('memory', 0) for it in its), default=0)
        rows.append(f'{epoch:5d}  {len(its):12d}  {step:15.4f}  '
                    f'{data:20.4f}  {data / step:10.1%}  '
                    f'{batch_size / step:8.1f}  {memory or "-":>14}')
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--train-seconds', type=float)
    parser.add_argument('--test-seconds', type=float)
    parser.add_argument('--metrics', help='the metrics file of the test')
    args = parser.parse_args()
    lines = read_scalars(args.work_dir)
    print('\n'.join(epoch_table(lines, args.batch_size)))
    for line in lines:
        metrics = {k: v for k, v in line.items() if '/' in k}
        if metrics:
            print('validation:', json.dumps(metrics))
    if args.metrics and osp.exists(args.metrics):
        with open(args.metrics) as f:
            print('test:', f.read().strip())
    print(f'wall time: training {args.train_seconds} s (validation '
          f'included), testing {args.test_seconds} s (both metrics, with and '
          'without re-ranking)')


if __name__ == '__main__':
    main()
