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
does not decide: the search's distances come with a worst-case error bound
(:mod:`.rerank_products`), and every row whose sets the bound does not
settle is re-ordered with the float64 distances of the candidates it
leaves ambiguous. The values equal the original's to float32 rounding
(``~1e-6``) with float32 products, and to the features' 16-bit digits
(``~1e-6`` at 2048-d, ``~1e-5`` at 16-d) with int8 products, the default
on CPUs with AMX.
"""
from typing import Optional

import torch
from torch import Tensor

from .ranking import DistChunkFn
from .rerank_encoding import Encoding, encode, rerank_rows

__all__ = ['k_reciprocal_rerank', 'k_reciprocal_rerank_fn']

_METRICS = ('euclidean', 'cosine')
_ARITHMETIC = (None, 'int8', 'float32')


def check_features(query_feats: Tensor, gallery_feats: Tensor) -> None:
    """Raise ValueError unless the features are non-empty, finite ``[Q, D]``
    and ``[G, D]``."""
    if query_feats.dim() != 2 or gallery_feats.dim() != 2 or (
            query_feats.size(1) != gallery_feats.size(1)):
        raise ValueError('query and gallery features must be [Q, D] and '
                         '[G, D] with the same D, got '
                         f'{tuple(query_feats.shape)} and '
                         f'{tuple(gallery_feats.shape)}')
    if len(query_feats) == 0 or len(gallery_feats) == 0:
        raise ValueError('query and gallery must not be empty')
    for name, feats in (('query', query_feats), ('gallery', gallery_feats)):
        # A row sum is finite unless the row holds NaN or inf (or a finite
        # sum overflows): one pass, 20x faster than isfinite on all values.
        suspect = (~torch.isfinite(feats.sum(1))).nonzero().squeeze(1)
        rows = suspect[~torch.isfinite(feats[suspect]).all(1)]
        if len(rows):
            raise ValueError(
                f'{len(rows)} {name} feature row(s) hold NaN or inf, the '
                f'first being {name} row {int(rows[0])}: a diverged model or '
                'a broken image; re-ranking would return NaN everywhere')


def _check_args(query_feats: Tensor, gallery_feats: Tensor, k1: int, k2: int,
                lambda_value: float, metric: str, chunk_size: int,
                arithmetic: Optional[str]) -> None:
    check_features(query_feats, gallery_feats)
    if metric not in _METRICS:
        raise ValueError(f'metric must be one of {_METRICS}, got {metric!r}')
    if arithmetic not in _ARITHMETIC:
        raise ValueError(f'arithmetic must be one of {_ARITHMETIC}, got '
                         f'{arithmetic!r}')
    if k1 < 1 or k2 < 1 or chunk_size < 1:
        raise ValueError('k1, k2 and chunk_size must be positive, got '
                         f'{k1}, {k2} and {chunk_size}')
    if not 0 <= lambda_value <= 1:
        raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value}')


def k_reciprocal_rerank_fn(query_feats: Tensor,
                           gallery_feats: Tensor,
                           k1: int = 20,
                           k2: int = 6,
                           lambda_value: float = 0.3,
                           metric: str = 'euclidean',
                           chunk_size: int = 2048,
                           arithmetic: Optional[str] = None) -> DistChunkFn:
    """Re-ranked distances, computed a chunk of queries at a time.

    Does the work involving every image (neighbour search and encoding,
    memory ``O(N (k1 + D))``) and returns a function computing the rows
    ``start:end`` of :func:`k_reciprocal_rerank`'s result, so that
    ``rank_metrics(fn, ...)`` evaluates the re-ranking without the
    ``Q x G`` matrix ever existing.

    Args:
        query_feats (Tensor): Query features, shape ``[Q, D]``.
        gallery_feats (Tensor): Gallery features, shape ``[G, D]``.
        k1, k2, lambda_value, metric, chunk_size, arithmetic: See
            :func:`k_reciprocal_rerank`.

    Returns:
        Callable[[int, int], Tensor]: ``fn(start, end)`` returns the float32
        distances of queries ``start:end``, ``[end - start, G]``, on the
        features' device.
    """
    _check_args(query_feats, gallery_feats, k1, k2, lambda_value, metric,
                chunk_size, arithmetic)
    num_q = len(query_feats)
    enc = encode(query_feats, gallery_feats, k1, k2, metric, chunk_size,
                 arithmetic)[0]
    num = len(enc.max_dist)

    def rows_fn(start: int, end: int) -> Tensor:
        if not 0 <= start <= end <= num_q:
            raise ValueError(
                f'rows {start}:{end} out of range for {num_q} queries')
        # The chunk's distances as one product, then its final rows.
        dist = enc.features.products.block(
            slice(start, end), slice(num_q, num))
        return _final_rows(enc, num_q, lambda_value, dist, start, chunk_size)

    return rows_fn


def _final_rows(enc: Encoding, num_q: int, lambda_value: float, dist: Tensor,
                start: int, chunk_size: int) -> Tensor:
    """Turn ``dist``, the squared distances of the queries from ``start``
    to the gallery, into their final distances, in place."""
    # Few enough queries at once that the overlap pairs of a step stay
    # small (2048 at once is 2-4x slower at MSMT17's size).
    step = max(1, min(chunk_size, 256))
    for begin in range(0, len(dist), step):
        end = min(begin + step, len(dist))
        rerank_rows(enc, num_q, lambda_value, start + begin, dist[begin:end])
    return dist


def k_reciprocal_rerank(query_feats: Tensor,
                        gallery_feats: Tensor,
                        k1: int = 20,
                        k2: int = 6,
                        lambda_value: float = 0.3,
                        metric: str = 'euclidean',
                        chunk_size: int = 2048,
                        arithmetic: Optional[str] = None) -> Tensor:
    """k-reciprocal re-ranking (Zhong et al., CVPR 2017).

    With ``d(i, j)`` the squared euclidean distance between any two of the
    ``N = Q + G`` images, ``d'(i, j) = d(i, j) / max_k d(k, i)``,
    ``R(i, k)`` the ``k + 1`` images nearest to ``i`` by ``d'`` (ties in
    index order) and ``K(i)`` the expanded k-reciprocal set of ``i``
    (see :func:`k_reciprocal_expansion`):

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
            Defaults to 2048: at 2048-d, blocks of 2048 waste less on the
            diagonal blocks (computed whole) than blocks of 4096 and select
            about as fast; 0.7 s less at N=19,281.
        arithmetic (str, optional): How the distances of the neighbour
            search are computed: ``'float32'`` (plain float32 products;
            results within ~1e-6 of the original's) or ``'int8'`` (exact
            products of 16-bit integer digits of the features, on CPUs;
            ~1e-5, as the features are rounded to 16 bits relative to
            their largest entry; twice as fast with AMX). The neighbour
            sets are exact either way. Defaults to None: ``'int8'`` on
            CPUs with AMX, else ``'float32'``.

    Returns:
        Tensor: Final distances, float32, shape ``[Q, G]``, on the query
        features' device.
    """
    _check_args(query_feats, gallery_feats, k1, k2, lambda_value, metric,
                chunk_size, arithmetic)
    num_q = len(query_feats)
    # The query-gallery distances the search computed become the final
    # distances in place, a chunk of queries at a time.
    enc, out = encode(
        query_feats,
        gallery_feats,
        k1,
        k2,
        metric,
        chunk_size,
        arithmetic,
        keep_query_gallery=True)
    return _final_rows(enc, num_q, lambda_value, out, 0, chunk_size)
