"""Exact top-k retrieval over a large gallery in bounded memory."""
from typing import Callable, Tuple

import torch
from torch import Tensor

from mmreid_tricks.evaluation.functional import pairwise_distance

# Gives the distances of query rows ``start:end`` to gallery columns
# ``g_start:g_end``, shape ``[end - start, g_end - g_start]``.
DistBlockFn = Callable[[int, int, int, int], Tensor]


def _merge(best_d: Tensor, best_i: Tensor, dist: Tensor, offset: int,
           k: int) -> Tuple[Tensor, Tensor]:
    """Keep the ``k`` smallest of the running best and a new block."""
    kk = min(k, dist.size(1))
    values, idx = dist.topk(kk, dim=1, largest=False, sorted=False)
    best_d = torch.cat([best_d, values], 1)
    best_i = torch.cat([best_i, idx + offset], 1)
    if best_d.size(1) > k:
        best_d, keep = best_d.topk(k, dim=1, largest=False, sorted=False)
        best_i = best_i.gather(1, keep)
    return best_d, best_i


def _sort_by_distance_then_index(dist: Tensor,
                                 idx: Tensor) -> Tuple[Tensor, Tensor]:
    by_index = idx.argsort(1)
    dist, idx = dist.gather(1, by_index), idx.gather(1, by_index)
    by_dist = dist.argsort(dim=1, stable=True)
    return dist.gather(1, by_dist), idx.gather(1, by_dist)


def topk_from_blocks(block_fn: DistBlockFn,
                     num_query: int,
                     num_gallery: int,
                     k: int,
                     query_chunk: int = 256,
                     gallery_chunk: int = 65536,
                     device=None) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest gallery items of every query from distance blocks.

    Only one ``query_chunk x gallery_chunk`` block of distances exists at a
    time, plus ``query_chunk x 2k`` candidates: memory does not grow with
    the gallery.

    Args:
        block_fn (Callable): ``fn(start, end, g_start, g_end)`` returns the
            distances of queries ``start:end`` to gallery items
            ``g_start:g_end``.
        num_query (int): Number of queries Q.
        num_gallery (int): Number of gallery items G.
        k (int): Neighbours kept, cut to G.
        query_chunk (int): Queries per block. Defaults to 256.
        gallery_chunk (int): Gallery items per block. Defaults to 65536.
        device (torch.device, optional): Device of the returned tensors;
            defaults to that of the blocks.

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
    all_d, all_i = [], []
    for start in range(0, num_query, query_chunk):
        end = min(start + query_chunk, num_query)
        best_d = best_i = None
        for g_start in range(0, num_gallery, gallery_chunk):
            g_end = min(g_start + gallery_chunk, num_gallery)
            dist = block_fn(start, end, g_start, g_end).float()
            if best_d is None:
                best_d = dist.new_empty(end - start, 0)
                best_i = torch.empty(
                    end - start, 0, dtype=torch.long, device=dist.device)
            best_d, best_i = _merge(best_d, best_i, dist, g_start, k)
            del dist
        best_d, best_i = _sort_by_distance_then_index(best_d, best_i)
        all_d.append(best_d if device is None else best_d.to(device))
        all_i.append(best_i if device is None else best_i.to(device))
    return torch.cat(all_d), torch.cat(all_i)


def topk_search(query: Tensor,
                gallery: Tensor,
                k: int = 10,
                metric: str = 'euclidean',
                query_chunk: int = 256,
                gallery_chunk: int = 65536) -> Tuple[Tensor, Tensor]:
    """The ``k`` nearest gallery embeddings of each query, exactly.

    Distances are those of the ReID metric,
    :func:`mmreid_tricks.evaluation.functional.pairwise_distance` (squared
    euclidean, or ``1 - cosine``), computed in float32 block by block, so a
    gallery of 10^6 embeddings needs no ``Q x G`` matrix. The gallery may
    be stored in float16 to halve its memory; each block is converted.
    Computation happens on the query's device; gallery blocks are moved
    there one at a time (the gallery can stay on the CPU).

    Args:
        query (Tensor): Query embeddings ``[Q, D]``.
        gallery (Tensor): Gallery embeddings ``[G, D]``.
        k (int): Neighbours returned (at most G). Defaults to 10.
        metric (str): ``'euclidean'`` or ``'cosine'``. Defaults to
            ``'euclidean'``.
        query_chunk (int): Queries per block. Defaults to 256.
        gallery_chunk (int): Gallery embeddings per block. Defaults to 65536.

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

    def block(start: int, end: int, g_start: int, g_end: int) -> Tensor:
        return pairwise_distance(query[start:end],
                                 gallery[g_start:g_end].to(query.device),
                                 metric)

    return topk_from_blocks(block, len(query), len(gallery), k, query_chunk,
                            gallery_chunk)
