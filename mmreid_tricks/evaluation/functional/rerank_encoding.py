"""The k-reciprocal encoding of re-ranking, and the final distances.

From the ordered neighbours of :mod:`.rerank_search`: the expanded
k-reciprocal sets, their Gaussian-kernel weights ``V`` (sparse, a few dozen
nonzeros per row), the local query expansion as a sparse product, and the
Jaccard distances of a chunk of queries through the gallery nonzeros of
every column of ``V``.
"""
import warnings
from typing import NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from .rerank_features import CentredFeatures
from .rerank_search import nearest_neighbours, pair_sq_dist

# Candidates kept by the float32 search beyond the largest neighbourhood.
# A row whose true neighbours may lie outside its candidates (float32 error
# larger than the gap to the next candidates) is recomputed whole, at
# O(N D) each; 8 spare candidates make that rare on real and random features
# while adding only 8 / (k1 + 1) to the candidate bookkeeping.
_MARGIN = 8


class SparseRows(NamedTuple):
    """Nonzeros of a sparse ``[N, N]`` matrix, row by row (CSR).

    ``row_ptr`` (``[N + 1]``) delimits each row in ``cols`` and ``vals``;
    columns are sorted within a row.
    """
    row_ptr: Tensor
    cols: Tensor
    vals: Tensor


class Encoding(NamedTuple):
    """What the re-ranked distances of any query need.

    ``features``: the features, whose products give the squared distances
    (see :class:`.rerank_features.CentredFeatures`); ``max_dist``: the
    largest squared distance from each image to any image, which
    normalises its row, float32 ``[N]``; ``V``: the query-expanded
    k-reciprocal encoding;
    ``gallery_by_col``: its gallery rows by column (row indices int32).
    """
    features: CentredFeatures
    max_dist: Tensor
    V: SparseRows
    gallery_by_col: SparseRows


def _member_lookup(sorted_keys: Tensor, keys: Tensor) -> Tuple[Tensor, Tensor]:
    """Where each of ``keys`` is in ``sorted_keys``, and whether it is.

    Returns:
        tuple[Tensor, Tensor]: Positions (int64) and a bool mask, ``[P]``.
    """
    pos = torch.searchsorted(sorted_keys, keys)
    pos.clamp_(max=max(len(sorted_keys) - 1, 0))
    return pos, sorted_keys[pos] == keys


def _segments(ptr: Tensor, segs: Tensor) -> Tuple[Tensor, Tensor]:
    """Entries of the segments ``segs`` of a CSR-like flat array.

    Args:
        ptr (Tensor): Segment boundaries, int64, ``[S + 1]``.
        segs (Tensor): Segments to gather, int64, ``[M]``.

    Returns:
        tuple[Tensor, Tensor]: For every gathered entry, the index in
        ``segs`` of its segment and its position in the flat array, int64.
    """
    lens = ptr[segs + 1] - ptr[segs]
    which = torch.repeat_interleave(
        torch.arange(len(segs), device=segs.device), lens)
    # position = segment start + rank inside the segment
    shift = ptr[segs] - (lens.cumsum(0) - lens)
    return which, torch.arange(len(which), device=segs.device) + shift[which]


def _csr(rows: Tensor, cols: Tensor, vals: Tensor, num: int) -> SparseRows:
    """CSR of nonzeros sorted by row then column."""
    row_ptr = rows.new_zeros(num + 1)
    row_ptr[1:] = torch.bincount(rows, minlength=num).cumsum(0)
    return SparseRows(row_ptr, cols, vals)


def _reciprocal(nbr: Tensor, size: int, chunk: int) -> Tensor:
    """``recip[i, a]``: is ``i`` among the ``size`` nearest of ``nbr[i, a]``.

    Args:
        nbr (Tensor): Ordered neighbours, int64, ``[N, >= size]``.
        size (int): Neighbourhood size, the image itself included.
        chunk (int): Rows processed at once.

    Returns:
        Tensor: bool, ``[N, size]``.
    """
    nbr = nbr[:, :size]
    ids = torch.arange(len(nbr), device=nbr.device)
    return torch.cat([(nbr[nbr[s:s + chunk]] == ids[s:s + chunk, None,
                                                    None]).any(2)
                      for s in range(0, len(nbr), chunk)])


def k_reciprocal_expansion(nbr: Tensor, k1: int,
                           chunk: int) -> Tuple[Tensor, Tensor]:
    """The expanded k-reciprocal set of every image, as (row, col) pairs.

    With ``R(i, k)`` the ``k + 1`` nearest images of ``i`` (itself first),
    ``K(i, k) = {j in R(i, k) : i in R(j, k)}``. For every ``c`` in
    ``K(i, k1)``, ``K(c, round(k1 / 2))`` joins ``K(i, k1)`` if more than
    two thirds of it lie in ``K(i, k1)``.

    Args:
        nbr (Tensor): Ordered neighbours, int64, ``[N, >= k1 + 1]``, or
            ``[N, N]`` if ``N <= k1``.
        k1 (int): The neighbourhood size.
        chunk (int): Rows processed at once.

    Returns:
        tuple[Tensor, Tensor]: Row and column of every member, int64,
        sorted by row then column, without duplicates.
    """
    num = len(nbr)
    size = min(k1 + 1, num)
    # round() rounds halves to even, as numpy's around does.
    half_size = min(int(round(k1 / 2)) + 1, num)
    # K(i, k1) as flat (i, c) pairs and as sorted keys i * N + c.
    rows, slots = _reciprocal(nbr, size, chunk).nonzero(as_tuple=True)
    cols = nbr[rows, slots]
    keys = rows * num + cols
    sorted_keys = keys.sort().values
    # K(c, k1 / 2) of every image, in CSR form.
    half_recip = _reciprocal(nbr, half_size, chunk)
    half_ptr = rows.new_zeros(num + 1)
    half_ptr[1:] = half_recip.sum(1).cumsum(0)
    half_members = nbr[:, :half_size][half_recip]
    # For each member c of K(i, k1), each h in K(c, k1 / 2): is h in K(i)?
    which, pos = _segments(half_ptr, cols)
    added_keys = rows[which] * num + half_members[pos]
    inside = _member_lookup(sorted_keys, added_keys)[1]
    count = torch.zeros_like(cols).index_add_(0, which, inside.long())
    # 3 * count > 2 * size is the original's count > 2/3 * size, exactly.
    half_len = half_ptr.diff()[cols]
    add = (3 * count > 2 * half_len)[which]
    # The added members already in K(i, k1) (most: over two thirds of every
    # added set) would only be duplicates.
    members = torch.unique(torch.cat([keys, added_keys[add & ~inside]]))
    return torch.div(members, num, rounding_mode='floor'), members % num


def _query_expansion(V: SparseRows, nbr: Tensor, k2: int) -> SparseRows:
    """Each row of ``V`` replaced by the mean of the rows of its ``k2``
    nearest images (itself included).

    A sparse product ``A @ V``, ``A[i, j] = 1`` for the ``k2`` nearest
    ``j`` of ``i``, then a division by ``k2``, as the original sums and
    divides.
    """
    num = len(nbr)
    device = nbr.device
    with warnings.catch_warnings():
        # "Sparse CSR tensor support is in beta state"
        warnings.simplefilter('ignore', UserWarning)
        select = torch.sparse_csr_tensor(
            torch.arange(0, num * k2 + 1, k2, device=device),
            nbr[:, :k2].sort(1).values.flatten(),
            V.vals.new_ones(num * k2),
            size=(num, num))
        V = torch.sparse_csr_tensor(V.row_ptr, V.cols, V.vals, size=(num, num))
        V = torch.sparse.mm(select, V)
    return SparseRows(V.crow_indices(), V.col_indices(), V.values() / k2)


def encode(
        query_feats: Tensor,
        gallery_feats: Tensor,
        k1: int,
        k2: int,
        metric: str,
        chunk_size: int,
        arithmetic: Optional[str] = None,
        keep_query_gallery: bool = False) -> Tuple[Encoding, Optional[Tensor]]:
    """Neighbour search and the query-expanded k-reciprocal encoding.

    Args:
        query_feats, gallery_feats, k1, k2, metric, chunk_size, arithmetic:
            See :func:`.rerank.k_reciprocal_rerank`.
        keep_query_gallery (bool): Also return the float32 query-gallery
            squared distances, ``[Q, G]``, which the search computes anyway.
            Defaults to False.

    Returns:
        tuple[Encoding, Tensor | None]: The encoding, and the distances if
        kept.
    """
    features = CentredFeatures(query_feats, gallery_feats, metric, arithmetic)
    num = len(features)
    num_q = len(query_feats)
    k2 = min(k2, num)
    sizes = [min(k1 + 1, num), min(int(round(k1 / 2)) + 1, num), k2]
    num_cand = min(max(sizes) + _MARGIN, num)
    found = nearest_neighbours(
        features,
        sizes,
        num_cand,
        chunk_size,
        num_query=num_q if keep_query_gallery else None)
    nbr, max_dist = found.idx, found.max_dist

    rows, cols = k_reciprocal_expansion(nbr, k1, chunk_size)
    # Normalised distances of the members: most are among the neighbours
    # found, the others are computed.
    nbr_keys, order = (torch.arange(num, device=nbr.device)[:, None] * num +
                       nbr).flatten().sort()
    pos, is_nbr = _member_lookup(nbr_keys, rows * num + cols)
    dist = found.norm_dist.flatten()[order[pos]]
    missing = (~is_nbr).nonzero().squeeze(1)
    dist[missing] = pair_sq_dist(
        features, rows[missing],
        cols[missing]).float() / max_dist[rows[missing]]
    del nbr_keys, order, pos, is_nbr, missing
    # Gaussian kernel weights, each row summing to one.
    weight = torch.exp(-dist)
    row_sum = weight.new_zeros(num).index_add_(0, rows, weight)
    V = _csr(rows, cols, weight / row_sum[rows], num)
    if k2 > 1:
        V = _query_expansion(V, nbr, k2)

    # The gallery rows of V by column: for a query's nonzero column c, the
    # gallery images with a nonzero in c.
    rows = torch.repeat_interleave(
        torch.arange(num, device=nbr.device), V.row_ptr.diff())
    in_gallery = rows >= num_q
    cols = V.cols[in_gallery]
    order = cols.argsort(stable=True)
    by_col = _csr(cols[order], (rows[in_gallery][order] - num_q).int(),
                  V.vals[in_gallery][order], num)
    return Encoding(features, max_dist, V, by_col), found.query_gallery


# The final rows correct only the pairs sharing a column when the (query,
# gallery image, column) triples are fewer than 1/8 of the rows' entries:
# at Market's size, 2.7% of them at 2048-d (normalised), 25% at 512-d raw,
# where sorting and random access for every triple were slower (0.42 vs
# 0.24 s).
_SPARSE_PAIRS = 8


def rerank_rows(enc: Encoding, num_q: int, lambda_value: float, start: int,
                dist: Tensor) -> Tensor:
    """Turn ``dist``, the squared distances of the queries from ``start``
    to the gallery (``[R, G]``), into their re-ranked distances, in place.
    """
    end = start + len(dist)
    V, by_col = enc.V, enc.gallery_by_col
    num_g = len(enc.max_dist) - num_q
    device = enc.max_dist.device
    # overlap[i, g] = sum_c min(V[i, c], V[g, c]) over the columns c they
    # share: one (i, g, c) triple for each query nonzero (i, c) and each
    # gallery nonzero in column c. int32 indices halve the memory traffic.
    lo, hi = int(V.row_ptr[start]), int(V.row_ptr[end])
    cols, vals = V.cols[lo:hi], V.vals[lo:hi]
    lens = by_col.row_ptr[cols + 1] - by_col.row_ptr[cols]
    num_pairs = int(lens.sum())
    # Flat positions below 2^31 fit int32, which halves the traffic of the
    # index arithmetic; beyond (huge chunks), int64.
    small = max(num_pairs, (end - start) * num_g) < 2**31
    dtype = torch.int32 if small else torch.long
    base = torch.repeat_interleave(
        torch.arange(
            0, (end - start) * num_g, num_g, device=device, dtype=dtype),
        V.row_ptr[start + 1:end + 1] - V.row_ptr[start:end])
    first = (by_col.row_ptr[cols] - (lens.cumsum(0) - lens)).to(dtype)
    pos = torch.repeat_interleave(first, lens, output_size=num_pairs)
    pos += torch.arange(num_pairs, device=device, dtype=dtype)
    flat = torch.repeat_interleave(base, lens, output_size=num_pairs)
    flat += by_col.cols[pos]
    common = torch.repeat_interleave(vals, lens, output_size=num_pairs)
    torch.minimum(common, by_col.vals[pos], out=common)
    del pos
    # Rows of V sum to one, so sum_c max(V[i, c], V[g, c]) = 2 - s and the
    # Jaccard distance is 1 - s / (2 - s) = 2 + 2 / (s - 2): 1 for the
    # pairs sharing no column, 1 + s / (s - 2) for the others.
    scale = (lambda_value / enc.max_dist[start:end])[:, None]
    weight = 1 - lambda_value
    if num_pairs * _SPARSE_PAIRS < dist.numel():
        # Most pairs share nothing: one pass, lambda d / max + 1 - lambda,
        # then a correction of the pairs that share a column.
        pairs, which = torch.unique(flat, return_inverse=True)
        overlap = common.new_zeros(len(pairs)).index_add_(0, which, common)
        del flat, which, common
        torch.addcmul(dist.new_full((1, ), weight), dist, scale, out=dist)
        flat_dist = dist.view(-1)
        flat_dist[pairs] += overlap.div_(overlap - 2).mul_(weight)
        return dist
    # Dense overlaps: five passes over the rows, no temporary.
    overlap = vals.new_zeros(dist.numel()).index_add_(0, flat, common)
    del flat, common
    inverse = overlap.sub_(2).reciprocal_().view_as(dist)
    return dist.mul_(scale).add_(inverse, alpha=2 * weight).add_(2 * weight)
