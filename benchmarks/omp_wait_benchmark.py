"""How torch's idle OpenMP threads should wait, on an idle and a busy machine.

Times one training step of the demo model (``CONFIG``: half-width
ResNet-18, a batch of 64 random 128x64 images, ID + triplet + center losses,
``model.train_step`` with its optimizer) under each way libgomp can wait,
each in a process of its own (libgomp reads its settings at start):

- ``spin 300000``: libgomp's default when nothing is set;
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE``, threads sleep at once;
- ``spin 10000``: ``GOMP_SPINCOUNT=10000``, what ``tools/train.py`` and
  ``tools/test.py`` set unless the user chose;
- ``1 thread``: ``OMP_NUM_THREADS=1`` (loaded machine only).

With ``--busy N`` the same runs happen beside N processes that spin on the
CPU, as on a shared machine. Prints the median wall time of a step and the
CPU time it used (all threads).

Example:
    python benchmarks/omp_wait_benchmark.py --busy 0 6
"""
import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time

SETTINGS = {
    'spin 300000': dict(GOMP_SPINCOUNT='300000'),
    'passive': dict(OMP_WAIT_POLICY='PASSIVE'),
    'spin 10000': dict(GOMP_SPINCOUNT='10000'),
    '1 thread': dict(OMP_NUM_THREADS='1'),
}
CONFIG = 'configs/strong_baseline_synthetic.py'


def worker(steps: int, warmup: int) -> None:
    """Time training steps in this process; print one JSON line."""
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    from mmreid_tricks.registry import MODELS
    from mmreid_tricks.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(CONFIG)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    images = torch.randint(0, 256, (64, 3, 128, 64), dtype=torch.uint8)
    samples = [DataSample().set_gt_label(i // 4) for i in range(64)]
    data = dict(inputs=list(images), data_samples=samples)
    walls, cpus = [], []
    for step in range(warmup + steps):
        wall, cpu = time.perf_counter(), time.process_time()
        model.train_step(data, optim_wrapper)
        if step >= warmup:
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    print(
        json.dumps(
            dict(
                wall=statistics.median(walls),
                cpu=statistics.median(cpus),
                threads=torch.get_num_threads())))


def spin() -> None:
    while True:
        pass


def run(name: str, args: argparse.Namespace) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'OMP_NUM_THREADS')
    }
    env.update(SETTINGS[name])
    out = subprocess.run([
        sys.executable, __file__, '--worker', '--steps',
        str(args.steps), '--warmup',
        str(args.warmup)
    ],
                         env=env,
                         check=True,
                         capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--busy', type=int, nargs='+', default=[0, 6])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument(
        '--worker', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.steps, args.warmup)
        return
    print(f'one training step of {CONFIG}, batch 64 at 128x64; '
          f'os.cpu_count()={os.cpu_count()}; load average '
          f'{os.getloadavg()[0]:.1f} at start; median of {args.steps} steps')
    for busy in args.busy:
        spinners = [mp.Process(target=spin, daemon=True) for _ in range(busy)]
        for proc in spinners:
            proc.start()
        try:
            for name in SETTINGS:
                if name == '1 thread' and not busy:
                    continue
                res = run(name, args)
                print(
                    f'{busy} busy processes  {name:12s} {res["wall"]:.3f} s '
                    f'a step ({res["cpu"]:.2f} CPU-s, '
                    f'{res["threads"]} torch threads)',
                    flush=True)
        finally:
            for proc in spinners:
                proc.terminate()


if __name__ == '__main__':
    main()
