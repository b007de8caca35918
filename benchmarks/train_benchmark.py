"""Training speed of the BoT model: runner overhead, precision, erasing cost.

The model is the one of ``configs/_base_/models/bot_resnet50.py`` (ResNet
with last stride 1, BNNeck, ReIDHead with label-smoothed ID, triplet and
center losses, 751 classes), built from our registry with random weights (no
download). The data are random uint8 images kept in memory, served by a
``DataLoader`` with the ``RandomIdentitySampler`` (P x K batches, K=4),
``pseudo_collate`` and no workers, so the timings hold no image decoding
(see ``pipeline_benchmark.py`` for that). The same loader feeds every path.

(a) Runner overhead, for each precision of ``--overhead-precisions``:

- ``bare loop``: written by hand: ``model.data_preprocessor``, forward in
  loss mode, sum of the losses, ``backward``, ``Adam.step`` (under
  ``torch.autocast`` and with a ``GradScaler`` for fp16, as usual);
- ``train_step``: mmengine's ``model.train_step(data, optim_wrapper)``;
- ``Runner.train``: a real ``Runner`` with the hooks of our configs (timer,
  logger every 50 iterations, param scheduler with ``WarmupMultiStepLR``,
  distributed sampler seed, ``CheckInvalidLossHook``; checkpoints off) and
  epoch-based training; skipped when mmengine would pick another device.

(b) Images per second through ``train_step`` in fp32 and mixed precision
(CUDA: mmengine's ``AmpOptimWrapper`` with fp16, and with
``dtype='bfloat16'``; CPU: our ``CPUBF16OptimWrapper``), in the default
memory format and in ``channels_last`` (model and input batch).

(c) Cost of ``BatchRandomErasing`` in ``ReIDDataPreprocessor`` on the device:
the preprocessor with and without it, and the transform alone, per batch.

Every iteration ends with a device synchronisation and is timed from the end
of the previous one (data fetch, hooks and all); the first ``--warmup``
iterations are dropped (cuDNN autotuning, allocator warm-up) and the median
of the next ``--iters`` is reported. Section (a) runs its three paths
``--rounds`` times, interleaved, so that clock and thermal drift fall on all
of them alike; it reports the median over the rounds and the range of the
per-round ratios, and splits an iteration of the bare loop and of the Runner
into data fetch, hooks before, the training step and hooks after.

Examples:
    python benchmarks/train_benchmark.py --device cuda
    python benchmarks/train_benchmark.py --device cpu --depth 18 \\
        --batch-size 16 --height 128 --width 64 --iters 5 --warmup 2 \\
        --rounds 1
"""
import argparse
import copy
import gc
import math
import os
import os.path as osp
import platform
import tempfile
import time
from typing import Dict, Iterator, List, Optional, Sequence

import mmengine
import mmpretrain
import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.device import get_device
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader, Dataset

from mmreid_tricks.datasets.samplers import RandomIdentitySampler
from mmreid_tricks.registry import MODELS
from mmreid_tricks.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_CONFIG = osp.join(REPO, 'configs', '_base_', 'models', 'bot_resnet50.py')
# The optimizer and schedule of configs/_base_/schedules/bot_adam_120e.py.
OPTIMIZER = dict(type='Adam', lr=3.5e-4, weight_decay=5e-4)
PARAM_SCHEDULER = dict(
    type='WarmupMultiStepLR',
    milestones=[40, 70],
    gamma=0.1,
    warmup_factor=0.01,
    warmup_length=10,
    warmup_method='linear',
    step_offset=1,
    by_epoch=True)
NUM_INSTANCES = 4  # K
AMP_DTYPES = dict(fp16=torch.float16, bf16=torch.bfloat16)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        choices=['cuda', 'cpu'],
        help='default: cuda if available')
    parser.add_argument(
        '--iters',
        type=int,
        default=50,
        help='timed iterations per run (default: 50)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=10,
        help='untimed iterations first (default: 10)')
    parser.add_argument(
        '--rounds',
        type=int,
        default=3,
        help='interleaved repetitions of section (a) '
        '(default: 3)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=64,
        help='P x K with K=4 (default: 64)')
    parser.add_argument(
        '--depth', type=int, default=50, choices=[18, 34, 50, 101, 152])
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--width', type=int, default=128)
    parser.add_argument('--num-classes', type=int, default=751)
    parser.add_argument(
        '--overhead-precisions',
        help='precisions of section (a), comma-separated (default: '
        'fp32,fp16 on cuda, fp32 on cpu)')
    parser.add_argument(
        '--precisions',
        help='precisions of section (b) (default: fp32,fp16,bf16 on cuda, '
        'fp32,bf16 on cpu)')
    parser.add_argument(
        '--no-channels-last',
        action='store_true',
        help='skip the channels_last runs of section (b)')
    parser.add_argument(
        '--sections', default='a,b,c', help='sections to run (default: a,b,c)')
    args = parser.parse_args(argv)
    if args.batch_size % NUM_INSTANCES:
        parser.error(f'--batch-size must be a multiple of K={NUM_INSTANCES}')
    if args.batch_size // NUM_INSTANCES > args.num_classes:
        parser.error('--batch-size / 4 identities exceed --num-classes')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda, but CUDA is not available')
    cuda = args.device == 'cuda'
    args.overhead_precisions = _names(
        args.overhead_precisions or ('fp32,fp16' if cuda else 'fp32'))
    args.precisions = _names(
        args.precisions or ('fp32,fp16,bf16' if cuda else 'fp32,bf16'))
    for p in args.overhead_precisions + args.precisions:
        if p not in ('fp32', 'fp16', 'bf16') or (p == 'fp16' and not cuda):
            parser.error(f'precision {p!r} is not available on '
                         f'{args.device}')
    args.sections = _names(args.sections)
    return args


def _names(text: str) -> List[str]:
    return [t.strip() for t in text.split(',') if t.strip()]


# ----------------------------------------------------------------- machine
def machine_lines(device: torch.device) -> List[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(
                line.split(':', 1)[1].strip() for line in f
                if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    lines = [
        f'python {platform.python_version()}, torch {torch.__version__} '
        f'(CUDA {torch.version.cuda}, cuDNN '
        f'{torch.backends.cudnn.version()}), mmengine '
        f'{mmengine.__version__}, mmpretrain {mmpretrain.__version__}',
        f'CPU: {cpu}; os.cpu_count()={os.cpu_count()}, torch threads='
        f'{torch.get_num_threads()}',
    ]
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        lines.append(f'device: {props.name}, {props.total_memory / 2**30:.0f} '
                     f'GiB; cudnn.benchmark='
                     f'{torch.backends.cudnn.benchmark}, TF32 conv='
                     f'{torch.backends.cudnn.allow_tf32}, TF32 matmul='
                     f'{torch.backends.cuda.matmul.allow_tf32}')
    else:
        lines.append('device: CPU')
    return lines


# -------------------------------------------------------------------- data
class InMemoryReIDData(Dataset):
    """Random uint8 images with identity labels, in the dataloader format.

    Identity ``i // K`` owns samples ``i * K .. i * K + K - 1``, so an epoch
    of the ``RandomIdentitySampler`` holds exactly ``num_batches`` batches.
    ``num_unique`` images are drawn and shared by all samples.

    Args:
        num_batches (int): Batches per epoch.
        batch_size (int): Images per batch, P x K.
        height (int): Image height.
        width (int): Image width.
        num_unique (int): Distinct images. Defaults to 64.
    """

    metainfo = dict(dataset_name='random uint8 images')

    def __init__(self,
                 num_batches: int,
                 batch_size: int,
                 height: int,
                 width: int,
                 num_unique: int = 64) -> None:
        gen = torch.Generator().manual_seed(0)
        self.images = torch.randint(
            0,
            256, (num_unique, 3, height, width),
            dtype=torch.uint8,
            generator=gen)
        num = num_batches * batch_size
        self.labels = np.arange(num) // NUM_INSTANCES
        self.samples = [
            DataSample().set_gt_label(int(label)) for label in self.labels
        ]

    def __len__(self) -> int:
        return len(self.labels)

    def get_gt_labels(self) -> np.ndarray:
        return self.labels

    def __getitem__(self, index: int) -> dict:
        return dict(
            inputs=self.images[index % len(self.images)],
            data_samples=self.samples[index])


def epoch_plan(args: argparse.Namespace) -> Dict[str, int]:
    """Batches per epoch and epochs to cover warmup + timed iterations."""
    total = args.warmup + args.iters
    max_batches = args.num_classes * NUM_INSTANCES // args.batch_size
    epochs = math.ceil(total / max_batches)
    return dict(batches=math.ceil(total / epochs), epochs=epochs)


def loader_cfg(dataset: Dataset, batch_size: int) -> dict:
    return dict(
        dataset=dataset,
        sampler=dict(
            type='RandomIdentitySampler',
            batch_size=batch_size,
            num_instances=NUM_INSTANCES,
            seed=0),
        batch_size=batch_size,
        num_workers=0,
        persistent_workers=False,
        collate_fn=dict(type='pseudo_collate'))


def batches(dataset: Dataset, batch_size: int) -> Iterator[dict]:
    """Endless batches, epoch after epoch, as the runner's loader gives."""
    sampler = RandomIdentitySampler(
        dataset, batch_size, num_instances=NUM_INSTANCES, seed=0)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=0,
        collate_fn=pseudo_collate)
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


# ------------------------------------------------------------------- model
def model_cfg(args: argparse.Namespace) -> dict:
    """The BoT model config at ``--depth``, random init."""
    cfg = copy.deepcopy(Config.fromfile(MODEL_CONFIG).model.to_dict())
    channels = 512 if args.depth < 50 else 2048
    cfg['backbone'].update(depth=args.depth, init_cfg=None)
    cfg['neck'].update(in_channels=channels)
    cfg['head'].update(in_channels=channels, num_classes=args.num_classes)
    return cfg


def optim_wrapper_cfg(precision: str, device: torch.device) -> dict:
    if precision == 'fp32':
        return dict(type='OptimWrapper', optimizer=dict(OPTIMIZER))
    if device.type == 'cpu':  # bf16 only
        return dict(type='CPUBF16OptimWrapper', optimizer=dict(OPTIMIZER))
    dtype = 'float16' if precision == 'fp16' else 'bfloat16'
    return dict(type='AmpOptimWrapper', dtype=dtype, optimizer=dict(OPTIMIZER))


# ------------------------------------------------------------------ timing
def mark(device: torch.device) -> float:
    """The time once the device has finished all queued work."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return time.perf_counter()


def summarise(marks: Sequence[float], warmup: int,
              batch_size: int) -> Dict[str, float]:
    """Median and mean iteration time (ms) and images/s, after warmup."""
    times = np.diff(np.asarray(marks))[warmup:]
    median = float(np.median(times))
    return dict(
        median_ms=median * 1e3,
        mean_ms=float(times.mean()) * 1e3,
        img_s=batch_size / median,
        n=len(times))


def release(device: torch.device) -> None:
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gib(device: torch.device) -> float:
    if device.type != 'cuda':
        return float('nan')
    return torch.cuda.max_memory_allocated(device) / 2**30


class IterClock(Hook):
    """Mark the time at the start of every training iteration's
    ``before_train_iter`` hooks (data fetched, no synchronisation) and,
    synchronised, at the end of its ``after_train_iter`` hooks.

    Two instances, at the highest and lowest priorities, bracket the other
    hooks: ``first`` marks before them, ``last`` after them.
    """

    def __init__(self, device: torch.device, first: bool) -> None:
        self.priority = 'HIGHEST' if first else 'LOWEST'
        self.first = first
        self.device = device
        self.before: List[float] = []
        self.after: List[float] = []

    def before_train(self, runner) -> None:
        if not self.first:
            self.after.append(mark(self.device))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.before.append(time.perf_counter())

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        self.after.append(mark(self.device))


def stage_ms(warmup: int, **marks: Sequence[float]) -> Dict[str, float]:
    """Median ms of each stage between consecutive marks of an iteration.

    Args:
        warmup (int): Iterations dropped.
        **marks: Ordered stage name -> times ending that stage, one per
            iteration; the first entry (``start``) holds one more time,
            the end of the previous iteration.
    """
    names = list(marks)
    stages = {}
    prev = np.asarray(marks[names[0]][:-1])
    for name in names[1:]:
        cur = np.asarray(marks[name][:len(prev)])
        stages[name] = float(np.median((cur - prev)[warmup:])) * 1e3
        prev = cur
    return stages


class Bench:
    """Runs of one configuration of the benchmark."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = torch.device(args.device)
        plan = epoch_plan(args)
        self.epochs = plan['epochs']
        self.dataset = InMemoryReIDData(plan['batches'], args.batch_size,
                                        args.height, args.width)
        self.total = args.warmup + args.iters
        self._train_step: Dict[tuple, Dict[str, float]] = {}

    def build_model(self, channels_last: bool = False) -> nn.Module:
        torch.manual_seed(0)
        model = MODELS.build(
            dict(model_cfg(self.args), channels_last=channels_last))
        return model.to(self.device).train()

    def bare(self, precision: str) -> Dict[str, float]:
        """The hand-written loop."""
        release(self.device)
        model = self.build_model()
        optimizer = torch.optim.Adam(
            model.parameters(),
            lr=OPTIMIZER['lr'],
            weight_decay=OPTIMIZER['weight_decay'])
        dtype = AMP_DTYPES.get(precision)
        scaler = (
            torch.amp.GradScaler(self.device.type)
            if precision == 'fp16' else None)
        data_iter = batches(self.dataset, self.args.batch_size)
        marks, fetched = [mark(self.device)], []
        for _ in range(self.total):
            data = next(data_iter)
            fetched.append(time.perf_counter())
            with torch.autocast(
                    self.device.type, dtype=dtype, enabled=dtype is not None):
                data = model.data_preprocessor(data, True)
                losses = model(**data, mode='loss')
                loss = sum(v for k, v in losses.items() if 'loss' in k)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            marks.append(mark(self.device))
        stats = summarise(marks, self.args.warmup, self.args.batch_size)
        stats['peak_gib'] = peak_gib(self.device)
        stats['stages'] = stage_ms(
            self.args.warmup, start=marks, data=fetched, step=marks[1:])
        return stats

    def train_step(self,
                   precision: str,
                   channels_last: bool = False,
                   cached: bool = True) -> Dict[str, float]:
        """mmengine's ``train_step`` with an optimizer wrapper.

        Args:
            channels_last (bool): Build the model with
                ``ReIDModel(channels_last=True)``.
            cached (bool): Return the first result of this configuration
                if there is one, instead of running again.
        """
        key = (precision, channels_last)
        if cached and key in self._train_step:
            return self._train_step[key]
        release(self.device)
        model = self.build_model(channels_last)
        optim_wrapper = build_optim_wrapper(
            model, optim_wrapper_cfg(precision, self.device))
        data_iter = batches(self.dataset, self.args.batch_size)
        marks = [mark(self.device)]
        for _ in range(self.total):
            model.train_step(next(data_iter), optim_wrapper)
            marks.append(mark(self.device))
        stats = summarise(marks, self.args.warmup, self.args.batch_size)
        stats['peak_gib'] = peak_gib(self.device)
        self._train_step.setdefault(key, stats)
        return stats

    def runner(self, precision: str) -> Optional[Dict[str, float]]:
        """``Runner.train()`` with our configs' hooks; None if mmengine
        would train on another device."""
        if get_device() != self.device.type:
            return None
        release(self.device)
        first = IterClock(self.device, first=True)
        clock = IterClock(self.device, first=False)
        with tempfile.TemporaryDirectory(prefix='train_bench_') as work_dir:
            runner = Runner(
                model=model_cfg(self.args),
                work_dir=work_dir,
                experiment_name=f'train_benchmark_{precision}_{id(clock)}',
                train_dataloader=loader_cfg(self.dataset,
                                            self.args.batch_size),
                train_cfg=dict(by_epoch=True, max_epochs=self.epochs),
                optim_wrapper=optim_wrapper_cfg(precision, self.device),
                param_scheduler=dict(PARAM_SCHEDULER),
                default_hooks=dict(
                    timer=dict(type='IterTimerHook'),
                    logger=dict(type='LoggerHook', interval=50),
                    param_scheduler=dict(type='ParamSchedulerHook'),
                    checkpoint=dict(
                        type='CheckpointHook', interval=-1, save_last=False),
                    sampler_seed=dict(type='DistSamplerSeedHook')),
                custom_hooks=[first,
                              dict(type='CheckInvalidLossHook'), clock],
                default_scope='mmreid_tricks',
                env_cfg=dict(
                    cudnn_benchmark=True,
                    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0)),
                log_processor=dict(by_epoch=True),
                visualizer=dict(
                    type='Visualizer',
                    vis_backends=[dict(type='LocalVisBackend')]),
                randomness=dict(seed=0),
                log_level='WARNING')
            runner.train()
            del runner
        total = self.total
        marks = clock.after[:total + 1]
        stats = summarise(marks, self.args.warmup, self.args.batch_size)
        stats['peak_gib'] = peak_gib(self.device)
        stats['stages'] = stage_ms(
            self.args.warmup,
            start=marks,
            data=first.before[:total],
            hooks_before=clock.before[:total],
            step=first.after[:total],
            hooks_after=marks[1:])
        return stats

    def preprocessor_ms(self) -> Dict[str, float]:
        """Median ms per batch of the preprocessor with and without
        ``BatchRandomErasing``, and of the transform alone."""
        norm = dict(
            type='ReIDDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            to_rgb=True)
        plain = MODELS.build(dict(norm)).to(self.device)
        erasing = MODELS.build(
            dict(norm, batch_transforms=[dict(type='BatchRandomErasing')]))
        erasing = erasing.to(self.device)
        data = next(batches(self.dataset, self.args.batch_size))
        inputs = plain(data, True)['inputs']
        transform = erasing.batch_transforms[0]
        calls = dict(
            plain=lambda: plain(data, True),
            erasing=lambda: erasing(data, True),
            transform=lambda: transform(inputs, None))
        out = {}
        for name, call in calls.items():
            marks = [mark(self.device)]
            for _ in range(self.total):
                call()
                marks.append(mark(self.device))
            out[name] = summarise(marks, self.args.warmup, 1)['median_ms']
        return out


# ------------------------------------------------------------------ report
def precision_label(precision: str, device: torch.device) -> str:
    if precision == 'fp32':
        return 'fp32'
    if device.type == 'cpu':
        return 'bf16 (CPUBF16OptimWrapper)'
    dtype = 'float16' if precision == 'fp16' else 'bfloat16'
    return f'{precision} (AmpOptimWrapper dtype={dtype})'


def row(name: str, stats: Dict[str, float], ref: float) -> str:
    mem = stats.get('peak_gib', float('nan'))
    mem = f'{mem:>8.2f}' if not math.isnan(mem) else f'{"-":>8}'
    return (f'  {name:<44} {stats["median_ms"]:>9.1f} '
            f'{stats["mean_ms"]:>8.1f} {stats["img_s"]:>8.0f} '
            f'{stats["median_ms"] / ref:>7.3f} {mem}')


OVERHEAD_PATHS = (('bare PyTorch loop', 'bare'),
                  ('model.train_step(data, optim_wrapper)', 'train_step'),
                  ('Runner.train (hooks of our configs)', 'runner'))


def overhead_rounds(bench: Bench, precision: str,
                    rounds: int) -> Dict[str, List[Dict[str, float]]]:
    """Section (a)'s paths, run one after the other ``rounds`` times."""
    runs = {key: [] for _, key in OVERHEAD_PATHS}
    for _ in range(rounds):
        runs['bare'].append(bench.bare(precision))
        runs['train_step'].append(bench.train_step(precision, cached=False))
        stats = bench.runner(precision)
        if stats is not None:
            runs['runner'].append(stats)
    return runs


def merge_rounds(runs: List[Dict[str, float]]) -> Dict[str, float]:
    """Median over rounds of the per-round medians (and of each stage)."""
    median_ms = float(np.median([run['median_ms'] for run in runs]))
    merged = dict(
        median_ms=median_ms,
        mean_ms=float(np.mean([run['mean_ms'] for run in runs])),
        img_s=runs[0]['img_s'] * runs[0]['median_ms'] / median_ms,
        peak_gib=max(run['peak_gib'] for run in runs))
    if 'stages' in runs[0]:
        merged['stages'] = {
            stage: float(np.median([run['stages'][stage] for run in runs]))
            for stage in runs[0]['stages']
        }
    return merged


HEADER = (f'  {"path":<44} {"ms/iter":>9} {"mean":>8} {"img/s":>8} '
          f'{"ratio":>7} {"peakGiB":>8}')


def main(argv=None) -> None:
    args = parse_args(argv)
    register_all_modules()
    torch.backends.cudnn.benchmark = True
    bench = Bench(args)
    device = bench.device
    start = time.perf_counter()

    print('Training benchmark of the BoT model')
    for line in machine_lines(device):
        print('  ' + line)
    print(f'  model: ResNet-{args.depth} last stride 1 + BNNeck + ReIDHead '
          f'(ID + triplet + center), {args.num_classes} classes, random init')
    print(f'  data: random uint8 {args.height}x{args.width}, batch '
          f'{args.batch_size} (P={args.batch_size // NUM_INSTANCES} x '
          f'K={NUM_INSTANCES}), in memory; {args.warmup} warmup + '
          f'{args.iters} timed iterations per run, median reported')

    if 'a' in args.sections:
        print('\n(a) Runner overhead: ratio = median ms/iter over the bare '
              'loop (goal: Runner <= 1.05)')
        for precision in args.overhead_precisions:
            print(f'\n  precision: {precision_label(precision, device)}, '
                  f'{args.rounds} round(s)')
            print(HEADER + f' {"round ratios":>14}')
            runs = overhead_rounds(bench, precision, args.rounds)
            if not runs['runner']:
                del runs['runner']
            merged = {key: merge_rounds(stats) for key, stats in runs.items()}
            ref = merged['bare']['median_ms']
            for name, key in OVERHEAD_PATHS:
                if key not in merged:
                    print(f'  Runner.train skipped: mmengine would train on '
                          f'{get_device()}, not {args.device}')
                    continue
                ratios = [
                    run['median_ms'] / bare['median_ms']
                    for run, bare in zip(runs[key], runs['bare'])
                ]
                print(
                    row(name, merged[key], ref) +
                    f' {min(ratios):>6.3f}-{max(ratios):.3f}')
            for key in ('bare', 'runner'):
                if key in merged:
                    stages = ', '.join(
                        f'{stage.replace("_", " ")} {ms:.2f}'
                        for stage, ms in merged[key]['stages'].items())
                    print(f'  stages of {key} (median ms): {stages}')

    if 'b' in args.sections:
        print('\n(b) Precision and memory format, through train_step: '
              'ratio = ms/iter over fp32')
        print(HEADER)
        ref = None
        for precision in args.precisions:
            formats = [False] if args.no_channels_last else [False, True]
            for channels_last in formats:
                stats = bench.train_step(precision, channels_last)
                ref = ref or stats['median_ms']
                name = precision_label(precision, device)
                if channels_last:
                    name += ', channels_last'
                print(row(name, stats, ref))

    if 'c' in args.sections:
        ms = bench.preprocessor_ms()
        step = bench._train_step.get(('fp32', False))
        print('\n(c) BatchRandomErasing (p=0.5, fill=mean) in '
              'ReIDDataPreprocessor, per batch on the device')
        print(f'  {"op":<56} {"ms/batch":>9}')
        print(
            f'  {"ReIDDataPreprocessor (uint8 list -> normalised batch)":<56}'
            f' {ms["plain"]:>9.3f}')
        print(f'  {"ReIDDataPreprocessor + BatchRandomErasing":<56}'
              f' {ms["erasing"]:>9.3f}')
        print(f'  {"BatchRandomErasing alone (normalised batch)":<56}'
              f' {ms["transform"]:>9.3f}')
        if step is not None:
            print(f'  erasing = {ms["transform"] / step["median_ms"]:.2%} '
                  f'of an fp32 train_step ({step["median_ms"]:.1f} ms)')
    print(f'\ntotal time {time.perf_counter() - start:.0f} s')


if __name__ == '__main__':
    main()
