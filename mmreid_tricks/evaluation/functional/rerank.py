"""Post-processing of ReID retrieval: k-reciprocal re-ranking and alpha-QE.

:func:`k_reciprocal_rerank` computes the final distances of "Re-ranking
Person Re-identification with k-reciprocal Encoding" (Zhong et al., CVPR
2017) as the widely used dense implementation does, without any ``N x N``
array (``N = Q + G``) and without sorting any row:

- only the ``k1 + 1`` nearest neighbours of every image (and its farthest
  one, for the normalisation) matter; they are selected block by block of
  the symmetric distance matrix, of which only the blocks on and above the
  diagonal are computed;
- the encoding ``V`` has a few dozen nonzeros per row and is kept sparse;
  the local query expansion is a sparse matrix product;
- the Jaccard distance of a query only involves the gallery images sharing
  a nonzero column with it, enumerated column by column.

Time is ``O(N^2 D / 2)`` for the neighbour search plus ``O(N k1^2)`` and
the Jaccard pairs; memory is ``O(N (k1 + D))``, ``O(chunk_size^2)`` for the
search, and the ``Q x G`` output, which :func:`k_reciprocal_rerank_fn`
avoids by producing it a chunk of queries at a time. Everything is torch and
runs on the features' device.

Equivalence with the original. The original divides the squared distances
by the max of their column and sorts every row of these float32 values, so
its neighbour sets depend on float32 rounding wherever two distances are
closer than it (they then also depend on its BLAS). Here the neighbour
sets are those of the exact distances rounded to float32, ties broken by
image index, which is what the original computes whenever its rounding
does not decide: the float32 search comes with a worst-case error bound,
and every row whose sets the bound does not settle is re-ordered with
float64 distances. The values equal the original's to float32 rounding
(``~1e-6``).
"""
import contextlib
import warnings
from typing import Callable, Iterator, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'k_reciprocal_rerank', 'k_reciprocal_rerank_fn', 'average_query_expansion'
]

# Produces the rows ``start:end`` of the re-ranked distance matrix, shape
# ``[end - start, G]``: the ``distmat`` callable of ``rank_metrics``.
DistChunkFn = Callable[[int, int], Tensor]

_METRICS = ('euclidean', 'cosine')
# Candidates kept beyond the largest neighbourhood by the float32 search, so
# that float32 errors rarely leave a row without all its true neighbours.
_MARGIN = 8
# Entries per group of the two-stage selection of _select.
_GROUP = 16


class _SparseRows(NamedTuple):
    """Nonzeros of a sparse ``[N, N]`` matrix, row by row (CSR).

    ``row_ptr`` (``[N + 1]``) delimits each row in ``cols`` and ``vals``;
    columns are sorted within a row.
    """
    row_ptr: Tensor
    cols: Tensor
    vals: Tensor


class _Encoding(NamedTuple):
    """What the re-ranked distances of any query need.

    ``left`` and ``right``: augmented float32 features, ``[N, D + pad]``,
    ``left[i] @ right[j]`` being the squared distance (see
    :func:`_augmented`); ``norm``: the max distance of each image, float32
    ``[N]``; ``V``: the query-expanded k-reciprocal encoding;
    ``gallery_by_col``: its gallery rows by column (row indices int32).
    """
    left: Tensor
    right: Tensor
    norm: Tensor
    V: _SparseRows
    gallery_by_col: _SparseRows


def _check_features(query_feats: Tensor, gallery_feats: Tensor) -> None:
    if query_feats.dim() != 2 or gallery_feats.dim() != 2 or (
            query_feats.size(1) != gallery_feats.size(1)):
        raise ValueError('query and gallery features must be [Q, D] and '
                         '[G, D] with the same D, got '
                         f'{tuple(query_feats.shape)} and '
                         f'{tuple(gallery_feats.shape)}')
    if len(query_feats) == 0 or len(gallery_feats) == 0:
        raise ValueError('query and gallery must not be empty')


def _check_args(query_feats: Tensor, gallery_feats: Tensor, k1: int,
                k2: int, lambda_value: float, metric: str,
                chunk_size: int) -> None:
    _check_features(query_feats, gallery_feats)
    if metric not in _METRICS:
        raise ValueError(f'metric must be one of {_METRICS}, got {metric!r}')
    if k1 < 1 or k2 < 1 or chunk_size < 1:
        raise ValueError('k1, k2 and chunk_size must be positive, got '
                         f'{k1}, {k2} and {chunk_size}')
    if not 0 <= lambda_value <= 1:
        raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value}')


def _centred_features(query_feats: Tensor, gallery_feats: Tensor,
                      metric: str) -> Tensor:
    """All features in float64 minus their mean, shape ``[N, D]``.

    Squared distances do not change under a translation, and centring avoids
    the cancellation in ``|x|^2 + |y|^2 - 2 x.y`` when the features share a
    large mean (post-ReLU embeddings do). ``1 - cos`` is half the squared
    distance of L2-normalised features; the normalisation by the max
    cancels the half.
    """
    feats = torch.cat([query_feats, gallery_feats.to(query_feats.device)])
    feats = feats.double()
    if metric == 'cosine':
        feats = F.normalize(feats, dim=1)
    return feats - feats.mean(0)


def _augmented(feats: Tensor,
               dtype: Optional[torch.dtype] = None) -> Tuple[Tensor, Tensor]:
    """Factors whose products are squared distances.

    ``[x, |x|^2, 1] . [-2 y, 1, |y|^2] = |x - y|^2``: the matrix product
    alone gives the distances, without passes over the ``N x N`` blocks to
    add the norms. Zero columns pad the width to a multiple of 16. The
    norms are computed in the features' dtype, then cast.

    Args:
        feats (Tensor): Features, shape ``[N, D]``.
        dtype (torch.dtype, optional): Dtype of the factors. Defaults to
            the features' dtype.

    Returns:
        tuple[Tensor, Tensor]: Left and right factors, ``[N, D + pad]``.
    """
    num, dim = feats.shape
    width = (dim + 2 + 15) // 16 * 16
    sq = feats.pow(2).sum(1)
    left = feats.new_zeros(num, width, dtype=dtype)
    right = feats.new_zeros(num, width, dtype=dtype)
    left[:, :dim], left[:, dim], left[:, dim + 1] = feats, sq, 1
    right[:, :dim], right[:, dim], right[:, dim + 1] = -2 * feats, 1, sq
    return left, right


@contextlib.contextmanager
def _full_float32_matmul() -> Iterator[None]:
    """Plain float32 matrix products (no TF32 or bfloat16 passes), whose
    error bound :func:`_neighbours` relies on."""
    precision = torch.get_float32_matmul_precision()
    allow_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.set_float32_matmul_precision('highest')
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(precision)
        torch.backends.cuda.matmul.allow_tf32 = allow_tf32


def _select(dist: Tensor,
            k: int,
            transposed: bool = False) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Candidates for the ``k`` smallest entries of every row, and its max.

    The entries of a row are split into ``_GROUP`` strided groups; the
    ``k`` smallest entries lie in the ``k`` groups with the smallest minima
    (a group whose minimum is larger has ``k`` smaller entries before it),
    so a vectorised min over the groups and a ``topk`` of the minima leave
    ``k * _GROUP`` candidates per row. Likewise, one group holds the max.

    Args:
        dist (Tensor): Contiguous, shape ``[R, C]``.
        k (int): Number of smallest entries wanted.
        transposed (bool): Select in the columns of ``dist`` instead, as if
            it were ``dist.t()``, without copying it. Defaults to False.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: Values and positions of at
        least ``min(k, C)`` candidates including the ``k`` smallest entries,
        ``[R, M]``; value and position of the max, ``[R]`` (``[C, M]`` and
        ``[C]`` if transposed).
    """
    rows = dist.t() if transposed else dist
    length = rows.size(1)
    num_groups = length // _GROUP
    main = num_groups * _GROUP
    tail = torch.arange(main, length, device=dist.device).expand(
        len(rows), -1)
    if num_groups:
        # Group g holds the entries g + t * num_groups, t < _GROUP: the min
        # and max run over an outer dimension, vectorised over the inner.
        if transposed:
            grouped = dist[:main].view(_GROUP, num_groups, -1)
            group_min = grouped.amin(0).t()
            group_max = grouped.amax(0).t()
        else:
            grouped = dist[:, :main].view(-1, _GROUP, num_groups)
            group_min = grouped.amin(1)
            group_max = grouped.amax(1)
        strides = torch.arange(0, main, num_groups, device=dist.device)
        group = group_min.topk(
            min(k, num_groups), 1, largest=False, sorted=False)[1]
        cand = torch.cat([(group[..., None] + strides).flatten(1), tail], 1)
        group = group_max.argmax(1, keepdim=True)
        far = torch.cat([group + strides, tail], 1)
    else:
        cand = far = tail
    far_val, pos = rows.gather(1, far).max(1, keepdim=True)
    return (rows.gather(1, cand), cand, far_val.squeeze(1),
            far.gather(1, pos).squeeze(1))


def _coarse_search(
        left: Tensor,
        right: Tensor,
        num_cand: int,
        block: int,
        out: Optional[Tensor] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Float32 nearest candidates and farthest image of every image.

    An off-diagonal block of the symmetric distance matrix serves the rows
    of both of its image ranges, so half the matrix is computed.

    Args:
        left (Tensor): Left factors of :func:`_augmented`, ``[N, W]``.
        right (Tensor): Right factors of :func:`_augmented`, ``[N, W]``.
        num_cand (int): Candidates kept per image, at most ``N``.
        block (int): Images per block side.
        out (Tensor, optional): If given, shape ``[Q, N - Q]``, receives the
            float32 distances between the first Q images and the others.

    Returns:
        tuple[Tensor, Tensor, Tensor]: Distances (float32) and indices
        (int64) of the ``num_cand`` closest images, ``[N, num_cand]``,
        unordered; the farthest image of each image, int64, ``[N]``.
    """
    num, device = len(left), left.device
    num_q = num if out is None else len(out)
    cand_val = left.new_full((num, num_cand), float('inf'))
    cand_idx = torch.zeros(num, num_cand, dtype=torch.long, device=device)
    far_val = left.new_full((num, ), -float('inf'))
    far_idx = torch.zeros(num, dtype=torch.long, device=device)

    def update(rows: slice, dist: Tensor, col_start: int,
               transposed: bool) -> None:
        val, idx, far_v, far = _select(dist, num_cand, transposed)
        val = torch.cat([cand_val[rows], val], 1)
        idx = torch.cat([cand_idx[rows], idx + col_start], 1)
        val, pos = val.topk(num_cand, 1, largest=False, sorted=False)
        cand_val[rows], cand_idx[rows] = val, idx.gather(1, pos)
        better = far_v > far_val[rows]
        far_val[rows] = torch.where(better, far_v, far_val[rows])
        far_idx[rows] = torch.where(better, far + col_start, far_idx[rows])

    starts = range(0, num, block)
    for i, start_i in enumerate(starts):
        end_i = min(start_i + block, num)
        for start_j in starts[i:]:
            end_j = min(start_j + block, num)
            dist = left[start_i:end_i] @ right[start_j:end_j].t()
            update(slice(start_i, end_i), dist, start_j, False)
            if start_j != start_i:
                update(slice(start_j, end_j), dist, start_i, True)
            if out is not None and start_i < num_q and end_j > num_q:
                # Query rows against gallery columns are all above the
                # diagonal: i < Q <= j.
                q_end, g_start = min(end_i, num_q), max(start_j, num_q)
                out[start_i:q_end, g_start - num_q:end_j - num_q] = dist[
                    :q_end - start_i, g_start - start_j:]
    return cand_val, cand_idx, far_idx


def _pair_sq_dist(feats: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """Squared distances of the pairs ``(rows[p], cols[p])``, shape ``[P]``.

    Computed from the differences in the dtype of ``feats`` (float64), in
    chunks that bound the gathered copies to 32 MB.
    """
    out = feats.new_empty(rows.shape)
    chunk = max(1, (1 << 22) // feats.size(1))
    for start in range(0, len(rows), chunk):
        end = start + chunk
        diff = feats.index_select(0, rows[start:end])
        diff -= feats.index_select(0, cols[start:end])
        out[start:end] = diff.pow_(2).sum(1)
    return out


def _cand_sq_dist(feats: Tensor, rows: Tensor, cand: Tensor) -> Tensor:
    """Squared distances of ``rows[r]`` to ``cand[r, c]``, ``[R, C]``.

    As :func:`_pair_sq_dist`, gathering each row's features once.
    """
    out = feats.new_empty(cand.shape)
    chunk = max(1, (1 << 22) // (feats.size(1) * cand.size(1)))
    for start in range(0, len(rows), chunk):
        end = start + chunk
        diff = feats.index_select(0, cand[start:end].flatten()).view(
            -1, cand.size(1), feats.size(1))
        diff -= feats.index_select(0, rows[start:end])[:, None]
        out[start:end] = diff.pow_(2).sum(2)
    return out


def _sort_by_key(key: Tensor, idx: Tensor) -> Tuple[Tensor, Tensor]:
    """Sort each row by (key, idx)."""
    idx, pos = idx.sort(1)
    key, pos = key.gather(1, pos).sort(dim=1, stable=True)
    return key, idx.gather(1, pos)


def _exact_rows(feats64: Tensor, rows: Tensor,
                num_keep: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Exact normaliser and nearest images of a few rows, from whole rows.

    Rows are processed 2^24 distances at a time.

    Returns:
        tuple[Tensor, Tensor, Tensor]: The normaliser (``[R]``), and the
        normalised distances and indices of the ``num_keep`` nearest images
        sorted by (distance, index), ``[R, num_keep]``.
    """
    left, right = _augmented(feats64)
    norm, key, idx = [], [], []
    chunk = max(1, (1 << 24) // len(feats64))
    for start in range(0, len(rows), chunk):
        dist = (left[rows[start:start + chunk]] @ right.t()).float()
        norm.append(dist.max(1).values)
        # A stable sort of the rows leaves equal values in index order.
        val, pos = (dist / norm[-1][:, None]).sort(dim=1, stable=True)
        key.append(val[:, :num_keep])
        idx.append(pos[:, :num_keep])
    return torch.cat(norm), torch.cat(key), torch.cat(idx)


def _neighbours(feats64: Tensor, left: Tensor, right: Tensor,
                query_out: Optional[Tensor], set_sizes: Sequence[int],
                num_cand: int, chunk: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Nearest images of every image, ordered as the original orders them.

    The float32 search gives every candidate distance ``v`` within a bound
    ``e`` of the exact one: ``|v - d| <= gamma_{D+8} (|x| + |y|)^2``, where
    ``gamma_n = n u / (1 - n u)`` bounds a float32 dot product of ``n``
    terms in any summation order (``D + 2`` here) and the remaining terms
    cover the rounding of the features and norms to float32. A row's first
    ``s`` candidates are its ``s`` nearest images if ``max(v + e)`` over
    them is below ``min(v - e)`` over the others and over the images left
    out of the search. A row failing this for a size in ``set_sizes`` (only
    the sets matter, not the order inside them) is re-ordered by its exact
    distances; one that may miss a true neighbour is computed whole.

    Args:
        feats64 (Tensor): Centred features, float64, ``[N, D]``.
        left (Tensor): Float32 left factors of :func:`_augmented`.
        right (Tensor): Float32 right factors of :func:`_augmented`.
        query_out (Tensor, optional): See ``out`` of :func:`_coarse_search`.
        set_sizes (Sequence[int]): Neighbourhood sizes whose members must be
            exact, each at most ``num_cand``.
        num_cand (int): Candidates per image, at most ``N``.
        chunk (int): Block side of the search.

    Returns:
        tuple[Tensor, Tensor, Tensor]: Neighbour indices (int64) and their
        normalised distances (float32), ``[N, num_cand]``, nearest first;
        the normaliser of each image, float32, ``[N]``.
    """
    num, dim = feats64.shape
    device = feats64.device
    with _full_float32_matmul():
        cand_val, cand_idx, far_idx = _coarse_search(
            left, right, num_cand, chunk, query_out)
    cand_val, cand_idx = _sort_by_key(cand_val, cand_idx)

    # Float32 u = 2^-24; 1.1 is slack for the rounding of the bounds.
    roundoff = (dim + 8) * 2.0**-24
    gamma = 1.1 * roundoff / (1 - roundoff)
    length = feats64.norm(dim=1)
    err = (gamma * (length[:, None] + length[cand_idx]).pow(2)).float()
    upper = (cand_val + err).cummax(1).values
    lower = (cand_val - err).flip(1).cummin(1).values.flip(1)
    if num_cand < num:
        # Images outside the candidates are at least this far.
        outside = (cand_val[:, -1:] - gamma *
                   (length[:, None] + length.max()).pow(2).float())
        lower = torch.cat([torch.minimum(lower, outside), outside], 1)
    settled = torch.ones(num, dtype=torch.bool, device=device)
    for size in set_sizes:
        if size < lower.size(1):
            settled &= upper[:, size - 1] < lower[:, size]

    # The original divides by the column max of the float32 distances: the
    # exact distance to the farthest image, rounded to float32.
    rows = torch.arange(num, device=device)
    norm = _pair_sq_dist(feats64, rows, far_idx).float()
    key = cand_val / norm[:, None]
    unsettled = (~settled).nonzero().squeeze(1)
    if num_cand < num:
        # Rows that may miss a true neighbour: exact whole rows.
        complete = upper[unsettled, max(set_sizes) - 1] < lower[unsettled,
                                                                 -1]
        incomplete, unsettled = unsettled[~complete], unsettled[complete]
        if len(incomplete):
            norm[incomplete], key[incomplete], cand_idx[incomplete] = \
                _exact_rows(feats64, incomplete, num_cand)
    if len(unsettled):
        dist = _cand_sq_dist(feats64, unsettled,
                             cand_idx[unsettled]).float()
        key[unsettled], cand_idx[unsettled] = _sort_by_key(
            dist / norm[unsettled, None], cand_idx[unsettled])
    return cand_idx, key, norm


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


def _csr(rows: Tensor, cols: Tensor, vals: Tensor, num: int) -> _SparseRows:
    """CSR of nonzeros sorted by row then column."""
    row_ptr = rows.new_zeros(num + 1)
    row_ptr[1:] = torch.bincount(rows, minlength=num).cumsum(0)
    return _SparseRows(row_ptr, cols, vals)


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
    return torch.cat([
        (nbr[nbr[s:s + chunk]] == ids[s:s + chunk, None, None]).any(2)
        for s in range(0, len(nbr), chunk)
    ])


def _k_reciprocal_expansion(nbr: Tensor, k1: int,
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
    members = torch.unique(torch.cat([keys, added_keys[add]]))
    return torch.div(members, num, rounding_mode='floor'), members % num


def _query_expansion(V: _SparseRows, nbr: Tensor, k2: int) -> _SparseRows:
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
        V = torch.sparse_csr_tensor(
            V.row_ptr, V.cols, V.vals, size=(num, num))
        V = torch.sparse.mm(select, V)
    return _SparseRows(V.crow_indices(), V.col_indices(), V.values() / k2)


def _encode(query_feats: Tensor, gallery_feats: Tensor, k1: int, k2: int,
            metric: str, chunk_size: int,
            query_out: Optional[Tensor]) -> _Encoding:
    """Neighbour search and the query-expanded k-reciprocal encoding."""
    feats64 = _centred_features(query_feats, gallery_feats, metric)
    num = len(feats64)
    num_q = len(query_feats)
    k2 = min(k2, num)
    sizes = [min(k1 + 1, num), min(int(round(k1 / 2)) + 1, num), k2]
    num_cand = min(max(sizes) + _MARGIN, num)
    left, right = _augmented(feats64, torch.float32)
    nbr, key, norm = _neighbours(feats64, left, right, query_out, sizes,
                                 num_cand, chunk_size)

    rows, cols = _k_reciprocal_expansion(nbr, k1, chunk_size)
    # Normalised distances of the members: most are among the neighbours
    # found, the others are computed.
    nbr_keys, order = (torch.arange(num, device=nbr.device)[:, None] * num +
                       nbr).flatten().sort()
    pos, found = _member_lookup(nbr_keys, rows * num + cols)
    dist = key.flatten()[order[pos]]
    missing = (~found).nonzero().squeeze(1)
    dist[missing] = _pair_sq_dist(feats64, rows[missing],
                                  cols[missing]).float() / norm[rows[missing]]
    del nbr_keys, order, pos, found, missing
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
    return _Encoding(left, right, norm, V, by_col)


def _rerank_rows(enc: _Encoding, num_q: int, lambda_value: float,
                 start: int, end: int,
                 dist: Optional[Tensor] = None) -> Tensor:
    """Re-ranked distances of the queries ``start:end``, ``[end-start, G]``.

    Args:
        dist (Tensor, optional): Their squared distances to the gallery if
            already known; computed otherwise.
    """
    V, by_col = enc.V, enc.gallery_by_col
    num_g = len(enc.norm) - num_q
    device = enc.norm.device
    # overlap[i, g] = sum_c min(V[i, c], V[g, c]) over the columns c they
    # share: one (i, g, c) triple for each query nonzero (i, c) and each
    # gallery nonzero in column c. int32 indices halve the memory traffic.
    lo, hi = int(V.row_ptr[start]), int(V.row_ptr[end])
    cols, vals = V.cols[lo:hi], V.vals[lo:hi]
    lens = by_col.row_ptr[cols + 1] - by_col.row_ptr[cols]
    num_pairs = int(lens.sum())
    small = max(num_pairs, (end - start) * num_g) < 2**31
    dtype = torch.int32 if small else torch.long
    base = torch.repeat_interleave(
        torch.arange(0, (end - start) * num_g, num_g, device=device,
                     dtype=dtype),
        V.row_ptr[start + 1:end + 1] - V.row_ptr[start:end])
    first = (by_col.row_ptr[cols] - (lens.cumsum(0) - lens)).to(dtype)
    pos = torch.repeat_interleave(first, lens, output_size=num_pairs)
    pos += torch.arange(num_pairs, device=device, dtype=dtype)
    flat = torch.repeat_interleave(base, lens, output_size=num_pairs)
    flat += by_col.cols[pos]
    common = torch.repeat_interleave(vals, lens, output_size=num_pairs)
    torch.minimum(common, by_col.vals[pos], out=common)
    overlap = vals.new_zeros((end - start) * num_g).index_add_(
        0, flat, common).view(end - start, num_g)
    del pos, flat, common
    # Rows of V sum to one, so sum_c max(V[i, c], V[g, c]) = 2 - overlap.
    final = overlap.div_(overlap - 2).add_(1)  # 1 - s / (2 - s)
    if dist is None:
        with _full_float32_matmul():
            dist = enc.left[start:end] @ enc.right[num_q:].t()
    final.mul_(1 - lambda_value)
    return final.addcdiv_(
        dist, enc.norm[start:end, None], value=lambda_value)


def k_reciprocal_rerank_fn(query_feats: Tensor,
                           gallery_feats: Tensor,
                           k1: int = 20,
                           k2: int = 6,
                           lambda_value: float = 0.3,
                           metric: str = 'euclidean',
                           chunk_size: int = 4096) -> DistChunkFn:
    """Re-ranked distances, computed a chunk of queries at a time.

    Does the work involving every image (neighbour search and encoding,
    memory ``O(N (k1 + D))``) and returns a function computing the rows
    ``start:end`` of :func:`k_reciprocal_rerank`'s result, so that
    ``rank_metrics(fn, ...)`` evaluates the re-ranking without the
    ``Q x G`` matrix ever existing.

    Args:
        query_feats (Tensor): Query features, shape ``[Q, D]``.
        gallery_feats (Tensor): Gallery features, shape ``[G, D]``.
        k1, k2, lambda_value, metric, chunk_size: See
            :func:`k_reciprocal_rerank`.

    Returns:
        Callable[[int, int], Tensor]: ``fn(start, end)`` returns the float32
        distances of queries ``start:end``, ``[end - start, G]``, on the
        features' device.
    """
    _check_args(query_feats, gallery_feats, k1, k2, lambda_value, metric,
                chunk_size)
    num_q = len(query_feats)
    enc = _encode(query_feats, gallery_feats, k1, k2, metric, chunk_size,
                  None)

    def rows_fn(start: int, end: int) -> Tensor:
        if not 0 <= start <= end <= num_q:
            raise ValueError(
                f'rows {start}:{end} out of range for {num_q} queries')
        return _rerank_rows(enc, num_q, lambda_value, start, end)

    return rows_fn


def k_reciprocal_rerank(query_feats: Tensor,
                        gallery_feats: Tensor,
                        k1: int = 20,
                        k2: int = 6,
                        lambda_value: float = 0.3,
                        metric: str = 'euclidean',
                        chunk_size: int = 4096) -> Tensor:
    """k-reciprocal re-ranking (Zhong et al., CVPR 2017).

    With ``d(i, j)`` the squared euclidean distance between any two of the
    ``N = Q + G`` images, ``d'(i, j) = d(i, j) / max_k d(k, i)``,
    ``R(i, k)`` the ``k + 1`` images nearest to ``i`` by ``d'`` (ties in
    index order) and ``K(i)`` the expanded k-reciprocal set of ``i``
    (see :func:`_k_reciprocal_expansion`):

    - ``V[i, j] = exp(-d'(i, j)) / sum_{j' in K(i)} exp(-d'(i, j'))`` for
      ``j`` in ``K(i)``, 0 elsewhere;
    - local query expansion (``k2 > 1``):
      ``V[i] <- mean_{j in R(i, k2 - 1)} V[j]``;
    - ``jaccard(i, g) = 1 - s / (2 - s)``,
      ``s = sum_j min(V[i, j], V[g, j])``;
    - ``final(i, g) = (1 - lambda) jaccard(i, g) + lambda d'(i, g)``.

    The result equals the original implementation's to float32 rounding
    (see the module docstring). Memory: ``O(N (k1 + D))`` for the encoding,
    ``O(chunk_size^2)`` for the search, and the ``Q x G`` output; use
    :func:`k_reciprocal_rerank_fn` to avoid the latter.

    Args:
        query_feats (Tensor): Query features, shape ``[Q, D]``.
        gallery_feats (Tensor): Gallery features, shape ``[G, D]``.
        k1 (int): Size of the k-reciprocal neighbourhood. Defaults to 20.
        k2 (int): Size of the local query expansion; 1 disables it.
            Defaults to 6.
        lambda_value (float): Weight of the original distance, in
            ``[0, 1]``. Defaults to 0.3.
        metric (str): ``'euclidean'`` for the squared euclidean distance,
            as the original, or ``'cosine'`` for ``1 - cosine similarity``,
            which re-ranks exactly as euclidean on L2-normalised features
            (the normalisation by the max cancels the factor 2).
            Defaults to ``'euclidean'``.
        chunk_size (int): Side of the blocks of the distance matrix and
            rows processed at once: the working memory is about
            ``3 chunk_size^2`` floats. The result does not depend on it.
            Defaults to 4096.

    Returns:
        Tensor: Final distances, float32, shape ``[Q, G]``, on the query
        features' device.
    """
    _check_args(query_feats, gallery_feats, k1, k2, lambda_value, metric,
                chunk_size)
    num_q = len(query_feats)
    # The search fills `out` with the query-gallery distances it computes;
    # they are then turned into the final distances in place.
    out = query_feats.new_empty((num_q, len(gallery_feats)),
                                dtype=torch.float32)
    enc = _encode(query_feats, gallery_feats, k1, k2, metric, chunk_size, out)
    # Few enough queries that the overlap pairs of a chunk stay small.
    step = max(1, min(chunk_size, 256))
    for start in range(0, num_q, step):
        end = min(start + step, num_q)
        out[start:end] = _rerank_rows(enc, num_q, lambda_value, start, end,
                                      out[start:end])
    return out


def _top_k(sim: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """The ``k`` largest entries of every row, ties in index order.

    ``topk`` leaves the choice among equal values at the boundary to the
    device; here the entries above the ``k``-th largest value are taken,
    then the first equal ones by index.

    Returns:
        tuple[Tensor, Tensor]: Values and indices, ``[R, k]``, by index.
    """
    kth = sim.topk(k, 1, sorted=False).values.amin(1, keepdim=True)
    above = sim > kth
    tied = sim == kth
    wanted = k - above.sum(1, keepdim=True)
    keep = above | (tied & (tied.cumsum(1) <= wanted))
    idx = keep.nonzero()[:, 1].view(-1, k)
    return sim.gather(1, idx), idx


def _expand(feats: Tensor, database: Tensor, top_k: int, alpha: float,
            exclude_start: Optional[int]) -> Tensor:
    """alpha-QE of L2-normalised ``feats`` ``[M, D]`` by ``database``.

    Args:
        exclude_start (int, optional): If given, ``feats[i]`` is
            ``database[exclude_start + i]``, left out of its own neighbours.
    """
    sim = feats @ database.t()
    if exclude_start is not None:
        rows = torch.arange(len(feats), device=feats.device)
        sim[rows, rows + exclude_start] = -float('inf')
    sim, idx = _top_k(sim, top_k)
    # s^alpha of a negative s is not a similarity (and NaN for a
    # fractional alpha): such neighbours get no weight.
    weight = sim.clamp(min=0).pow(alpha)
    expanded = feats + torch.bmm(weight[:, None], database[idx]).squeeze(1)
    return F.normalize(expanded, dim=1)


def average_query_expansion(query_feats: Tensor,
                            gallery_feats: Tensor,
                            top_k: int = 5,
                            alpha: float = 3.0,
                            expand_gallery: bool = False,
                            chunk_size: int = 1024) -> Tuple[Tensor, Tensor]:
    """alpha-weighted average query expansion (alpha-QE).

    From Radenovic et al., "Fine-tuning CNN Image Retrieval with No Human
    Annotation" (TPAMI 2019). With all features L2-normalised,
    ``s(q, g) = q . g`` the cosine similarity and ``N(q)`` the ``top_k``
    gallery features most similar to ``q`` (equal similarities in index
    order)::

        q' = normalize(q + sum_{g in N(q)} max(s(q, g), 0)^alpha g)

    ``q`` itself has the weight ``s(q, q)^alpha = 1``. ``alpha = 0`` is the
    plain average QE of Chum et al. (2007); a large ``alpha`` keeps ``q``
    (every weight below 1 vanishes); ``top_k = 0`` returns the normalised
    input. Negative similarities get no weight (their power is not a
    similarity, and NaN for a fractional ``alpha``).

    With ``expand_gallery``, every gallery feature is expanded the same way
    by its ``top_k`` most similar OTHER gallery features (database-side
    augmentation); all expansions use the original features.

    Defaults: ``alpha = 3`` as Radenovic et al.; ``top_k = 5``, because a
    Market-1501 identity has about 17 gallery images, several in the
    query's own camera, so the 5 most similar are mostly true matches,
    and the cubed similarities damp the weight of the less similar ones.

    Args:
        query_feats (Tensor): Query features, shape ``[Q, D]``.
        gallery_feats (Tensor): Gallery features, shape ``[G, D]``.
        top_k (int): Neighbours averaged in, at most ``G`` (``G - 1`` with
            ``expand_gallery``). Defaults to 5.
        alpha (float): Exponent of the similarity weights, ``>= 0``.
            Defaults to 3.0.
        expand_gallery (bool): Also expand the gallery. Defaults to False.
        chunk_size (int): Features expanded at once; memory is
            ``O(chunk_size x G)``. Defaults to 1024.

    Returns:
        tuple[Tensor, Tensor]: Query and gallery features, float32,
        L2-normalised (the gallery even if not expanded, so that distances
        computed from them rank by cosine similarity), ``[Q, D]`` and
        ``[G, D]``, on the query features' device.
    """
    _check_features(query_feats, gallery_feats)
    if alpha < 0 or chunk_size < 1:
        raise ValueError('alpha must be non-negative and chunk_size '
                         f'positive, got {alpha} and {chunk_size}')
    num_g = len(gallery_feats)
    max_k = num_g - 1 if expand_gallery else num_g
    if not 0 <= top_k <= max_k:
        raise ValueError(f'top_k must be in [0, {max_k}], got {top_k}')
    query = F.normalize(query_feats.float(), dim=1)
    gallery = F.normalize(
        gallery_feats.to(query.device, torch.float32), dim=1)
    if top_k == 0:
        return query, gallery
    query = torch.cat([
        _expand(query[s:s + chunk_size], gallery, top_k, alpha, None)
        for s in range(0, len(query), chunk_size)
    ])
    if expand_gallery:
        gallery = torch.cat([
            _expand(gallery[s:s + chunk_size], gallery, top_k, alpha, s)
            for s in range(0, num_g, chunk_size)
        ])
    return query, gallery
