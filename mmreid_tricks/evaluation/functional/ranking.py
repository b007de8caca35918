"""Ranking metrics of person ReID: CMC, mAP and mINP, Market-1501 protocol.

The definitions equal the evaluation most ReID papers report (the
``eval_market1501`` routine of torchreid and fast-reid), but the computation
never sorts a gallery row: only the ranks of a query's positives matter, and
those follow from counting, for each positive, the negatives closer than it.
Two comparisons per item find the few items ahead of the positives, and only
these are bucketed among the positives.
Queries are processed in chunks, so the memory in use is bounded by
``chunk_size x num_gallery`` whatever the number of queries, and the full
distance matrix need not exist (see :func:`rank_metrics_from_features`).
"""
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .distances import (DistanceRows, DistChunkFn, check_metric,
                        distance_rows_fn)
from .identity_layout import IdentityLayout

RankResult = Dict[str, Union[Tensor, float, int]]

# Queries ranked at once within a distance chunk: the ranking's temporaries
# of 256 x G stay small, and larger sets were slower (at MSMT17's size, 2048
# rows at once took 1.6 s instead of 1.2 s).
_RANK_ROWS = 256
# Bytes of distances compared twice while they stay in a core's cache.
_CACHED_BYTES = 2**20


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


def _order_keys(values: Tensor) -> Tensor:
    """int64 keys in ``[0, 2**32)`` ordered as the float32 ``values``.

    The float bits read as an int are ordered for positive floats and
    reversed for negative ones, hence the flip of the latter's 31 low bits.
    ``+ 0.0`` turns -0.0 into +0.0, which compares equal to it. NaN is
    excluded by the caller.
    """
    bits = (values + 0.0).view(torch.int32)
    bits = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    return bits.long() + 2**31


class ItemsAhead:
    """Finds, in a chunk of distances, the items ahead of two bounds per row:
    how many are at most the first, and which are at most the second.

    A reusable scan for :func:`_positive_ranks_sparse`. On the CPU its two
    passes run in numpy (several times faster than torch's compare and
    nonzero, torch 2.14), a few rows at a time so that the second pass
    reads them from the cache, on as many threads as torch uses, into a
    mask kept from chunk to chunk (a fresh one, 21 MB for 256 queries at
    MSMT17's size, is mapped and page-faulted anew each time). There the
    ranking took 0.68 s instead of 0.98 s (0.80 s on one thread).
    """

    def __init__(self) -> None:
        self._mask: Optional[np.ndarray] = None

    def __call__(self, dist: Tensor, first: Tensor,
                 second: Tensor) -> Tuple[Tensor, Tensor]:
        """Scan the chunk.

        Args:
            dist (Tensor): Distances, contiguous, shape ``[q, G]``.
            first (Tensor): The bound to count under, per row, ``[q]``.
            second (Tensor): The bound to find under, per row, ``[q]``.

        Returns:
            tuple[Tensor, Tensor]: The number of entries ``<= first`` of
            each row, int64 ``[q]``, and the row-major flat indices of the
            entries ``<= second``, int64 ``[K]`` (NaN is never counted).
        """
        if dist.device.type != 'cpu':
            counts = (dist <= first.unsqueeze(1)).sum(1)
            found = (dist <= second.unsqueeze(1)).view(-1).nonzero()
            return counts, found.squeeze(1)
        num_q, num_g = dist.shape
        mask = self._rows(num_q, num_g)
        width = mask.shape[1]
        dist_np, first_np, second_np = (
            t.numpy() for t in (dist, first, second))
        step = max(1, _CACHED_BYTES // (dist.element_size() * num_g))
        counts = np.empty(num_q, np.int64)

        def scan(rows: slice) -> np.ndarray:
            for row in range(rows.start, rows.stop, step):
                part = slice(row, min(row + step, rows.stop))
                np.less_equal(
                    dist_np[part],
                    first_np[part, None],
                    out=mask[part, :num_g])
                counts[part] = _row_counts(mask[part])
                np.less_equal(
                    dist_np[part],
                    second_np[part, None],
                    out=mask[part, :num_g])
            return np.flatnonzero(mask[rows]) + rows.start * width

        parts = max(1, min(torch.get_num_threads(), num_q))
        bounds = np.linspace(0, num_q, parts + 1).astype(int)
        rows = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
        if parts == 1:
            found = scan(rows[0])
        else:
            with ThreadPoolExecutor(parts - 1) as pool:
                others = [pool.submit(scan, part) for part in rows[1:]]
                found = np.concatenate([scan(rows[0])] +
                                       [other.result() for other in others])
        # Padded row-major indices to the chunk's own.
        found -= found // width * (width - num_g)
        return torch.from_numpy(counts), torch.from_numpy(found)

    def _rows(self, num_q: int, num_g: int) -> np.ndarray:
        """The mask of ``num_q`` rows of ``num_g`` entries, padded to 8
        bytes (counted as 64-bit words) with False."""
        width = -(-num_g // 8) * 8
        mask = self._mask
        if mask is None or len(mask) < num_q or mask.shape[1] != width:
            mask = self._mask = np.zeros((num_q, width), bool)
        mask = mask[:num_q]
        mask[:, num_g:] = False  # a wider chunk before may have set it
        return mask


def _row_counts(mask: np.ndarray) -> np.ndarray:
    """Set entries of each row of a bool mask whose rows are a multiple of 8
    bytes, int64: the set bits of 64-bit words, 40% faster than
    ``count_nonzero`` along rows (which numpy < 2 falls back to)."""
    if not hasattr(np, 'bitwise_count'):  # numpy < 2
        return np.count_nonzero(mask, axis=1)
    return np.bitwise_count(mask.view(np.uint64)).sum(1, np.int64)


def _positive_ranks_sparse(dist: Tensor, own_idx: Tensor, own_in: Tensor,
                           own_pos: Tensor, max_pos: int,
                           items_ahead: ItemsAhead) -> Optional[Tensor]:
    """:func:`_positive_ranks` bucketing only the items ahead of positives.

    The rank of the ``j``-th positive is ``j`` plus the number of negatives
    at a distance ``<= p_j``: all items ``<= p_j`` minus the items of the
    query's identity ``<= p_j``. For the last positive, often far behind the
    others (a hard positive), that is one count per row; only the items no
    farther than the second-to-last positive are compacted and bucketed
    among the positives, instead of a binary search for every item. When
    they are more than a quarter of the chunk (a poor model), this would
    neither save time nor memory, and None is returned.

    Args:
        dist (Tensor): float32 distances of a chunk of queries, contiguous,
            shape ``[q, G]``.
        own_idx (Tensor): Gallery indices of the images of each query's
            identity, padded with any valid index, int64, shape ``[q, S]``.
        own_in (Tensor): Real (not padding) slots of ``own_idx``, bool,
            ``[q, S]``.
        own_pos (Tensor): Slots holding a positive (real, other camera),
            bool, ``[q, S]``.
        max_pos (int): Number of positive slots M, at most ``S`` and at least
            the largest number of positives of a query.
        items_ahead (ItemsAhead): The scan to use.

    Returns:
        Tensor | None: As :func:`_positive_ranks`, int64, shape ``[q, M]``;
        None when too many items precede the second-to-last positives.
    """
    num_q, num_g = dist.shape
    device = dist.device
    own_dist = dist.gather(1, own_idx)
    pos_sorted = own_dist.masked_fill(~own_pos, float('inf')).sort(1).values
    pos_sorted = pos_sorted[:, :max_pos]
    num_pos = own_pos.sum(1)

    def positive(j: Tensor) -> Tensor:  # p_j, or -inf (no item) if j < 0
        p = pos_sorted.gather(1, j.clamp(min=0).unsqueeze(1)).squeeze(1)
        return p.masked_fill(j < 0, float('-inf'))

    last_at_most, flat = items_ahead(dist, positive(num_pos - 1),
                                     positive(num_pos - 2))
    if len(flat) > num_q * num_g // 4:
        return None
    rows = flat // num_g
    # One sorted key sequence for the whole chunk: row i owns M + 1 slots,
    # its sorted positives (padded with +inf) and a sentinel above every
    # value, so a search gives row * (M + 1) + (positives strictly closer).
    thresholds = torch.cat([
        _order_keys(pos_sorted),
        torch.full((num_q, 1), 2**32 - 1, device=device)
    ], 1)
    thresholds += torch.arange(num_q, device=device).unsqueeze(1) << 32
    keys = _order_keys(dist.view(-1)[flat]).add_(rows << 32)
    del flat, rows
    bins = torch.searchsorted(thresholds.view(-1), keys, right=False)
    del keys
    counts = torch.bincount(bins, minlength=num_q * (max_pos + 1))
    at_most = counts.view(num_q, max_pos + 1)[:, :max_pos].cumsum(1)
    last = (num_pos - 1).clamp(min=0).unsqueeze(1)
    at_most.scatter_(1, last, last_at_most.unsqueeze(1))
    # Items of the query's identity (positives, removed ones) are no
    # negatives; the same ``<=`` keeps ties pessimistic.
    own_at_most = ((own_dist.unsqueeze(1) <= pos_sorted.unsqueeze(2))
                   & own_in.unsqueeze(1)).sum(2)
    return torch.arange(max_pos, device=device) + at_most - own_at_most


class Market1501Ranking:
    """Market-1501 ranks of the queries, accumulated chunk by chunk.

    Holds what every chunk needs (positives per query, the gallery's
    identity layout) and the per-query results; :func:`rank_metrics` feeds
    it each chunk of distances once, and so does the CUHK03 protocol, which
    takes its mAP and mINP from it.

    Args:
        q_pids (Tensor): Query identities, int, shape ``[Q]``.
        g_pids (Tensor): Gallery identities, int, shape ``[G]``.
        q_camids (Tensor): Query cameras, int, shape ``[Q]``.
        g_camids (Tensor): Gallery cameras, int, shape ``[G]``.
        max_rank (int): Length of the CMC curve.
    """

    def __init__(self, q_pids: Tensor, g_pids: Tensor, q_camids: Tensor,
                 g_camids: Tensor, max_rank: int) -> None:
        if max_rank < 1:
            raise ValueError(f'max_rank must be positive, got {max_rank}')
        num_q, num_g = len(q_pids), len(g_pids)
        if len(q_camids) != num_q or len(g_camids) != num_g:
            raise ValueError(
                f'got {num_q} query pids but {len(q_camids)} query camids, '
                f'{num_g} gallery pids but {len(g_camids)} gallery camids')
        self.q_pids, self.g_pids = q_pids.long().cpu(), g_pids.long().cpu()
        self.q_camids = q_camids.long().cpu()
        self.g_camids = g_camids.long().cpu()
        self.num_pos = _num_positives(self.q_pids, self.g_pids, self.q_camids,
                                      self.g_camids)
        self.num_valid = int((self.num_pos > 0).sum())
        if self.num_valid == 0:
            raise ValueError('no query has a gallery item of its identity '
                             'seen by another camera: every query would be '
                             'skipped')
        # One number of positive slots for every chunk, so per-query values
        # are computed from identical shapes and chunking cannot change a
        # bit.
        self.max_pos = int(self.num_pos.max())
        self.layout = IdentityLayout.of(self.g_pids)
        self.q_uid = self.layout.index_of(self.q_pids)
        self.max_own = self.layout.max_members(self.q_uid)
        self.max_rank = max_rank
        self.device: Optional[torch.device] = None  # the first chunk's
        self.items_ahead = ItemsAhead()
        self.cmc_counts = torch.zeros(max_rank + 1, dtype=torch.long)
        self.all_ap, self.all_inp = [], []

    def add(self,
            start: int,
            end: int,
            dist: Tensor,
            finite: bool = False) -> None:
        """Rank the queries ``start:end`` given their distances.

        Args:
            start (int): First query of the chunk; chunks come in order.
            end (int): One past the last query of the chunk.
            dist (Tensor): Their distances, shape ``[end - start, G]``;
                not modified.
            finite (bool): They are known to be finite: no scan for NaN
                (a pass over them, 1.5% of the time at MSMT17's size).
                Defaults to False.
        """
        # The sum is NaN for any NaN (or +inf and -inf both): cheap first.
        if not finite and torch.isnan(dist.sum()) and torch.isnan(dist).any():
            raise ValueError(f'NaN distance in query rows {start}:{end}')
        if self.device is None:
            self.device = dist.device
        dist = dist.detach().to(self.device)
        ranks = self._positive_ranks(start, end, dist)
        del dist
        n = self.num_pos[start:end].to(self.device)
        valid = n > 0
        ranks, n = ranks[valid].double(), n[valid]
        slot = torch.arange(self.max_pos, device=self.device)
        precision = (slot + 1) / (ranks + 1)
        precision[slot >= n.unsqueeze(1)] = 0
        self.all_ap.append((precision.sum(1) / n).cpu())
        last = ranks.gather(1, (n - 1).unsqueeze(1)).squeeze(1)
        self.all_inp.append((n / (last + 1)).cpu())
        first = ranks[:, 0].long().clamp(max=self.max_rank).cpu()
        self.cmc_counts += torch.bincount(first, minlength=self.max_rank + 1)

    def _positive_ranks(self, start: int, end: int, dist: Tensor) -> Tensor:
        """Ranks of the positives of queries ``start:end``, ``[q, M]``."""
        device = self.device
        if dist.dtype != torch.float64:  # no 32-bit keys for float64
            # Lossless for ints up to 2**24, float16 and bfloat16.
            dist = dist.float().contiguous()
            # The gallery images of each query's identity, from the layout.
            own_idx, own_in = self.layout.members_of(self.q_uid[start:end],
                                                     self.max_own)
            own_pos = own_in & (
                self.g_camids[own_idx] != self.q_camids[start:end, None])
            ranks = _positive_ranks_sparse(dist, own_idx.to(device),
                                           own_in.to(device),
                                           own_pos.to(device), self.max_pos,
                                           self.items_ahead)
            if ranks is not None:
                return ranks
        # Search every item: exact, slower.
        if not dist.is_floating_point():
            dist = dist.float()  # +inf padding needs a float type
        same_pid = self.q_pids[start:end,
                               None].to(device) == self.g_pids.to(device)
        pos = same_pid & (
            self.q_camids[start:end, None].to(device)
            != self.g_camids.to(device))
        return _positive_ranks(dist, same_pid, pos, self.max_pos)

    def result(self) -> RankResult:
        """The metrics over every chunk added; see :func:`rank_metrics`."""
        ap = torch.cat(self.all_ap)
        per_query_ap = torch.full((len(self.q_pids), ),
                                  float('nan'),
                                  dtype=ap.dtype)
        per_query_ap[self.num_pos > 0] = ap
        cmc = self.cmc_counts[:self.max_rank].cumsum(0).double()
        return dict(
            cmc=cmc / self.num_valid,
            mAP=float(ap.mean()),
            mINP=float(torch.cat(self.all_inp).mean()),
            ap=per_query_ap,
            num_valid_queries=self.num_valid,
            num_skipped_queries=len(self.q_pids) - self.num_valid)


def rank_metrics(distmat: Union[Tensor, DistChunkFn],
                 q_pids: Tensor,
                 g_pids: Tensor,
                 q_camids: Tensor,
                 g_camids: Tensor,
                 max_rank: int = 50,
                 chunk_size: int = 2048) -> RankResult:
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
            never has to exist; it is called once per chunk. Computation
            happens on its device.
        q_pids (Tensor): Query identities, int, shape ``[Q]``.
        g_pids (Tensor): Gallery identities, int, shape ``[G]``.
        q_camids (Tensor): Query cameras, int, shape ``[Q]``.
        g_camids (Tensor): Gallery cameras, int, shape ``[G]``.
        max_rank (int): Length of the returned CMC curve. It is not cut to
            the gallery size: beyond it the curve stays at 1.
            Defaults to 50.
        chunk_size (int): Queries processed at once; memory is
            ``O(chunk_size x G)``. Results do not depend on it.
            Defaults to 2048 (see :func:`rank_metrics_from_features`).

    Returns:
        dict: ``cmc`` (float64 CPU Tensor ``[max_rank]``, fractions in
        [0, 1]), ``mAP`` and ``mINP`` (floats in [0, 1]), ``ap`` (float64
        CPU Tensor ``[Q]``, the AP of each query, NaN for a skipped one),
        ``num_valid_queries`` and ``num_skipped_queries`` (ints).
    """
    ranking = Market1501Ranking(q_pids, g_pids, q_camids, g_camids, max_rank)
    rows = DistanceRows(distmat, len(q_pids), len(g_pids))
    # Ranking is done with a chunk when it asks for the next. Large chunks
    # make faster products; ranking is faster a few rows at a time.
    finite = getattr(distmat, 'finite', False)
    for start, end, dist in rows.chunks(chunk_size, reuse_buffer=True):
        for row in range(start, end, _RANK_ROWS):
            stop = min(row + _RANK_ROWS, end)
            ranking.add(row, stop, dist[row - start:stop - start], finite)
    return ranking.result()


def rank_metrics_from_features(query: Tensor,
                               gallery: Tensor,
                               q_pids: Tensor,
                               g_pids: Tensor,
                               q_camids: Tensor,
                               g_camids: Tensor,
                               metric: str = 'euclidean',
                               max_rank: int = 50,
                               chunk_size: int = 2048) -> RankResult:
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
        chunk_size (int): Queries per chunk. Defaults to 2048: on the CPU,
            the product of fewer rows with a large gallery spends more of
            its time packing the gallery (at MSMT17's size, 256 rows take
            17% longer, 1024 rows 6%).

    Returns:
        dict: As :func:`rank_metrics`.
    """
    check_metric(metric)
    if len(query) != len(q_pids) or len(gallery) != len(g_pids):
        raise ValueError(f'got {len(query)} query embeddings for '
                         f'{len(q_pids)} pids, {len(gallery)} gallery '
                         f'embeddings for {len(g_pids)} pids')
    # Unclamped: a squared distance that rounding puts below 0 ranks first
    # as 0 would, up to ties among such near-duplicates.
    return rank_metrics(
        distance_rows_fn(query, gallery, metric, clamp=False), q_pids, g_pids,
        q_camids, g_camids, max_rank, chunk_size)
