"""Run BoT's trick-by-trick ablation (Table 1) on the synthetic data set.

    python tools/run_ablation.py --seeds 0 1 --work-dir work_dirs/ablation
    python tools/run_ablation.py --rows 0 5 6 --seeds 0

Each row of ``configs/ablation/`` is trained once per seed, in this process,
with the stock mmengine Runner; the final validation metrics are averaged
over the seeds. Writes ``<work-dir>/ablation.md`` (table, with the paper's
Market-1501 numbers for reference) and ``<work-dir>/ablation.png`` (grouped
R1 / mAP bars), and prints the table.
"""
import argparse
import glob
import json
import os.path as osp
import re
import time

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmreid_tricks  # noqa: F401  (registers the modules)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(REPO, 'configs', 'ablation')

# Table 1 of Luo et al., CVPRW 2019 (Market-1501, ResNet-50): (R1, mAP).
PAPER = {
    'baseline': ('Baseline', 87.1, 74.0),
    'warmup': ('+warmup', 88.7, 75.2),
    'random-erasing': ('+REA', 91.3, 79.3),
    'label-smoothing': ('+LS', 91.4, 80.3),
    'last-stride': ('+stride=1', 92.0, 81.7),
    'bnneck': ('+BNNeck', 94.1, 85.7),
    'center-loss': ('+center loss', 94.5, 85.9),
}
METRICS = ('R1', 'mAP', 'mINP')


class KeepMetrics(Hook):
    """Remember the metrics of the last validation."""

    def __init__(self):
        self.metrics = {}

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})


# e.g. bot-ablation3-label-smoothing_resnet18_1xb64-20e_synthetic-market1501
ROW_NAME = re.compile(r'bot-ablation(\d+)-([a-z-]+)_')


def find_rows(selected):
    """``[(index, name, config path)]`` of the ablation rows, in order."""
    rows = []
    for path in sorted(glob.glob(osp.join(CONFIG_DIR, 'bot-ablation*.py'))):
        match = ROW_NAME.match(osp.basename(path))
        if match is None:
            raise ValueError(f'{path}: not named bot-ablation<row>-<trick>_'
                             '<backbone>_<gpus>xb<batch>-<schedule>_<data>')
        index, name = int(match.group(1)), match.group(2)
        if selected is None or index in selected:
            rows.append((index, name, path))
    return sorted(rows)


def train_once(config, seed, work_dir, options):
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    runner = Runner.from_cfg(cfg)
    keeper = KeepMetrics()
    runner.register_hook(keeper, priority='LOWEST')
    runner.train()
    if not keeper.metrics:  # no validation at the end of training
        keeper.metrics = runner.val()
    return {m: float(keeper.metrics[f'reid/{m}']) for m in METRICS}


def summarise(results, rows, seeds):
    """Markdown table of mean ± std over seeds, next to the paper."""
    head = ('| Row | Trick | R1 (%) | mAP (%) | mINP (%) '
            '| Paper R1 / mAP (Market-1501, R50) |')
    lines = [
        f'Synthetic BoT ablation, seeds {list(seeds)}: mean ± std '
        '(population std) over seeds; each row adds its trick to the one '
        'above.', '', head, '|' + '---|' * 6
    ]
    for index, name, _ in rows:
        runs = results[name]
        cells = []
        for m in METRICS:
            vals = np.array([r[m] for r in runs])
            cells.append(f'{vals.mean():.1f} ± {vals.std():.1f}')
        label, p_r1, p_map = PAPER.get(name, (name, None, None))
        paper = f'{p_r1} / {p_map}' if p_r1 is not None else '-'
        lines.append(f'| {index} | {label} | ' + ' | '.join(cells) +
                     f' | {paper} |')
    lines += [
        '', 'Row configs: `configs/ablation/bot-ablation<row>-<trick>_'
        'resnet18_1xb64-20e_synthetic-market1501.py`, each stating all six '
        'tricks.', '',
        'Paper column: Table 1 of Luo et al., "Bag of Tricks and A '
        'Strong Baseline for Deep Person Re-identification" (CVPRW 2019), '
        'Market-1501 with an ImageNet-pretrained ResNet-50; it is a '
        'reference, not a comparable number.'
    ]
    return '\n'.join(lines) + '\n'


def plot(results, rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = [PAPER.get(name, (name, ))[0] for _, name, _ in rows]
    x = np.arange(len(rows))
    width = 0.38
    fig, ax = plt.subplots(figsize=(1.2 * len(rows) + 2.5, 4.5))
    for k, m in enumerate(('R1', 'mAP')):
        vals = [[r[m] for r in results[name]] for _, name, _ in rows]
        ax.bar(
            x + (k - 0.5) * width, [np.mean(v) for v in vals],
            width,
            yerr=[np.std(v) for v in vals],
            capsize=3,
            label=m)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=20)
    ax.set_ylabel('%')
    runs = len(results[rows[0][1]])
    ax.set_title(f'BoT tricks, cumulative\n(synthetic data, {runs} seed(s))')
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args():
    parser = argparse.ArgumentParser(description='Run the BoT ablation')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--work-dir', default='work_dirs/ablation')
    parser.add_argument(
        '--rows', type=int, nargs='+', help='row indices (default: all)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every row, e.g. train_cfg.max_epochs=10')
    parser.add_argument(
        '--summary-only',
        action='store_true',
        help='do not train: rebuild the table and chart from the rows '
        'already in <work-dir>/ablation.json')
    return parser.parse_args()


def main():
    args = parse_args()
    rows = find_rows(args.rows)
    if not rows:
        raise SystemExit(f'no ablation row matches {args.rows}')
    json_path = osp.join(args.work_dir, 'ablation.json')
    if args.summary_only:
        with open(json_path) as f:
            results = json.load(f)
        rows = [row for row in rows if row[1] in results]
    else:
        results = run_rows(rows, args)
    table = summarise(results, rows, args.seeds)
    with open(osp.join(args.work_dir, 'ablation.md'), 'w') as f:
        f.write(table)
    plot(results, rows, osp.join(args.work_dir, 'ablation.png'))
    print(table)


def run_rows(rows, args):
    results = {}
    for index, name, config in rows:
        for seed in args.seeds:
            run_dir = osp.join(args.work_dir, f'{index}-{name}', f'seed{seed}')
            start = time.time()
            metrics = train_once(config, seed, run_dir, args.cfg_options)
            print(
                f'[ablation] row {index} {name} seed {seed}: '
                f'{metrics} ({time.time() - start:.0f} s)',
                flush=True)
            results.setdefault(name, []).append(metrics)
            # Raw numbers as they come, so a stopped run loses nothing.
            with open(osp.join(args.work_dir, 'ablation.json'), 'w') as f:
                json.dump(results, f, indent=1)
    return results


if __name__ == '__main__':
    main()
