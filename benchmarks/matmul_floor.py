"""The time of the float32 products behind a distance matrix: the floor of
any method that computes every distance (shared by the benchmarks beside
this file)."""
import time

import torch


def matmul_floor(rows: int,
                 cols: int,
                 dim: int,
                 threads: int = 0,
                 block: int = 4096,
                 max_blocks: int = 16) -> float:
    """Seconds of the float32 products of a ``rows x cols`` distance matrix.

    ``rows * cols * dim`` multiply-adds in ``block x block`` products (no
    ``rows x cols`` array), in the current process: at most ``max_blocks``
    products are timed one by one and the fastest scaled to all of them,
    so that a floor is not raised by another process's burst.

    Args:
        rows (int): Rows of the matrix (queries, or all images).
        cols (int): Columns (gallery images, or all images).
        dim (int): Feature dimension.
        threads (int): Torch threads (0: leave as set).
        block (int): Side of the timed products.
        max_blocks (int): Products timed at most.

    Returns:
        float: Seconds.
    """
    if threads:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(0)
    height, width = min(block, rows), min(block, cols)
    left = torch.randn(height, dim, generator=gen)
    right = torch.randn(width, dim, generator=gen)
    out = torch.empty(height, width)
    torch.mm(left, right.t(), out=out)  # warm-up
    total = rows * cols / (height * width)
    fastest = float('inf')
    for _ in range(int(min(total, max_blocks)) or 1):
        start = time.perf_counter()
        torch.mm(left, right.t(), out=out)
        fastest = min(fastest, time.perf_counter() - start)
    return fastest * total
