"""Ranking metrics of person ReID: CMC, mAP and mINP, Market-1501 protocol.

The definitions equal the evaluation most ReID papers report (the
``eval_market1501`` routine of torchreid and fast-reid), but the computation
never sorts a gallery row: only the ranks of a query's positives matter, and
those follow from counting, for each positive, the negatives closer than it.
Queries are processed in chunks, so the memory in use is bounded by
``chunk_size x num_gallery`` whatever the number of queries, and the full
distance matrix need not exist (see :func:`rank_metrics_from_features`).
"""
from typing import Callable, Dict, Union

import torch
import torch.nn.functional as F
from torch import Tensor

# Produces the rows ``start:end`` of the distance matrix, shape
# ``[end - start, num_gallery]``.
DistChunkFn = Callable[[int, int], Tensor]

_METRICS = ('euclidean', 'cosine')


def pairwise_distance(query: Tensor,
                      gallery: Tensor,
                      metric: str = 'euclidean') -> Tensor:
    """Distances between every query and every gallery embedding.

    Args:
        query (Tensor): Query embeddings, shape ``[Q, D]``.
        gallery (Tensor): Gallery embeddings, shape ``[G, D]``.
        metric (str): ``'euclidean'`` for the squared euclidean distance
            (the square root does not change any ranking, so it is skipped
            as in the reference evaluation) or ``'cosine'`` for
            ``1 - cosine similarity``. Defaults to ``'euclidean'``.

    Returns:
        Tensor: float32 distances on the embeddings' device, shape ``[Q, G]``.
    """
    if metric not in _METRICS:
        raise ValueError(f'metric must be one of {_METRICS}, got {metric!r}')
    if query.dim() != 2 or gallery.dim() != 2 or (query.size(1)
                                                  != gallery.size(1)):
        raise ValueError('query and gallery must be [Q, D] and [G, D] with '
                         f'the same D, got {tuple(query.shape)} and '
                         f'{tuple(gallery.shape)}')
    query = query.float()
    gallery = gallery.float()
    if metric == 'cosine':
        query = F.normalize(query, dim=1)
        gallery = F.normalize(gallery, dim=1)
        return 1 - query @ gallery.t()
    # ||q||^2 + ||g||^2 - 2 q.g: one matrix product instead of a [Q, G, D]
    # difference; rounding can make it slightly negative, hence the clamp.
    dist = torch.addmm(
        query.pow(2).sum(1, keepdim=True) + gallery.pow(2).sum(1),
        query,
        gallery.t(),
        alpha=-2)
    return dist.clamp_(min=0)


def _num_positives(q_pids: Tensor, g_pids: Tensor, q_camids: Tensor,
                   g_camids: Tensor) -> Tensor:
    """Count each query's positives (same pid, other camera) in O(Q + G).

    Returns:
        Tensor: int64 counts, shape ``[Q]``.
    """
    pids, pid_idx = torch.unique(
        torch.cat([q_pids, g_pids]), return_inverse=True)
    cams, cam_idx = torch.unique(
        torch.cat([q_camids, g_camids]), return_inverse=True)
    key = pid_idx * len(cams) + cam_idx
    num_q = len(q_pids)
    per_pid = torch.bincount(pid_idx[num_q:], minlength=len(pids))
    per_pid_cam = torch.bincount(key[num_q:], minlength=len(pids) * len(cams))
    return per_pid[pid_idx[:num_q]] - per_pid_cam[key[:num_q]]


def _positive_ranks(dist: Tensor, same_pid: Tensor, pos: Tensor,
                    max_pos: int) -> Tensor:
    """0-based rank of each positive in the gallery ordered by distance.

    Args:
        dist (Tensor): Distances of a chunk of queries, shape ``[q, G]``.
        same_pid (Tensor): Gallery items with the query's pid, positives and
            removed same-camera items alike, bool, shape ``[q, G]``.
        pos (Tensor): Positives (same pid, other camera), bool, ``[q, G]``.
        max_pos (int): Number of positive slots M, at least the largest
            number of positives of a query.

    Returns:
        Tensor: int64 ranks, shape ``[q, M]``; ``ranks[i, j]`` is the rank of
        the ``j``-th closest positive of query ``i`` among the remaining
        gallery. Slots beyond a query's number of positives hold garbage.
    """
    num_q = dist.size(0)
    # Sorted positive distances padded with +inf: topk is O(G) per row where
    # a full sort would be O(G log G).
    pos_dist = dist.masked_fill(~pos, float('inf'))
    pos_sorted = pos_dist.topk(max_pos, dim=1, largest=False).values
    del pos_dist
    # bucket[i, g] = number of positives strictly closer than negative g, so
    # a negative at the same distance as a positive ranks BEFORE it; ties
    # can therefore never raise a score. Positives and removed items go to
    # the last bucket M, which no positive slot counts.
    num_bins = num_q * (max_pos + 1)
    small = num_bins < 2**31  # int32 halves the largest buffer
    bucket = torch.searchsorted(
        pos_sorted, dist.contiguous(), right=False, out_int32=small)
    bucket.masked_fill_(same_pid, max_pos)
    # One bincount for the whole chunk: row i owns bins i*(M+1) ... i*(M+1)+M.
    offsets = torch.arange(num_q, device=dist.device, dtype=bucket.dtype)
    bucket += offsets.unsqueeze(1) * (max_pos + 1)
    counts = torch.bincount(bucket.flatten(), minlength=num_bins)
    del bucket
    neg_before = counts.view(num_q, max_pos + 1)[:, :max_pos].cumsum(1)
    return torch.arange(max_pos, device=dist.device) + neg_before


def rank_metrics(
        distmat: Union[Tensor, DistChunkFn],
        q_pids: Tensor,
        g_pids: Tensor,
        q_camids: Tensor,
        g_camids: Tensor,
        max_rank: int = 50,
        chunk_size: int = 256) -> Dict[str, Union[Tensor, float, int]]:
    """CMC, mAP and mINP of a ranking under the Market-1501 protocol.

    For each query, gallery items of the same identity AND the same camera
    are removed; the remaining items of the same identity are its positives,
    every other item (distractors, pid 0 on Market-1501, included) is a
    negative. Identities are compared as given, as in the reference: no pid
    is special, so drop junk images (Market-1501's pid -1) before.
    A query without any positive left is skipped and counted.
    With the remaining gallery ordered by increasing distance and
    ``rank_j`` the 0-based rank of the ``j``-th positive (``n`` positives):

    - ``CMC[k] = 1`` if ``rank_0 <= k``, else 0, for ``k < max_rank``;
    - ``AP = mean_j (j + 1) / (rank_j + 1)``, the precision at each positive;
    - ``INP = n / (rank_{n-1} + 1)``;

    each averaged over the valid queries, as in torchreid's and fast-reid's
    ``eval_market1501``.

    Ties: the reference sorts with an unstable argsort, so the order of
    items at exactly the same distance is undefined there. Here it is
    defined: a negative at the same distance as a positive ranks before it.
    This pessimistic order means ties never raise a score: a model that maps
    every image to one point gets the lowest scores, not perfect ones. The
    order among positives or among negatives does not change any metric.
    With distinct distances both agree exactly.

    Args:
        distmat (Tensor | Callable): The distance matrix, shape ``[Q, G]``,
            or a function ``fn(start, end)`` returning its rows
            ``start:end`` (shape ``[end - start, G]``), so the full matrix
            never has to exist. Computation happens on its device.
        q_pids (Tensor): Query identities, int, shape ``[Q]``.
        g_pids (Tensor): Gallery identities, int, shape ``[G]``.
        q_camids (Tensor): Query cameras, int, shape ``[Q]``.
        g_camids (Tensor): Gallery cameras, int, shape ``[G]``.
        max_rank (int): Length of the returned CMC curve. It is not cut to
            the gallery size: beyond it the curve stays at 1.
            Defaults to 50.
        chunk_size (int): Queries processed at once; memory is
            ``O(chunk_size x G)``. Results do not depend on it.
            Defaults to 256.

    Returns:
        dict: ``cmc`` (float64 CPU Tensor ``[max_rank]``, fractions in
        [0, 1]), ``mAP`` and ``mINP`` (floats in [0, 1]),
        ``num_valid_queries`` and ``num_skipped_queries`` (ints).
    """
    if max_rank < 1 or chunk_size < 1:
        raise ValueError('max_rank and chunk_size must be positive, got '
                         f'{max_rank} and {chunk_size}')
    num_q, num_g = len(q_pids), len(g_pids)
    if len(q_camids) != num_q or len(g_camids) != num_g:
        raise ValueError(
            f'got {num_q} query pids but {len(q_camids)} query camids, '
            f'{num_g} gallery pids but {len(g_camids)} gallery camids')
    if isinstance(distmat, Tensor):
        if distmat.shape != (num_q, num_g):
            raise ValueError(f'distmat has shape {tuple(distmat.shape)}, '
                             f'expected ({num_q}, {num_g})')
        matrix = distmat
        device = matrix.device

        def distmat(start: int, end: int) -> Tensor:
            return matrix[start:end]
    else:
        device = None  # taken from the first chunk produced

    q_pids, g_pids = q_pids.long().cpu(), g_pids.long().cpu()
    q_camids, g_camids = q_camids.long().cpu(), g_camids.long().cpu()
    num_pos = _num_positives(q_pids, g_pids, q_camids, g_camids)
    num_valid = int((num_pos > 0).sum())
    if num_valid == 0:
        raise ValueError('no query has a gallery item of its identity seen '
                         'by another camera: every query would be skipped')
    # One number of positive slots for every chunk, so per-query values are
    # computed from identical shapes and chunking cannot change a bit.
    max_pos = int(num_pos.max())

    cmc_counts = torch.zeros(max_rank + 1, dtype=torch.long)
    all_ap, all_inp = [], []
    for start in range(0, num_q, chunk_size):
        end = min(start + chunk_size, num_q)
        dist = distmat(start, end)
        if dist.shape != (end - start, num_g):
            raise ValueError(f'distance chunk {start}:{end} has shape '
                             f'{tuple(dist.shape)}, expected '
                             f'({end - start}, {num_g})')
        if torch.isnan(dist).any():
            raise ValueError(f'NaN distance in query rows {start}:{end}')
        device = dist.device if device is None else device
        dist = dist.to(device)
        if not dist.is_floating_point():
            dist = dist.float()  # +inf padding needs a float type
        n = num_pos[start:end].to(device)
        same_pid = q_pids[start:end, None].to(device) == g_pids.to(device)
        pos = same_pid & (
            q_camids[start:end, None].to(device) != g_camids.to(device))
        ranks = _positive_ranks(dist, same_pid, pos, max_pos)
        del dist, same_pid, pos

        valid = n > 0
        ranks, n = ranks[valid].double(), n[valid]
        slot = torch.arange(max_pos, device=device)
        precision = (slot + 1) / (ranks + 1)
        precision[slot >= n.unsqueeze(1)] = 0
        all_ap.append((precision.sum(1) / n).cpu())
        last = ranks.gather(1, (n - 1).unsqueeze(1)).squeeze(1)
        all_inp.append((n / (last + 1)).cpu())
        first = ranks[:, 0].long().clamp(max=max_rank).cpu()
        cmc_counts += torch.bincount(first, minlength=max_rank + 1)

    cmc = cmc_counts[:max_rank].cumsum(0).double() / num_valid
    return dict(
        cmc=cmc,
        mAP=float(torch.cat(all_ap).mean()),
        mINP=float(torch.cat(all_inp).mean()),
        num_valid_queries=num_valid,
        num_skipped_queries=num_q - num_valid)


def rank_metrics_from_features(
        query: Tensor,
        gallery: Tensor,
        q_pids: Tensor,
        g_pids: Tensor,
        q_camids: Tensor,
        g_camids: Tensor,
        metric: str = 'euclidean',
        max_rank: int = 50,
        chunk_size: int = 256) -> Dict[str, Union[Tensor, float, int]]:
    """:func:`rank_metrics` from embeddings, one distance chunk at a time.

    Only ``chunk_size x G`` distances exist at any moment, which keeps the
    evaluation of large galleries (MSMT17) within memory.

    Args:
        query (Tensor): Query embeddings, shape ``[Q, D]``; computation
            happens on their device.
        gallery (Tensor): Gallery embeddings, shape ``[G, D]``.
        q_pids (Tensor): Query identities, shape ``[Q]``.
        g_pids (Tensor): Gallery identities, shape ``[G]``.
        q_camids (Tensor): Query cameras, shape ``[Q]``.
        g_camids (Tensor): Gallery cameras, shape ``[G]``.
        metric (str): ``'euclidean'`` or ``'cosine'``, see
            :func:`pairwise_distance`. Defaults to ``'euclidean'``.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        chunk_size (int): Queries per chunk. Defaults to 256.

    Returns:
        dict: As :func:`rank_metrics`.
    """
    if metric not in _METRICS:
        raise ValueError(f'metric must be one of {_METRICS}, got {metric!r}')
    if len(query) != len(q_pids) or len(gallery) != len(g_pids):
        raise ValueError(f'got {len(query)} query embeddings for '
                         f'{len(q_pids)} pids, {len(gallery)} gallery '
                         f'embeddings for {len(g_pids)} pids')
    gallery = gallery.to(query.device)

    def dist_chunk(start: int, end: int) -> Tensor:
        return pairwise_distance(query[start:end], gallery, metric)

    return rank_metrics(dist_chunk, q_pids, g_pids, q_camids, g_camids,
                        max_rank, chunk_size)
