"""Benchmark k-reciprocal re-ranking against the original dense algorithm.

Each method runs in its own process, so that its peak resident memory
(``ru_maxrss``, which also counts torch's allocations, unlike tracemalloc)
is its own; both processes import the same modules and build the same
problem first. The results are then compared in this process: largest
absolute difference, and CMC/mAP of both rankings. The problem is a
deterministic one in the proportions of Market-1501's test split (or
MSMT17's, ``--layout msmt17``): the same numbers of queries, gallery images,
identities, distractors and cameras at full size; clustered random
features.

"original" is the dense reference of
``benchmarks/rerank_reference.py``; by default its
distances are float64 rounded to float32, so that its neighbour order does
not hang on BLAS rounding; ``--inexact-original`` computes them in float32
as the widely used implementation does (then a few near-tie rows differ).

``--device cuda`` runs our two workers on the GPU (the original stays on
the CPU): their times are then GPU times, the features already on the GPU,
and their peak GPU memory is reported beside the process's peak RSS.

``--repeats R`` runs every method in ``R`` processes, in rounds (each
method once per round), and reports each method's fastest: on the 2-core
machine of the results, the same run of ours took 2.9 to 3.4 s at Market's
size within one hour.

On a shared machine, prefer ``--threads 1``: when other processes keep the
cores busy, multi-threaded torch operators wait for descheduled threads and
lose far more time than numpy's mostly single-threaded loops.

Example::

    python benchmarks/rerank_benchmark.py --sizes 10000 19281 --threads 2
    python benchmarks/rerank_benchmark.py --sizes 93820 --layout msmt17 \
        --threads 2

At 93,820 images (with ``--layout msmt17``, MSMT17's 11,659 queries and
82,161 gallery images) the original is skipped (it needs about 120 GB) and
so is our full ``Q x G`` matrix; the chunked metrics path runs alone. The
last column is the time of the float32 products behind all ``N x N``
distances, the floor of any dense approach.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Dict, Optional

import numpy as np
import torch
from matmul_floor import matmul_floor  # beside this file
from rerank_reference import k_reciprocal_rerank_dense

from mmreid_tricks.evaluation.functional import (rank_metrics,
                                                 rank_metrics_from_features)
from mmreid_tricks.evaluation.functional.rerank import (k_reciprocal_rerank,
                                                        k_reciprocal_rerank_fn)
from mmreid_tricks.evaluation.functional.rerank_products import fast_int8

METHODS = ('original', 'ours', 'ours_metrics')
# The original with float32 distances computed by numpy and by torch.
FLOAT32_ORIGINALS = ('original_f32_numpy', 'original_f32_torch')
# Test splits: queries, gallery images, distractors among them, identities,
# cameras. Market-1501: 3368 + 15913 images (2793 distractors), 750
# identities, 6 cameras; MSMT17: 11659 + 82161 images, 3060 identities, 15
# cameras.
LAYOUTS = dict(
    market=dict(query=3368, gallery=15913, distractor=2793, ids=750, cams=6),
    msmt17=dict(query=11659, gallery=82161, distractor=0, ids=3060, cams=15))


def clustered_problem(num_images: int = 19281,
                      dim: int = 512,
                      id_scale: float = 0.5,
                      cam_scale: float = 0.3,
                      seed: int = 0,
                      layout: str = 'market') -> Dict[str, np.ndarray]:
    """Clustered features with a real test split's proportions.

    Every identity has a Gaussian centre, every camera an offset and every
    image Gaussian noise; distractors (pid 0) are single images. A common
    positive mean imitates post-ReLU embeddings.

    Args:
        num_images (int): Q + G; the split follows Market-1501's ratios.
        dim (int): Feature dimension.
        id_scale (float): Std of the identity centres (noise std is 1).
        cam_scale (float): Std of the camera offsets.
        seed (int): Seed of the generator.
        layout (str): Whose proportions: a key of ``LAYOUTS``.

    Returns:
        dict: ``query``/``gallery`` float32 features ``[Q, D]``/``[G, D]``,
        and int64 ``q_pids``, ``g_pids``, ``q_camids``, ``g_camids``.
    """
    rng = np.random.default_rng(seed)
    split = LAYOUTS[layout]
    num_cams = split['cams']
    scale = num_images / (split['query'] + split['gallery'])
    num_q = max(1, round(split['query'] * scale))
    num_g = num_images - num_q
    num_ids = max(1, round(split['ids'] * scale))
    num_distractor = round(split['distractor'] * scale)
    q_pids = np.arange(num_q) % num_ids + 1
    g_pids = np.concatenate([
        np.arange(num_g - num_distractor) % num_ids + 1,
        np.zeros(num_distractor, np.int64)
    ])
    q_camids = rng.integers(0, num_cams, num_q)
    g_camids = rng.integers(0, num_cams, num_g)

    centres = rng.normal(0, id_scale, (num_ids + 1, dim))
    cams = rng.normal(0, cam_scale, (num_cams, dim))

    def features(pids: np.ndarray, camids: np.ndarray) -> np.ndarray:
        feats = centres[pids] + cams[camids] + rng.normal(
            0, 1, (len(pids), dim))
        # Distractors: one random identity each.
        distractor = pids == 0
        feats[distractor] += rng.normal(0, id_scale,
                                        (int(distractor.sum()), dim))
        return (feats + 2).astype(np.float32)

    return dict(
        query=features(q_pids, q_camids),
        gallery=features(g_pids, g_camids),
        q_pids=q_pids,
        g_pids=g_pids,
        q_camids=q_camids,
        g_camids=g_camids)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[2000, 5000, 10000, 19281],
        help='numbers of images Q + G (Market-1501 test: 19281)')
    parser.add_argument(
        '--dim',
        type=int,
        default=2048,
        help='feature dimension (the strong baseline\'s test feature: 2048)')
    parser.add_argument(
        '--no-l2-normalize',
        action='store_true',
        help='keep the raw clustered features instead of L2-normalising '
        'them, as the strong baseline\'s test does')
    parser.add_argument(
        '--layout',
        choices=sorted(LAYOUTS),
        default='market',
        help='proportions of the problem\'s split (queries, gallery, '
        'identities, cameras): Market-1501\'s or MSMT17\'s, whose full '
        'size is 93820 = 11659 + 82161')
    parser.add_argument('--k1', type=int, default=20)
    parser.add_argument('--k2', type=int, default=6)
    parser.add_argument('--lambda-value', type=float, default=0.3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--original-max-size',
        type=int,
        default=19281,
        help='skip the original algorithm above this size (it needs about '
        '14 N^2 bytes: 5 GB at Market size, 120 GB at MSMT17 size)')
    parser.add_argument(
        '--full-max-size',
        type=int,
        default=19281,
        help='above this size, unless the original runs, skip our full '
        'Q x G matrix (Q G floats) and run only the chunked metrics path')
    parser.add_argument(
        '--threads',
        type=int,
        default=0,
        help='threads of torch and of numpy\'s BLAS in both workers '
        '(0: the libraries\' defaults)')
    parser.add_argument(
        '--inexact-original',
        action='store_true',
        help='let the original compute its distances in float32, as the '
        'widely used implementation does, instead of float64 rounded to '
        'float32 (its neighbour order then depends on BLAS rounding)')
    parser.add_argument(
        '--device',
        default='cpu',
        help='device of our re-ranking (default: cpu); the original always '
        'runs on the CPU')
    parser.add_argument(
        '--arithmetic',
        choices=['auto', 'int8', 'float32'],
        default='auto',
        help='products of our neighbour search (default: auto, int8 on CPUs '
        'with AMX, else float32)')
    parser.add_argument(
        '--repeats',
        type=int,
        default=1,
        help='rounds of processes; each method\'s fastest is reported '
        '(default: 1)')
    parser.add_argument(
        '--float32-originals',
        action='store_true',
        help='also run the original twice with float32 distances, computed '
        'by numpy and by torch, and compare them with each other and with '
        'ours')
    # Internal: run one method in this process.
    parser.add_argument(
        '--worker',
        choices=METHODS + FLOAT32_ORIGINALS,
        help=argparse.SUPPRESS)
    parser.add_argument('--size', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    return parser.parse_args()


def rss_bytes() -> int:
    """Current resident memory of this process."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def run_worker(args) -> None:
    """Run one method, print its time and memory as JSON."""
    problem = make_problem(args, args.size)
    query, gallery = problem['query'], problem['gallery']
    params = (args.k1, args.k2, args.lambda_value)
    threads = torch.get_num_threads()
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    query_t = torch.from_numpy(query).to(device)
    gallery_t = torch.from_numpy(gallery).to(device)
    if cuda:
        # CUDA context and kernels loaded outside the timing.
        k_reciprocal_rerank(query_t[:64], gallery_t[:256], *params)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    base = rss_bytes()
    start, cpu_start = time.perf_counter(), time.process_time()
    if args.worker == 'original':
        result = k_reciprocal_rerank_dense(
            query, gallery, *params, exact=not args.inexact_original)
    elif args.worker in FLOAT32_ORIGINALS:
        result = k_reciprocal_rerank_dense(
            query,
            gallery,
            *params,
            exact=False,
            float32_backend=args.worker.rsplit('_', 1)[1])
    elif args.worker == 'ours':
        result = k_reciprocal_rerank(
            query_t, gallery_t, *params, arithmetic=arithmetic(args))
    else:  # metrics straight from row chunks, no Q x G matrix
        rows_fn = k_reciprocal_rerank_fn(
            query_t, gallery_t, *params, arithmetic=arithmetic(args))
        result = rank_metrics(
            rows_fn, *[
                torch.from_numpy(problem[k])
                for k in ('q_pids', 'g_pids', 'q_camids', 'g_camids')
            ])
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    if args.worker == 'ours':
        result = result.cpu().numpy()
    cpu_seconds = time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if args.worker == 'ours_metrics':
        result = np.array([result['mAP'], *result['cmc'][:10].tolist()])
    np.save(args.out, result)
    print(
        json.dumps(
            dict(
                seconds=seconds,
                cpu_seconds=cpu_seconds,
                peak=peak,
                gpu_peak=torch.cuda.max_memory_allocated() if cuda else 0,
                base=base,
                threads=threads)))


def arithmetic(args) -> Optional[str]:
    """Our ``arithmetic`` argument: None for auto."""
    return None if args.arithmetic == 'auto' else args.arithmetic


def resolved_arithmetic(args) -> str:
    """What our search computes its products with, for the header."""
    if args.arithmetic != 'auto':
        return args.arithmetic
    return 'int8 (auto)' if fast_int8(torch.device(
        args.device)) else 'float32 (auto)'


def run_method(args, method: str, size: int, out: str) -> dict:
    cmd = [
        sys.executable,
        os.path.abspath(__file__), '--worker', method, '--size',
        str(size), '--out', out, '--dim',
        str(args.dim), '--k1',
        str(args.k1), '--k2',
        str(args.k2), '--lambda-value',
        str(args.lambda_value), '--seed',
        str(args.seed), '--layout', args.layout, '--device',
        'cpu' if method.startswith('original') else args.device,
        '--arithmetic', args.arithmetic
    ] + (['--inexact-original'] if args.inexact_original else
         []) + (['--no-l2-normalize'] if args.no_l2_normalize else [])
    env = dict(os.environ)
    if args.threads:
        for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS',
                    'OPENBLAS_NUM_THREADS'):
            env[var] = str(args.threads)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def metrics(dist: np.ndarray, problem: dict) -> dict:
    return rank_metrics(
        torch.from_numpy(dist), *[
            torch.from_numpy(problem[k])
            for k in ('q_pids', 'g_pids', 'q_camids', 'g_camids')
        ])


def main() -> None:
    args = parse_args()
    if args.worker:
        run_worker(args)
        return
    print(f'k1={args.k1} k2={args.k2} lambda={args.lambda_value} '
          f'D={args.dim} layout={args.layout} '
          f'{"raw" if args.no_l2_normalize else "L2-normalised"} features '
          f'threads={args.threads or "default"} '
          f'device={args.device} '
          f'arithmetic={resolved_arithmetic(args)} '
          f'load average={os.getloadavg()[0]:.1f} '
          f'best of {args.repeats} process(es) per method '
          f'original distances: '
          f'{"float32" if args.inexact_original else "float64->float32"}')
    header = (f'{"N":>6} {"Q":>5} {"G":>6} | {"original s":>10} '
              f'{"peak GB":>7} | {"ours s":>7} {"peak GB":>7} '
              f'{"metrics-only s":>14} {"peak GB":>7} | {"speed-up":>8} '
              f'{"mem ratio":>9} | {"max|diff|":>9} {"mAP orig":>8} '
              f'{"mAP ours":>8} {"R1 orig":>7} {"R1 ours":>7} '
              f'{"mAP plain":>9} | {"matmul floor s":>14}')
    print(header)
    print('-' * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            problem = make_problem(args, size)
            runs, results = {}, {}
            for _ in range(args.repeats):
                for method in METHODS:
                    if method == 'original' and size > args.original_max_size:
                        continue
                    if method == 'ours' and size > max(args.full_max_size,
                                                       args.original_max_size):
                        continue  # compared with the original when it runs
                    out = os.path.join(tmp, f'{method}_{size}.npy')
                    run = run_method(args, method, size, out)
                    if method not in runs or (run['seconds']
                                              < runs[method]['seconds']):
                        runs[method] = run
                    results[method] = np.load(out)
            fast = runs['ours_metrics']
            # Without the full matrix, "ours" is the chunked metrics path.
            ours = runs.get('ours', fast)
            if 'ours' in results:
                mine = metrics(results['ours'], problem)
                # The metrics-only path must agree with the full matrix.
                assert abs(results['ours_metrics'][0] - mine['mAP']) < 1e-6
            else:
                mine = dict(
                    mAP=float(results['ours_metrics'][0]),
                    cmc=torch.from_numpy(results['ours_metrics'][1:]))
            plain = rank_metrics_from_features(*[
                torch.from_numpy(problem[k])
                for k in ('query', 'gallery', 'q_pids', 'g_pids', 'q_camids',
                          'g_camids')
            ])
            floor = matmul_floor(size, size, args.dim, args.threads)
            line = (f'{size:6d} {len(problem["query"]):5d} '
                    f'{len(problem["gallery"]):6d} | ')
            if 'original' in runs:
                orig = runs['original']
                theirs = metrics(results['original'], problem)
                diff = np.abs(results['original'] - results['ours']).max()
                line += (f'{orig["seconds"]:10.1f} {orig["peak"] / 1e9:7.2f}'
                         f' | ')
            else:
                line += f'{"-":>10} {"-":>7} | '
            line += (f'{ours["seconds"]:7.2f} {ours["peak"] / 1e9:7.2f} '
                     f'{fast["seconds"]:14.2f} {fast["peak"] / 1e9:7.2f} | ')
            if 'original' in runs:
                line += (f'{orig["seconds"] / ours["seconds"]:7.1f}x '
                         f'{orig["peak"] / ours["peak"]:8.1f}x | '
                         f'{diff:9.1e} {theirs["mAP"]:8.4f} '
                         f'{mine["mAP"]:8.4f} {theirs["cmc"][0]:7.4f} '
                         f'{mine["cmc"][0]:7.4f} ')
            else:
                line += (f'{"-":>8} {"-":>9} | {"-":>9} {"-":>8} '
                         f'{mine["mAP"]:8.4f} {"-":>7} '
                         f'{mine["cmc"][0]:7.4f} ')
            print(line + f'{plain["mAP"]:9.4f} | {floor:14.2f}', flush=True)
            if args.device != 'cpu':
                print(f'{"":>6} ours on {args.device}: peak device memory '
                      f'{ours["gpu_peak"] / 1e9:.2f} GB, metrics-only '
                      f'{fast["gpu_peak"] / 1e9:.2f} GB')
            if 'original' in runs:
                cmc_diff = (theirs['cmc'] - mine['cmc']).abs().max()
                print(f'{"":>6} |mAP diff| = '
                      f'{abs(theirs["mAP"] - mine["mAP"]):.1e}, '
                      f'max |CMC diff| = {cmc_diff:.1e}, '
                      f'peak - RSS before the call, original/ours/metrics-'
                      f'only: {(orig["peak"] - orig["base"]) / 1e9:.2f}/'
                      f'{(ours["peak"] - ours["base"]) / 1e9:.2f}/'
                      f'{(fast["peak"] - fast["base"]) / 1e9:.2f} GB, '
                      f'torch threads: {ours["threads"]}')
                if args.float32_originals:
                    float32_line(args, size, problem, results['ours'], tmp)
                print(f'{"":>6} CPU time (all threads) original/ours/'
                      f'metrics-only: {orig["cpu_seconds"]:.1f}/'
                      f'{ours["cpu_seconds"]:.2f}/{fast["cpu_seconds"]:.2f}'
                      f' s, speed-up in CPU time '
                      f'{orig["cpu_seconds"] / ours["cpu_seconds"]:.1f}x')


def float32_line(args, size: int, problem: dict, ours: np.ndarray,
                 tmp: str) -> None:
    """Print how two float32 runs of the original differ, and from ours."""
    runs = {}
    for method in FLOAT32_ORIGINALS:
        out = os.path.join(tmp, f'{method}_{size}.npy')
        run_method(args, method, size, out)
        runs[method] = np.load(out)
    with_numpy, with_torch = (runs[m] for m in FLOAT32_ORIGINALS)
    mine = metrics(ours, problem)
    theirs = [metrics(d, problem) for d in (with_numpy, with_torch)]
    map_diff = max(abs(t['mAP'] - mine['mAP']) for t in theirs)
    cmc_diff = max(float((t['cmc'] - mine['cmc']).abs().max()) for t in theirs)
    print(f'{"":>6} original in float32, numpy vs torch: max|diff| '
          f'{np.abs(with_numpy - with_torch).max():.1e}, '
          f'{(np.abs(with_numpy - with_torch) > 1e-4).any(1).sum()} query '
          f'rows differ by > 1e-4; vs ours: '
          f'{np.abs(with_numpy - ours).max():.1e} / '
          f'{np.abs(with_torch - ours).max():.1e}, |mAP diff| <= '
          f'{map_diff:.1e}, |CMC diff| <= {cmc_diff:.1e}')


def make_problem(args, size: int) -> Dict[str, np.ndarray]:
    """The benchmark's problem: clustered features, L2-normalised unless
    ``--no-l2-normalize``."""
    problem = clustered_problem(
        size, args.dim, seed=args.seed, layout=args.layout)
    if not args.no_l2_normalize:
        for key in ('query', 'gallery'):
            feats = problem[key]
            problem[key] = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    return problem


if __name__ == '__main__':
    main()
