"""Query throughput of gallery search: ``topk_search`` against plain
``torch.cdist`` + ``topk`` (and faiss-cpu's exact ``IndexFlatL2`` if
installed), with identical top-k checked.

The gallery is synthetic: ``G`` random 2048-d unit vectors (L2-normalised
Gaussian, as a normalised ReID embedding), generated in chunks from a fixed
seed; the queries are noisy copies of random gallery items, so each has a
clear nearest neighbour. Distances are squared euclidean (the ReID
metric's), whose ranking equals cdist's euclidean one.

Each method runs in its own process for each gallery size, which generates
the same gallery, times ``--repeats`` searches of all queries (the best is
reported) and writes its top-k; the parent compares them with ``ours``.

Memory, 2048-d float32: 10^5 items take 0.8 GB, 10^6 take 8.2 GB
(``--dtype float16``: 4.1 GB, ours only; the gallery is converted block by
block). Peaks per process, roughly, with Q queries:

- ``ours``: the gallery + ``query_chunk x gallery_chunk`` floats and a block
  of the gallery (128 MiB);
- ``cdist``: the gallery + a gallery-sized copy made inside cdist + the
  ``Q x G`` result: about 17.5 GB at 10^6 with Q = 256;
- ``faiss``: the gallery, held by faiss only (added chunk by chunk).

So 10^6 fits a 24 GB machine one process at a time. The peak resident
memory (VmHWM) of each process is printed.

Examples:
    python benchmarks/search_benchmark.py --sizes 100000,1000000
    python benchmarks/search_benchmark.py --sizes 20000 --num-queries 64
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from mmreid_tricks.apis import topk_search

METHODS = ('ours', 'cdist', 'faiss')
GEN_CHUNK = 16384


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--sizes',
        default='100000,1000000',
        help='gallery sizes, comma separated')
    parser.add_argument('--dim', type=int, default=2048)
    parser.add_argument('--num-queries', type=int, default=256)
    parser.add_argument('--k', type=int, default=10)
    parser.add_argument(
        '--dtype',
        choices=('float32', 'float16'),
        default='float32',
        help="ours' gallery storage")
    parser.add_argument('--query-chunk', type=int, default=256)
    parser.add_argument('--gallery-chunk', type=int, default=16384)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--methods', default=','.join(METHODS))
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch / faiss threads (default: theirs)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--worker',
        nargs=3,
        metavar=('METHOD', 'SIZE', 'OUT'),
        help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def gallery_chunks(size: int, dim: int, seed: int):
    """The synthetic gallery, ``GEN_CHUNK`` unit rows at a time."""
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, size, GEN_CHUNK):
        rows = min(GEN_CHUNK, size - start)
        yield F.normalize(torch.randn(rows, dim, generator=gen), dim=1)


def make_gallery(size: int, dim: int, seed: int,
                 dtype: torch.dtype) -> torch.Tensor:
    gallery = torch.empty(size, dim, dtype=dtype)
    start = 0
    for chunk in gallery_chunks(size, dim, seed):
        gallery[start:start + len(chunk)] = chunk
        start += len(chunk)
    return gallery


def make_queries(size: int, args: argparse.Namespace) -> torch.Tensor:
    """Noisy copies of random gallery items (regenerated: rows of chunks)."""
    gen = torch.Generator().manual_seed(args.seed + 1)
    targets = torch.randint(size, (args.num_queries, ), generator=gen)
    wanted = {int(t) for t in targets}
    found = {}
    for c, chunk in enumerate(gallery_chunks(size, args.dim, args.seed)):
        for t in wanted:
            if c * GEN_CHUNK <= t < c * GEN_CHUNK + len(chunk):
                found[t] = chunk[t - c * GEN_CHUNK]
    base = torch.stack([found[int(t)] for t in targets])
    noise = torch.randn(base.shape, generator=gen) / args.dim**0.5
    return F.normalize(base + noise, dim=1)


def peak_rss_gib() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM'):
                return int(line.split()[1]) / 2**20
    return float('nan')


def run_worker(method: str, size: int, out: str,
               args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    queries = make_queries(size, args)
    if method == 'faiss':
        import faiss
        if args.threads:
            faiss.omp_set_num_threads(args.threads)
        index = faiss.IndexFlatL2(args.dim)
        for chunk in gallery_chunks(size, args.dim, args.seed):
            index.add(chunk.numpy())
        search = lambda: index.search(queries.numpy(), args.k)[1]  # noqa
    else:
        dtype = getattr(torch,
                        args.dtype) if method == 'ours' else (torch.float32)
        gallery = make_gallery(size, args.dim, args.seed, dtype)
        if method == 'ours':
            search = lambda: topk_search(  # noqa
                queries, gallery, args.k, 'euclidean', args.query_chunk, args.
                gallery_chunk)[1].numpy()
        else:
            search = lambda: torch.cdist(queries, gallery).topk(  # noqa
                args.k, dim=1, largest=False).indices.numpy()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        topk = search()
        times.append(time.perf_counter() - start)
    np.save(out + '.npy', np.asarray(topk, dtype=np.int64))
    with open(out + '.json', 'w') as f:
        json.dump(dict(time=min(times), peak_gib=peak_rss_gib()), f)


def compare(ours: np.ndarray, other: np.ndarray) -> str:
    same_order = int((ours == other).all(1).sum())
    same_set = int(sum(set(a) == set(b) for a, b in zip(ours, other)))
    return f'{same_order}/{len(ours)} identical ({same_set} same sets)'


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        method, size, out = args.worker
        return run_worker(method, int(size), out, args)
    methods = [m for m in args.methods.split(',') if m]
    if 'faiss' in methods:
        try:
            import faiss  # noqa: F401
        except ImportError:
            print('faiss-cpu is not installed: skipping it')
            methods.remove('faiss')
    print(f'{args.num_queries} queries, top-{args.k}, {args.dim}-d '
          f'synthetic unit vectors; ours stores the gallery as {args.dtype}; '
          f'torch {torch.__version__}, {torch.get_num_threads()} threads')
    argv = sys.argv[1:] if argv is None else list(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(',')]:
            results = {}
            for method in methods:
                out = osp.join(tmp, f'{method}_{size}')
                subprocess.run([
                    sys.executable,
                    osp.abspath(__file__), *argv, '--worker', method,
                    str(size), out
                ],
                               check=True,
                               env=dict(os.environ))
                with open(out + '.json') as f:
                    results[method] = json.load(f)
                results[method]['topk'] = np.load(out + '.npy')
            print(f'\ngallery {size:,} x {args.dim}')
            base = results.get('ours')
            for method, res in results.items():
                line = (f'  {method:6s} {args.num_queries / res["time"]:10.1f}'
                        f' queries/s  ({res["time"]:.3f} s, peak RSS '
                        f'{res["peak_gib"]:.2f} GiB)')
                if base is not None and method != 'ours':
                    line += (
                        f'  ours {res["time"] / base["time"]:.2f}x as fast; '
                        f'top-{args.k} '
                        f'{compare(base["topk"], res["topk"])}')
                print(line)


if __name__ == '__main__':
    main()
