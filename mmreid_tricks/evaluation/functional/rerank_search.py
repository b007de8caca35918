"""Nearest neighbours of every image, for k-reciprocal re-ranking.

The neighbour sets of the original re-ranking come from sorting every row of
the ``N x N`` float32 distance matrix. Here the ``k1 + 1`` nearest images of
every image (and its farthest ones, for the normaliser) are found block by
block of the symmetric matrix, half of which is computed, from block
distances whose worst-case error is bounded (:mod:`.rerank_products`); in
the rows that bound does not settle, the candidates it leaves ambiguous get
float64 distances and the row is re-ordered. See :func:`nearest_neighbours`.
"""
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor

from .rerank_features import CentredFeatures

# Entries per group of the two-stage selection of :class:`_Candidates`:
# a row's first block leaves k * _GROUP candidates, later blocks the groups
# whose min beats the row's k-th candidate. Smaller groups leave fewer
# candidates but more minima to select from; 8 was the fastest measured
# (2048-d, N=19,281, blocks of 2048: 4 and 16 cost 0.1-0.5 s more, 32 1.3 s).
_GROUP = 8
# Farthest images kept per image, for the normaliser: the images whose
# distance is within the error bound of the largest are 1 to 3 at
# Market-1501's size (2048-d, int8 products); a row whose kept images may
# miss one gets its exact max from the whole row.
_FAR = 4
# Searches over more images than this log their progress (at 50,000 x 2048,
# about 15 s on 2 CPU cores; a minute at MSMT17's 93,820).
_PROGRESS_MIN = 50_000


class _Groups(NamedTuple):
    """The strided groups of the rows of a block (see :class:`_Candidates`).

    ``rows``: the block or its transpose, ``[R, C]``; ``min``/``max``: the
    extrema of every group, ``[R, C // _GROUP]``; ``strides``: offsets of a
    group's entries from its index; ``tail``: the columns left out of the
    groups (fewer than ``_GROUP``).
    """
    rows: Tensor
    min: Tensor
    max: Tensor
    strides: Tensor
    tail: Tensor


def _groups(dist: Tensor, transposed: bool) -> _Groups:
    """Split every row of ``dist`` (every column if ``transposed``) into
    ``_GROUP`` strided groups: group ``g`` holds the entries
    ``g + t * (C // _GROUP)``, so that its min and max run over an outer
    dimension, vectorised over the inner one."""
    rows = dist.t() if transposed else dist
    length = rows.size(1)
    num_groups = length // _GROUP
    main = num_groups * _GROUP
    if not num_groups:
        group_min = group_max = rows.new_empty(len(rows), 0)
    elif transposed:
        grouped = dist[:main].view(_GROUP, num_groups, -1)
        group_min, group_max = grouped.amin(0).t(), grouped.amax(0).t()
    else:
        grouped = dist[:, :main].view(-1, _GROUP, num_groups)
        group_min, group_max = grouped.amin(1), grouped.amax(1)
    device = dist.device
    strides = torch.arange(0, main, max(num_groups, 1), device=device)
    tail = torch.arange(main, length, device=device)
    return _Groups(rows, group_min, group_max, strides, tail)


def _candidate_columns(groups: _Groups, bound: Tensor,
                       num_cand: int) -> Tuple[Tensor, Optional[Tensor]]:
    """Columns of every row of a block that may hold one of its
    ``num_cand`` smallest entries below ``bound``.

    Only a group whose min is below the row's bound may. While many are
    (a row's first blocks), the ``num_cand`` groups with the smallest
    minima are fewer and suffice: a group whose min is larger has
    ``num_cand`` smaller entries before it.

    Returns:
        tuple[Tensor, Tensor | None]: Columns, ``[R, M]``: whole groups,
        then the tail; and where groups were padded to the same number per
        row, a mask of the padding columns (else None).
    """
    below = groups.min < bound[:, None]
    count = below.sum(1)
    width = int(count.max()) if len(count) else 0
    padding = None
    if 2 * width > num_cand:
        group = groups.min.topk(
            min(num_cand, groups.min.size(1)), 1, largest=False,
            sorted=False)[1]
    else:
        row, slot_group = below.nonzero(as_tuple=True)
        slot = torch.arange(
            len(row), device=row.device) - (count.cumsum(0) - count)[row]
        group = row.new_zeros(len(bound), width)
        group[row, slot] = slot_group
        padding = torch.ones_like(group, dtype=torch.bool)
        padding[row, slot] = False
        padding = padding.repeat_interleave(len(groups.strides), 1)
    cols = torch.cat([(group[..., None] + groups.strides).flatten(1),
                      groups.tail.expand(len(bound), -1)], 1)
    return cols, padding


class _Candidates:
    """The closest candidates and farthest images of every image, updated
    block by block (the state of :func:`_coarse_search`).

    A row keeps its ``num_cand`` smallest values seen so far; in a new
    block, only the entries below the largest of them can replace one
    (see :func:`_candidate_columns`). Its ``_FAR`` largest values are kept
    alike, from the group maxima. The values take the dtype and device of
    ``like``.
    """

    def __init__(self, num: int, num_cand: int, like: Tensor):
        self.val = like.new_full((num, num_cand), float('inf'))
        self.idx = like.new_zeros((num, num_cand), dtype=torch.long)
        self.far_val = like.new_full((num, _FAR), -float('inf'))
        self.far_idx = like.new_zeros((num, _FAR), dtype=torch.long)

    def update(self, rows: slice, dist: Tensor, col_start: int,
               transposed: bool) -> None:
        """Take in the block ``dist`` of the rows ``rows`` (of its columns
        if ``transposed``), whose columns start at image ``col_start``."""
        groups = _groups(dist, transposed)
        self._update_far(rows, groups, col_start)
        cols, padding = _candidate_columns(groups, self.val[rows].amax(1),
                                           self.val.size(1))
        val = groups.rows.gather(1, cols)
        if padding is not None:
            val[:, :padding.size(1)].masked_fill_(padding, float('inf'))
        val = torch.cat([self.val[rows], val], 1)
        idx = torch.cat([self.idx[rows], cols + col_start], 1)
        val, pos = val.topk(self.val.size(1), 1, largest=False, sorted=False)
        self.val[rows], self.idx[rows] = val, idx.gather(1, pos)

    def _update_far(self, rows: slice, groups: _Groups,
                    col_start: int) -> None:
        """The ``_FAR`` farthest images of the rows with an entry beyond
        theirs so far (rarer with every block): they lie in the ``_FAR``
        groups with the largest maxima."""
        row_max = groups.max.amax(1) if groups.max.size(1) else None
        if len(groups.tail):
            tail_max = groups.rows[:, groups.tail].amax(1)
            row_max = tail_max if row_max is None else row_max.maximum(
                tail_max)
        active = (row_max > self.far_val[rows].amin(1)).nonzero().squeeze(1)
        if not len(active):
            return
        far = groups.tail.expand(len(active), -1)
        if groups.max.size(1):
            group = groups.max[active].topk(
                min(_FAR, groups.max.size(1)), 1, sorted=False)[1]
            far = torch.cat(
                [(group[..., None] + groups.strides).flatten(1), far], 1)
        val = groups.rows[active[:, None], far]
        active += rows.start
        val = torch.cat([self.far_val[active], val], 1)
        idx = torch.cat([self.far_idx[active], far + col_start], 1)
        val, pos = val.topk(_FAR, 1, sorted=False)
        self.far_val[active], self.far_idx[active] = val, idx.gather(1, pos)


class CoarseSearch(NamedTuple):
    """What the search of :func:`_coarse_search` finds.

    ``cand_dist``/``cand_idx``: block distances (float32, within the
    products' bound) and int64 indices of the closest candidates of every
    image, ``[N, num_cand]``, unordered;
    ``far_dist``/``far_idx``: block distances and indices of the ``_FAR``
    farthest images of every image, ``[N, _FAR]``, unordered (fewer than
    ``_FAR`` images: -inf and 0 fill the rest);
    ``query_gallery``: float32 distances of the first ``num_query`` images
    to the others, ``[num_query, N - num_query]``, or None.
    """
    cand_dist: Tensor
    cand_idx: Tensor
    far_dist: Tensor
    far_idx: Tensor
    query_gallery: Optional[Tensor]


def _coarse_search(features: CentredFeatures, num_cand: int, block: int,
                   num_query: Optional[int]) -> CoarseSearch:
    """Nearest candidates and farthest images of every image, from the
    float32 block distances of ``features.products``.

    An off-diagonal block of the symmetric distance matrix serves the rows
    of both of its image ranges, so half the matrix is computed. Blocks are
    visited by block column, whose right factors are built once; a search
    over more than ``_PROGRESS_MIN`` images logs its progress.

    Args:
        features (CentredFeatures): The features.
        num_cand (int): Candidates kept per image, at most ``N``.
        block (int): Images per block side.
        num_query (int, optional): Also keep the distances of the first
            ``num_query`` images to the others, which the search computes
            anyway. Defaults to None (not kept).

    Returns:
        CoarseSearch: The candidates, farthest images and kept distances.
    """
    products = features.products
    num = len(features)
    like = features.length.new_empty(0, dtype=torch.float32)
    found = _Candidates(num, num_cand, like)
    query_gallery = None if num_query is None else like.new_empty(
        (num_query, num - num_query))

    # One buffer for every block: a fresh one would be mapped and
    # page-faulted anew by the allocator each time.
    buf = like.new_empty(min(block, num)**2)
    starts = range(0, num, block)
    progress = _Progress(len(starts)) if num > _PROGRESS_MIN else None
    for j, start_j in enumerate(starts):
        end_j = min(start_j + block, num)
        for start_i in starts[:j + 1]:
            end_i = min(start_i + block, num)
            height, width = end_i - start_i, end_j - start_j
            dist = buf[:height * width].view(height, width)
            products.block(
                slice(start_i, end_i), slice(start_j, end_j), out=dist)
            found.update(slice(start_i, end_i), dist, start_j, False)
            if start_j != start_i:
                found.update(slice(start_j, end_j), dist, start_i, True)
            if query_gallery is not None and (start_i < num_query < end_j):
                # Query rows against gallery columns are all above the
                # diagonal: i < Q <= j.
                q_end, g_start = min(end_i, num_query), max(start_j, num_query)
                query_gallery[start_i:q_end, g_start - num_query:end_j -
                              num_query] = dist[:q_end - start_i,
                                                g_start - start_j:]
        if progress is not None:
            progress.step(j + 1)
    return CoarseSearch(found.val, found.idx, found.far_val, found.far_idx,
                        query_gallery)


class _Progress:
    """Logs, at most every tenth, how many of the blocks of a long neighbour
    search are done. Block column ``j`` holds ``j + 1`` blocks, so counting
    columns would report the first half of the work at 70%."""

    def __init__(self, num_columns: int) -> None:
        self.total = num_columns * (num_columns + 1) // 2
        self.next_tenth = 1

    def step(self, columns_done: int) -> None:
        done = columns_done * (columns_done + 1) // 2
        if done * 10 >= self.next_tenth * self.total:
            print_log(
                f're-ranking: neighbour search {done * 100 // self.total}% '
                f'({done}/{self.total} blocks)',
                logger='current')
            self.next_tenth = done * 10 // self.total + 1


def pair_sq_dist(features: CentredFeatures, rows: Tensor,
                 cols: Tensor) -> Tensor:
    """Exact squared distances of the pairs ``(rows[p], cols[p])``, float64,
    shape ``[P]``.

    Computed from float64 differences, in chunks of 8 MB copies: small
    enough for the C allocator to reuse their memory (larger ones are
    mapped and page-faulted anew each time).
    """
    out = features.length.new_empty(rows.shape)
    chunk = max(1, (1 << 20) // features.dim)
    for start in range(0, len(rows), chunk):
        end = start + chunk
        diff = features.uncentred_rows(rows[start:end])
        diff -= features.uncentred_rows(cols[start:end])
        out[start:end] = diff.pow_(2).sum(1)
    return out


def _sort_by_key(key: Tensor, idx: Tensor) -> Tuple[Tensor, Tensor]:
    """Sort each row by (key, idx)."""
    idx, pos = idx.sort(1)
    key, pos = key.gather(1, pos).sort(dim=1, stable=True)
    return key, idx.gather(1, pos)


def _exact_rows(features: CentredFeatures, rows: Tensor,
                num_keep: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Exact normaliser and nearest images of a few rows, from whole rows.

    Float64 distances, rounded to float32, of ``2^24`` row-image pairs at a
    time.

    Returns:
        tuple[Tensor, Tensor, Tensor]: The normaliser (``[R]``), and the
        normalised distances and indices of the ``num_keep`` nearest images
        sorted by (distance, index), ``[R, num_keep]``.
    """
    num = len(features)
    sq = features.length.square()
    norm, key, idx = [], [], []
    chunk = max(1, (1 << 24) // num)
    # Columns converted at once: 2 MB at 2048-d, used while in cache.
    col_chunk = max(1, (1 << 18) // features.dim)
    for start in range(0, len(rows), chunk):
        some = rows[start:start + chunk]
        feats = features.exact_rows(some)
        dist = feats.new_empty(len(some), num)
        for col in range(0, num, col_chunk):
            cols = torch.arange(
                col, min(col + col_chunk, num), device=rows.device)
            torch.mm(
                feats,
                features.exact_rows(cols).t(),
                out=dist[:, col:col + len(cols)])
        dist.mul_(-2).add_(sq[some, None]).add_(sq)
        dist = dist.float()
        norm.append(dist.max(1).values)
        # A stable sort of the rows leaves equal values in index order.
        val, pos = (dist / norm[-1][:, None]).sort(dim=1, stable=True)
        key.append(val[:, :num_keep])
        idx.append(pos[:, :num_keep])
    return torch.cat(norm), torch.cat(key), torch.cat(idx)


def _max_distances(features: CentredFeatures, found: CoarseSearch) -> Tensor:
    """The original's normaliser, the largest distance from every image
    (exact, rounded to float32), ``[N]``.

    It is at least ``L = max(v - e)`` over the kept farthest images, and
    only a kept image with ``v + e >= L`` can reach it, unless an image
    not kept can (the smallest kept ``v`` plus the bound to any image
    reaches ``L``): such rows are computed whole.
    """
    products = features.products
    rows = torch.arange(len(features), device=found.far_idx.device)
    val, idx = found.far_dist, found.far_idx
    err = products.bound(rows[:, None], idx).float()
    least = (val - err).amax(1)
    pair_row, pair_col = (val + err >= least[:, None]).nonzero(as_tuple=True)
    exact = pair_sq_dist(features, pair_row, idx[pair_row, pair_col]).float()
    max_dist = val.new_full(least.shape, -float('inf')).scatter_reduce_(
        0, pair_row, exact, 'amax')
    unsure = (val.amin(1) + products.bound_to_any(rows).float()
              >= least).nonzero().squeeze(1)
    if len(unsure):
        max_dist[unsure] = _exact_rows(features, unsure, 1)[0]
    return max_dist


class Neighbours(NamedTuple):
    """The ordered nearest images of every image (:func:`nearest_neighbours`).

    ``idx``: neighbour indices, int64, ``[N, num_cand]``, nearest first
    (the image itself first, ties by index); ``norm_dist``: their distances
    divided by ``max_dist`` of the row, float32; ``max_dist``: the largest
    squared distance from each image to any image (the original's
    normaliser), float32, ``[N]``; ``query_gallery``: see
    :class:`CoarseSearch`.
    """
    idx: Tensor
    norm_dist: Tensor
    max_dist: Tensor
    query_gallery: Optional[Tensor]


def nearest_neighbours(features: CentredFeatures,
                       set_sizes: Sequence[int],
                       num_cand: int,
                       chunk: int,
                       num_query: Optional[int] = None) -> Neighbours:
    """Nearest images of every image, ordered as the original orders them.

    The search gives every candidate distance ``v`` within a bound ``e``
    of the exact one (:meth:`.rerank_products.BlockProducts.bound`). A
    row's first ``s`` candidates are its ``s`` nearest images if
    ``max(v + e)`` over them is below ``min(v - e)`` over the others and
    over the images left out of the search. In a row failing this for a
    size in ``set_sizes`` (only the sets matter, not the order inside
    them), the candidates whose interval overlaps the boundary get their
    exact distances and the row is re-ordered; a row that may miss a true
    neighbour is computed whole.

    Args:
        features (CentredFeatures): The features.
        set_sizes (Sequence[int]): Neighbourhood sizes whose members must be
            exact, each at most ``num_cand``.
        num_cand (int): Candidates per image, at most ``N``.
        chunk (int): Block side of the search.
        num_query (int, optional): See :func:`_coarse_search`.

    Returns:
        Neighbours: ``num_cand`` ordered neighbours of every image.
    """
    num = len(features)
    device = features.length.device
    found = _coarse_search(features, num_cand, chunk, num_query)
    cand_val, cand_idx = _sort_by_key(found.cand_dist, found.cand_idx)

    products = features.products
    rows = torch.arange(num, device=device)
    err = products.bound(rows[:, None], cand_idx).float()
    upper = (cand_val + err).cummax(1).values
    lower = (cand_val - err).flip(1).cummin(1).values.flip(1)
    if num_cand < num:
        # Images outside the candidates are at least this far.
        reach = products.bound_to_any(rows[:, None]).float()
        outside = cand_val[:, -1:] - reach
        lower = torch.cat([torch.minimum(lower, outside), outside], 1)
    # A candidate is ambiguous for a size if its interval overlaps the
    # boundary between the first ``size`` candidates and the others; every
    # other candidate is on the right side of that boundary whatever the
    # exact distances of the ambiguous ones are.
    ambiguous = torch.zeros_like(cand_val, dtype=torch.bool)
    inside = torch.arange(num_cand, device=device)
    for size in set_sizes:
        if size < lower.size(1):
            ambiguous |= torch.where(
                inside < size, cand_val + err >= lower[:, size, None],
                cand_val - err <= upper[:, size - 1, None])

    max_dist = _max_distances(features, found)
    unsettled = ambiguous.any(1).nonzero().squeeze(1)
    if num_cand < num:
        # Rows that may miss a true neighbour: exact whole rows.
        complete = upper[unsettled, max(set_sizes) - 1] < lower[unsettled, -1]
        incomplete, unsettled = unsettled[~complete], unsettled[complete]
    # Unsettled rows are re-ordered with the exact distances of their
    # ambiguous candidates. The 10% slack of the bounds keeps the others
    # further from the boundaries than the float32 rounding of the
    # normalisation below, so it cannot create a tie across a boundary.
    sub = ambiguous[unsettled]
    pair_row, pair_col = sub.nonzero(as_tuple=True)
    pair_row = unsettled[pair_row]
    key = cand_val[unsettled]
    key[sub] = pair_sq_dist(features, pair_row, cand_idx[pair_row,
                                                         pair_col]).float()
    norm_dist = cand_val / max_dist[:, None]
    norm_dist[unsettled], cand_idx[unsettled] = _sort_by_key(
        key / max_dist[unsettled, None], cand_idx[unsettled])
    if num_cand < num and len(incomplete):
        (max_dist[incomplete], norm_dist[incomplete],
         cand_idx[incomplete]) = _exact_rows(features, incomplete, num_cand)
    return Neighbours(cand_idx, norm_dist, max_dist, found.query_gallery)
