"""Time ``rank_metrics`` against the argsort-based ReID evaluation.

A Market-1501-sized problem (3,368 queries, 15,913 gallery images of 750
identities plus 2,793 distractors, 6 cameras) is built deterministically,
with embeddings clustered by identity so that mAP is realistic (about 80%
with the defaults). Its distance matrix is computed once, then each method
runs in its own process, so that its peak memory (``ru_maxrss``, or the
CUDA allocator's peak) is its own:

- ``ours``: :func:`rank_metrics` on the precomputed matrix;
- ``reference``: the usual algorithm (numpy argsort of every row, matches,
  same-camera removal, cumulative sums), as torchreid's and fast-reid's
  Python ``eval_market1501`` with its list comprehension vectorised;
- ``reference_torch``: the same with ``torch.sort`` on the chosen device,
  the fair baseline on a GPU;
- ``features``: :func:`rank_metrics_from_features`, distances included,
  only ``chunk_size x G`` of them at a time;
- ``cuhk03``: :func:`rank_metrics_cuhk03` on the matrix (not default);
- ``ours_alt`` and ``features_alt``: ``ours`` and ``features`` with the
  functions of another ``ranking.py`` (``--alt-ranking``), to time a change.

The methods run in turns, ``--repeats`` rounds of one process each, and
each process times ``--calls`` calls; the best time is reported (the machine
may be shared and noisy). Peak memory is the high-water mark of the
resident memory during the calls, minus the memory in use before them
(Linux ``/proc/self/clear_refs``; elsewhere ``ru_maxrss``, which also counts
the imports). Metric times exclude the distance matrix, except for
``features``.

Examples:
    python benchmarks/metric_benchmark.py
    python benchmarks/metric_benchmark.py --device cuda \\
        --methods ours,reference_torch,features
    python benchmarks/metric_benchmark.py --preset msmt17 --methods features
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
from matmul_floor import matmul_floor  # beside this file

from mmreid_tricks.evaluation.functional import (pairwise_distance,
                                                 rank_metrics,
                                                 rank_metrics_from_features)
from mmreid_tricks.evaluation.functional.cuhk03_protocol import \
    rank_metrics_cuhk03

PRESETS = dict(
    market1501=dict(
        num_query=3368,
        gallery_size=15913,
        num_ids=750,
        num_distractors=2793,
        num_cams=6,
        dim=2048,
        noise=2.75),
    msmt17=dict(
        num_query=11659,
        gallery_size=82161,
        num_ids=3060,
        num_distractors=0,
        num_cams=15,
        dim=256,
        noise=1.7))
METHODS = ('ours', 'reference', 'reference_torch', 'features', 'cuhk03',
           'ours_alt', 'features_alt')
MATRIX_METHODS = ('ours', 'reference', 'reference_torch', 'cuhk03', 'ours_alt')
IDS = ('q_pids', 'g_pids', 'q_camids', 'g_camids')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--preset', choices=sorted(PRESETS), default='market1501')
    for name, value in PRESETS['market1501'].items():
        parser.add_argument(
            '--' + name.replace('_', '-'),
            type=type(value),
            help='overrides the preset' +
            ('; per-image noise relative to the identity centre, higher '
             'lowers mAP' if name == 'noise' else ''))
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--methods',
        default='ours,reference,features',
        help=f'comma-separated, from {METHODS}')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    parser.add_argument(
        '--repeats', type=int, default=3, help='rounds of processes')
    parser.add_argument(
        '--calls', type=int, default=2, help='timed calls per process')
    parser.add_argument(
        '--alt-ranking',
        help='a ranking.py whose functions the *_alt methods use')
    parser.add_argument(
        '--chunk-size',
        type=int,
        default=2048,
        help='queries per distance chunk (the library\'s default: 2048)')
    parser.add_argument('--max-rank', type=int, default=50)
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch CPU threads; 1 by default, as the numpy reference is '
        'single-threaded (and a shared machine slows many threads down)')
    parser.add_argument(
        '--max-mem-gib',
        type=float,
        default=6.0,
        help='skip the methods whose estimated host memory exceeds this')
    parser.add_argument('--workdir', help='keep the inputs here')
    # Internal: run one method in this process.
    parser.add_argument('--worker', choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def build_problem(args: argparse.Namespace) -> Dict[str, np.ndarray]:
    """Identities, cameras and embeddings of a Market-like test set.

    Each identity has a few queries, each from its own camera, and
    ``(G - distractors) / num_ids`` gallery images from random cameras.
    An embedding is its identity centre, plus a camera offset shared by all
    images of the camera, plus isotropic noise whose scale varies from image
    to image (log-normal), which makes hard positives; distractors (pid 0)
    are random points. Embeddings are L2-normalised, as in BoT's test.

    Returns:
        dict: float32 ``query`` ``[Q, D]`` and ``gallery`` ``[G, D]``,
        int64 ``q_pids``, ``g_pids``, ``q_camids``, ``g_camids``.
    """
    rng = np.random.default_rng(args.seed)
    num_ids, num_cams, dim = args.num_ids, args.num_cams, args.dim
    per_id = np.full(num_ids, args.num_query // num_ids)
    per_id[:args.num_query - per_id.sum()] += 1
    if per_id.max() > num_cams:
        raise ValueError('more queries per identity than cameras')
    q_pids = np.repeat(np.arange(1, num_ids + 1), per_id)
    q_camids = np.concatenate([rng.permutation(num_cams)[:k] for k in per_id])
    num_real = args.gallery_size - args.num_distractors
    per_id = np.full(num_ids, num_real // num_ids)
    per_id[:num_real - per_id.sum()] += 1
    g_pids = np.concatenate([
        np.repeat(np.arange(1, num_ids + 1), per_id),
        np.zeros(args.num_distractors, np.int64)
    ])
    g_camids = rng.integers(0, num_cams, args.gallery_size)

    centres = rng.standard_normal((num_ids + 1, dim), dtype=np.float32)
    cam_offsets = 0.3 * rng.standard_normal((num_cams, dim), dtype=np.float32)

    def embed(pids: np.ndarray, camids: np.ndarray) -> np.ndarray:
        scale = args.noise * np.exp(0.35 * rng.standard_normal(len(pids)))
        noise = rng.standard_normal((len(pids), dim), dtype=np.float32)
        feats = centres[pids] + cam_offsets[camids]
        feats += scale.astype(np.float32)[:, None] * noise
        distractor = pids == 0
        feats[distractor] = cam_offsets[camids[distractor]] + np.sqrt(
            1 + args.noise**2) * rng.standard_normal(
                (distractor.sum(), dim), dtype=np.float32)
        return feats / np.linalg.norm(feats, axis=1, keepdims=True)

    return dict(
        query=embed(q_pids, q_camids),
        gallery=embed(g_pids, g_camids),
        q_pids=q_pids,
        g_pids=g_pids,
        q_camids=q_camids,
        g_camids=g_camids)


def reference_numpy(distmat: np.ndarray, q_pids: np.ndarray,
                    g_pids: np.ndarray, q_camids: np.ndarray,
                    g_camids: np.ndarray, max_rank: int) -> Dict:
    """The usual evaluation: sort every gallery row, then walk the queries.

    Args:
        distmat (np.ndarray): Distances, shape ``[Q, G]``.
        q_pids, g_pids, q_camids, g_camids (np.ndarray): Identities and
            cameras, shapes ``[Q]`` and ``[G]``.
        max_rank (int): Length of the CMC curve.

    Returns:
        dict: ``cmc`` (``[max_rank]``), ``mAP`` and ``mINP``.
    """
    indices = np.argsort(distmat, axis=1)
    matches = g_pids[indices] == q_pids[:, np.newaxis]
    all_cmc, all_ap, all_inp = [], [], []
    for i in range(len(q_pids)):
        order = indices[i]
        remove = (g_pids[order] == q_pids[i]) & (
            g_camids[order] == q_camids[i])
        raw_cmc = matches[i][~remove]
        if not raw_cmc.any():
            continue
        hits = raw_cmc.cumsum()
        last = np.flatnonzero(raw_cmc)[-1]
        all_inp.append(hits[last] / (last + 1))
        cmc = np.minimum(hits[:max_rank], 1)
        all_cmc.append(np.pad(cmc, (0, max_rank - len(cmc)), 'edge'))
        precision = hits / np.arange(1, len(hits) + 1)
        all_ap.append(precision[raw_cmc].sum() / hits[-1])
    return dict(
        cmc=np.mean(all_cmc, 0),
        mAP=float(np.mean(all_ap)),
        mINP=float(np.mean(all_inp)))


def reference_torch(distmat: torch.Tensor, q_pids: torch.Tensor,
                    g_pids: torch.Tensor, q_camids: torch.Tensor,
                    g_camids: torch.Tensor, max_rank: int,
                    chunk_size: int) -> Dict:
    """:func:`reference_numpy` with ``torch.sort``, vectorised by chunks.

    Removed items are kept in the sorted rows but not counted: ``kept_rank``
    is the rank among the remaining items.
    """
    cmc_counts = torch.zeros(max_rank + 1, dtype=torch.long)
    all_ap, all_inp = [], []
    for start in range(0, len(q_pids), chunk_size):
        end = min(start + chunk_size, len(q_pids))
        order = distmat[start:end].argsort(dim=1)
        same = g_pids[order] == q_pids[start:end, None]
        keep = ~(same & (g_camids[order] == q_camids[start:end, None]))
        match = same & keep
        valid = match.any(1)
        match, keep = match[valid], keep[valid]
        kept_rank = keep.cumsum(1) - 1
        hits = match.cumsum(1)
        num_rel = hits[:, -1]
        precision = torch.where(match, hits / (kept_rank + 1), 0)
        all_ap.append((precision.sum(1) / num_rel).cpu())
        ranks = torch.where(match, kept_rank, -1)
        all_inp.append((num_rel / (ranks.amax(1) + 1)).cpu())
        first = torch.where(match, kept_rank, distmat.size(1)).amin(1)
        cmc_counts += torch.bincount(
            first.clamp(max=max_rank).cpu(), minlength=max_rank + 1)
    num_valid = sum(len(ap) for ap in all_ap)
    return dict(
        cmc=(cmc_counts[:max_rank].cumsum(0).double() / num_valid).numpy(),
        mAP=float(torch.cat(all_ap).double().mean()),
        mINP=float(torch.cat(all_inp).double().mean()))


def estimate_gib(method: str, args: argparse.Namespace) -> float:
    """Rough peak host memory of a method, to skip what cannot fit."""
    qg = args.num_query * args.gallery_size
    feats = (args.num_query + args.gallery_size) * args.dim * 4
    chunk = args.chunk_size * args.gallery_size * 24
    on_host = args.device == 'cpu' or method == 'reference'
    per_item = dict(reference=4 + 8 + 8 + 1).get(method, 4)
    if method.startswith('features'):
        need = feats + chunk
    else:
        need = qg * per_item + (chunk if on_host else 0)
    return need / 2**30


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss() -> float:
    """Start measuring the peak resident memory; return the current, MiB."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current VmRSS
        return _status_kib('VmRSS') / 1024
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss() -> float:
    """Peak resident memory since :func:`reset_peak_rss`, MiB."""
    try:
        return _status_kib('VmHWM') / 1024
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_functions(path: str) -> Dict:
    """``rank_metrics`` and ``rank_metrics_from_features`` of a file."""
    # Named inside the package, so its relative imports resolve there.
    spec = importlib.util.spec_from_file_location(
        'mmreid_tricks.evaluation.functional._alt_ranking', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(
        ours=module.rank_metrics, features=module.rank_metrics_from_features)


def run_worker(args: argparse.Namespace) -> None:
    """Time one method on the saved inputs and print one JSON line."""
    torch.set_num_threads(args.threads)
    method, device = args.worker, torch.device(args.device)
    if method == 'reference':
        device = torch.device('cpu')  # numpy
    ids = dict(np.load(osp.join(args.workdir, 'ids.npz')))
    if method.startswith('features'):
        inputs = [
            torch.from_numpy(np.load(osp.join(args.workdir, f'{n}.npy')))
            for n in ('query', 'gallery')
        ]
    else:
        inputs = [np.load(osp.join(args.workdir, 'distmat.npy'))]
    if method != 'reference':
        inputs = [torch.as_tensor(x).to(device) for x in inputs]
        ids = {k: torch.from_numpy(v) for k, v in ids.items()}
        if method == 'reference_torch':
            ids = {k: v.to(device) for k, v in ids.items()}
    ids = [ids[k] for k in IDS]
    funcs = dict(
        ours=rank_metrics,
        features=rank_metrics_from_features,
        cuhk03=rank_metrics_cuhk03)
    if method.endswith('_alt'):
        if not args.alt_ranking:
            raise ValueError(f'{method} needs --alt-ranking')
        funcs.update(load_functions(args.alt_ranking))
        method = method[:-len('_alt')]
    kwargs = dict(max_rank=args.max_rank, chunk_size=args.chunk_size)

    def run() -> Dict:
        if method == 'reference':
            return reference_numpy(inputs[0], *ids, max_rank=args.max_rank)
        if method == 'reference_torch':
            return reference_torch(inputs[0], *ids, **kwargs)
        return funcs[method](*inputs, *ids, **kwargs)

    cuda = device.type == 'cuda'
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base_alloc = torch.cuda.memory_allocated()
    base_rss = reset_peak_rss()
    times = []
    for _ in range(args.calls):
        start = time.perf_counter()
        out = run()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            dict(
                method=args.worker,
                device=str(device),
                times=times,
                peak_rss_mib=peak_rss(),
                extra_rss_mib=peak_rss() - base_rss,
                cuda_extra_mib=(torch.cuda.max_memory_allocated() -
                                base_alloc) / 2**20 if cuda else None,
                cmc=np.asarray(out['cmc'], np.float64).tolist(),
                mAP=float(out['mAP']),
                mINP=float(out['mINP']))))


def count_tied_queries(distmat: np.ndarray, problem: Dict) -> int:
    """Queries with a negative at exactly a positive's distance.

    There the reference's unstable argsort may rank the positive first,
    where ``rank_metrics`` ranks the negative first, so their metrics may
    differ slightly.
    """
    q_pids, g_pids = problem['q_pids'], problem['g_pids']
    q_camids, g_camids = problem['q_camids'], problem['g_camids']
    tied = 0
    for i in range(len(q_pids)):
        same = g_pids == q_pids[i]
        pos = same & (g_camids != q_camids[i])
        tied += bool(np.isin(distmat[i][~same], distmat[i][pos]).any())
    return tied


def save_inputs(args: argparse.Namespace,
                methods: List[str]) -> Tuple[float, int]:
    """Build and save the problem (and its distance matrix if a method needs
    it) under ``args.workdir``.

    Returns:
        tuple: Seconds the distance matrix took, and the number of queries
        with a tie between a positive and a negative (-1 without matrix).
    """
    problem = build_problem(args)
    np.savez(osp.join(args.workdir, 'ids.npz'), **{k: problem[k] for k in IDS})
    np.save(osp.join(args.workdir, 'query.npy'), problem['query'])
    np.save(osp.join(args.workdir, 'gallery.npy'), problem['gallery'])
    if not any(m in MATRIX_METHODS for m in methods):
        return float('nan'), -1
    device = torch.device(args.device)
    query = torch.from_numpy(problem['query']).to(device)
    gallery = torch.from_numpy(problem['gallery']).to(device)
    # Written chunk by chunk to a file, so this process never holds it all.
    distmat = np.lib.format.open_memmap(
        osp.join(args.workdir, 'distmat.npy'),
        mode='w+',
        dtype=np.float32,
        shape=(len(query), len(gallery)))
    start = time.perf_counter()
    for i in range(0, len(query), 1024):
        distmat[i:i + 1024] = pairwise_distance(query[i:i + 1024],
                                                gallery).cpu().numpy()
    elapsed = time.perf_counter() - start
    distmat.flush()
    # Counting ties reads every row: skipped for the large presets.
    small = distmat.size <= 10**8
    tied = count_tied_queries(distmat, problem) if small else -1
    del distmat
    return elapsed, tied


def main() -> None:
    args = parse_args()
    if args.worker:
        run_worker(args)
        return
    torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(',') if m]
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f'unknown methods {sorted(unknown)}')
    runnable = []
    for method in methods:
        need = estimate_gib(method, args)
        if need > args.max_mem_gib:
            print(f'skipping {method}: needs about {need:.1f} GiB '
                  f'> --max-mem-gib {args.max_mem_gib}')
        else:
            runnable.append(method)

    with tempfile.TemporaryDirectory() as tmp:
        args.workdir = args.workdir or tmp
        os.makedirs(args.workdir, exist_ok=True)
        dist_time, tied = save_inputs(args, runnable)
        runs = {method: [] for method in runnable}
        for _ in range(args.repeats):
            for method in runnable:  # in turns, so noise hits all alike
                cmd = [
                    sys.executable,
                    osp.abspath(__file__), *sys.argv[1:], '--worker', method,
                    '--workdir', args.workdir
                ]
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    print(f'{method} failed:\n{proc.stderr[-3000:]}')
                    continue
                runs[method].append(
                    json.loads(proc.stdout.strip().splitlines()[-1]))
    print_report(args, [merge_runs(r) for r in runs.values() if r], dist_time,
                 tied)


def merge_runs(runs: List[Dict]) -> Dict:
    """One result from the processes of a method: all times, peak memory."""
    merged = dict(runs[0])
    merged['times'] = [t for r in runs for t in r['times']]
    for key in ('peak_rss_mib', 'extra_rss_mib', 'cuda_extra_mib'):
        if merged[key] is not None:
            merged[key] = max(r[key] for r in runs)
    return merged


def print_report(args: argparse.Namespace, results: List[Dict],
                 dist_time: float, tied: int) -> None:
    print(f'\nproblem: {args.num_query} queries x {args.gallery_size} '
          f'gallery, {args.num_ids} identities + {args.num_distractors} '
          f'distractors, {args.num_cams} cameras, D={args.dim}, seed '
          f'{args.seed}, noise {args.noise}; chunk_size {args.chunk_size}, '
          f'torch threads {args.threads}, best of {args.repeats} processes x '
          f'{args.calls} calls')
    print(f'distance matrix (on {args.device}, {args.threads} CPU threads): '
          f'{dist_time:.2f} s, excluded from the metric times except for '
          '`features`')
    base = next((r for r in results if r['method'] == 'reference'),
                results[0] if results else None)
    header = (f"{'method':16s}{'device':8s}{'best s':>9s}{'median':>8s}"
              f"{'peak RSS':>10s}{'+RSS MiB':>10s}{'+CUDA MiB':>11s}"
              f"{'mAP':>8s}{'mINP':>8s}{'R1':>8s}{'max|dCMC|':>11s}"
              f"{'|dmAP|':>9s}{'|dmINP|':>9s}")
    print(header)
    for r in results:
        median = float(np.median(r['times']))
        cuda = (f"{r['cuda_extra_mib']:.0f}"
                if r['cuda_extra_mib'] is not None else '-')
        dcmc = np.abs(np.subtract(r['cmc'], base['cmc'])).max()
        print(f"{r['method']:16s}{r['device']:8s}{min(r['times']):9.3f}"
              f"{median:8.3f}{r['peak_rss_mib']:10.0f}"
              f"{r['extra_rss_mib']:10.0f}{cuda:>11s}"
              f"{100 * r['mAP']:8.2f}{100 * r['mINP']:8.2f}"
              f"{100 * r['cmc'][0]:8.2f}{dcmc:11.2e}"
              f"{abs(r['mAP'] - base['mAP']):9.2e}"
              f"{abs(r['mINP'] - base['mINP']):9.2e}")
    by_name = {r['method']: min(r['times']) for r in results}
    for baseline in ('reference', 'reference_torch'):
        for ours in ('ours', 'ours_alt'):
            if baseline in by_name and ours in by_name:
                print(f'speed-up {baseline} / {ours} (best times): '
                      f'{by_name[baseline] / by_name[ours]:.1f}x')
    if 'features' in by_name and args.device == 'cpu':
        floor = matmul_floor(args.num_query, args.gallery_size, args.dim,
                             args.threads)
        print(f'matmul floor (the Q x G x D float32 products alone, 4096 x '
              f'4096 blocks, {args.threads} threads): {floor:.2f} s; '
              f'features / floor: {by_name["features"] / floor:.2f}x')
    print(f'differences are against `{base["method"]}`; queries with a '
          f'positive/negative distance tie: '
          f'{tied if tied >= 0 else "not counted"}' if base else 'no result')


if __name__ == '__main__':
    main()
