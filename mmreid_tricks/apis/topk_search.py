"""Exact top-k retrieval over a large gallery in bounded memory."""
from typing import Callable, List, Optional, Tuple

import torch
from torch import Tensor

from mmreid_tricks.evaluation.functional import distance_rows_fn

# ``fn(g_start, g_end)`` gives a function of query rows: ``rows(start, end)``
# returns the distances of queries ``start:end`` to gallery items
# ``g_start:g_end``, shape ``[end - start, g_end - g_start]``.
GalleryBlockFn = Callable[[int, int], Callable[[int, int], Tensor]]


def _merge(best: Optional[Tuple[Tensor, Tensor]], dist: Tensor, offset: int,
           k: int) -> Tuple[Tensor, Tensor]:
    """Keep the ``k`` smallest of the running best and a new block."""
    values, idx = dist.topk(
        min(k, dist.size(1)), dim=1, largest=False, sorted=False)
    idx = idx + offset
    if best is not None:
        values = torch.cat([best[0], values], 1)
        idx = torch.cat([best[1], idx], 1)
    if values.size(1) > k:
        values, keep = values.topk(k, dim=1, largest=False, sorted=False)
        idx = idx.gather(1, keep)
    return values, idx


def _sort_by_distance_then_index(dist: Tensor,
                                 idx: Tensor) -> Tuple[Tensor, Tensor]:
    by_index = idx.argsort(dim=1)
    dist, idx = dist.gather(1, by_index), idx.gather(1, by_index)
    by_dist = dist.argsort(dim=1, stable=True)
    return dist.gather(1, by_dist), idx.gather(1, by_dist)


def topk_from_blocks(gallery_block_fn: GalleryBlockFn,
                     num_query: int,
                     num_gallery: int,
                     k: int,
                     query_chunk: int = 256,
                     gallery_chunk: int = 16384) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest gallery items of every query from distance blocks.

    The gallery is read once, block by block; for each block, the queries
    are ranked ``query_chunk`` at a time and only the ``k`` best items per
    query are kept. One ``query_chunk x gallery_chunk`` block of distances
    exists at a time, plus ``Q x 2k`` candidates: memory does not grow with
    the gallery.

    Args:
        gallery_block_fn (Callable): ``fn(g_start, g_end)`` returns
            ``rows(start, end)``, the distances of queries ``start:end`` to
            gallery items ``g_start:g_end``.
        num_query (int): Number of queries Q.
        num_gallery (int): Number of gallery items G.
        k (int): Neighbours kept, cut to G.
        query_chunk (int): Queries per block. Defaults to 256.
        gallery_chunk (int): Gallery items per block. Defaults to 16384.

    Returns:
        tuple[Tensor, Tensor]: float32 distances and int64 gallery indices,
        shape ``[Q, min(k, G)]``, by increasing distance; equal distances
        in index order (which items tie at the k-th place follows
        ``torch.topk``).
    """
    if k < 1 or query_chunk < 1 or gallery_chunk < 1:
        raise ValueError('k, query_chunk and gallery_chunk must be positive, '
                         f'got {k}, {query_chunk} and {gallery_chunk}')
    k = min(k, num_gallery)
    starts = range(0, num_query, query_chunk)
    best: List[Optional[Tuple[Tensor, Tensor]]] = [None] * len(starts)
    for g_start in range(0, num_gallery, gallery_chunk):
        rows = gallery_block_fn(g_start,
                                min(g_start + gallery_chunk, num_gallery))
        for c, start in enumerate(starts):
            dist = rows(start, min(start + query_chunk, num_query)).float()
            best[c] = _merge(best[c], dist, g_start, k)
            del dist
    ranked = [_sort_by_distance_then_index(*b) for b in best]
    return (torch.cat([d
                       for d, _ in ranked]), torch.cat([i for _, i in ranked]))


def topk_search(query: Tensor,
                gallery: Tensor,
                k: int = 10,
                metric: str = 'euclidean',
                query_chunk: int = 256,
                gallery_chunk: int = 16384) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest gallery embeddings of each query, exactly.

    Distances are those of the ReID metric
    (:func:`mmreid_tricks.evaluation.functional.distance_rows_fn`: squared
    euclidean, or ``1 - cosine``), computed in float32 block by block, so a
    gallery of 10^6 embeddings needs no ``Q x G`` matrix. The gallery may
    be stored in float16 to halve its memory; each block is converted.
    Computation happens on the query's device; gallery blocks are moved
    there one at a time, once per search (the gallery can stay on the CPU).

    Args:
        query (Tensor): Query embeddings ``[Q, D]``.
        gallery (Tensor): Gallery embeddings ``[G, D]``.
        k (int): Neighbours returned (at most G). Defaults to 10.
        metric (str): ``'euclidean'`` or ``'cosine'``. Defaults to
            ``'euclidean'``.
        query_chunk (int): Queries per block. Defaults to 256.
        gallery_chunk (int): Gallery embeddings per block. Defaults to
            16384 (a float32 block of 2048-d embeddings is 128 MiB).

    Returns:
        tuple[Tensor, Tensor]: Distances ``[Q, k]`` and gallery indices
        ``[Q, k]``, see :func:`topk_from_blocks`.
    """
    if query.dim() != 2 or gallery.dim() != 2 or (query.size(1)
                                                  != gallery.size(1)):
        raise ValueError('query and gallery must be [Q, D] and [G, D] with '
                         f'the same D, got {tuple(query.shape)} and '
                         f'{tuple(gallery.shape)}')
    if len(gallery) == 0:
        raise ValueError('the gallery is empty')

    def block(g_start: int, g_end: int):
        return distance_rows_fn(query, gallery[g_start:g_end], metric)

    return topk_from_blocks(block, len(query), len(gallery), k, query_chunk,
                            gallery_chunk)
