"""Distances between query and gallery embeddings, one chunk of rows at a
time, and the adapter through which both ranking protocols read them."""
from typing import Callable, Iterator, Optional, Tuple, Union

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
    check_metric(metric)
    if query.dim() != 2 or gallery.dim() != 2 or (query.size(1)
                                                  != gallery.size(1)):
        raise ValueError('query and gallery must be [Q, D] and [G, D] with '
                         f'the same D, got {tuple(query.shape)} and '
                         f'{tuple(gallery.shape)}')
    return distance_rows_fn(query, gallery, metric)(0, len(query))


def check_metric(metric: str) -> None:
    """Raise ValueError unless ``metric`` is a known distance."""
    if metric not in _METRICS:
        raise ValueError(f'metric must be one of {_METRICS}, got {metric!r}')


# Rows whose norms or factors are computed at once: their 2 MB float32
# temporaries (at 2048-d) are reused from the cache, where 4096 rows' were
# mapped and page-faulted anew each time (the factors of MSMT17's gallery:
# 0.25 s instead of 0.5-1.5 s).
_ROWS = 256
# Squared norms below this keep every partial sum of a factor product
# under (|q| + |g|)^2 < 4e37, far from float32's overflow at 3.4e38: the
# distances are then finite, and no NaN can arise.
_FINITE_SQ_NORM = 1e37


def _squared_norms(feats: Tensor) -> Tensor:
    """float32 squared norms of the rows, ``_ROWS`` at a time."""
    return torch.cat([
        feats[start:start + _ROWS].float().pow(2).sum(1)
        for start in range(0, len(feats), _ROWS)
    ]) if len(feats) else feats.new_empty(
        0, dtype=torch.float32)


def _bounded_norms(*squared_norms: Tensor) -> bool:
    """Whether every squared norm is below ``_FINITE_SQ_NORM`` (False for a
    NaN or infinite feature, whose squared norm is NaN or inf)."""
    return all(bool((sq < _FINITE_SQ_NORM).all()) for sq in squared_norms)


def factor_width(dim: int) -> int:
    """Columns of the factors: the features, two extra terms, and zeros up
    to a multiple of 16 (aligned rows for the matrix product)."""
    return (dim + 2 + 15) // 16 * 16


def _gallery_factors(gallery: Tensor, metric: str) -> Tensor:
    """The gallery side of the distances as factors, computed once.

    The product of :func:`_query_factors` with these gives the distances
    directly, with no pass over the ``[Q, G]`` result to add the norms:
    ``[q, |q|^2, 1] . [-2 g, 1, |g|^2] = |q - g|^2`` and, for unit rows,
    ``[q, 1] . [-g, 1] = 1 - q.g``.

    Returns:
        Tensor: float32 gallery factors, ``[G, W]``.
    """
    num, dim = gallery.shape
    right = gallery.new_zeros((num, factor_width(dim)), dtype=torch.float32)
    right[:, dim] = 1
    for start in range(0, num, _ROWS):
        rows = gallery[start:start + _ROWS].float()
        part = right[start:start + _ROWS]
        if metric == 'cosine':
            torch.mul(F.normalize(rows, dim=1), -1, out=part[:, :dim])
        else:
            torch.mul(rows, -2, out=part[:, :dim])
            part[:, dim + 1] = rows.pow(2).sum(1)
    return right


def _query_factors(query: Tensor, metric: str) -> Tensor:
    """The query side of :func:`_gallery_factors`, ``[Q, W]``."""
    num, dim = query.shape
    left = query.new_zeros((num, factor_width(dim)), dtype=torch.float32)
    query = query.float()
    if metric == 'cosine':
        left[:, :dim] = F.normalize(query, dim=1)
        left[:, dim] = 1
    else:
        left[:, :dim] = query
        left[:, dim], left[:, dim + 1] = _squared_norms(query), 1
    return left


def _factor_distance(query: Tensor,
                     gallery_factors: Tensor,
                     metric: str,
                     clamp: bool,
                     out: Optional[Tensor] = None) -> Tensor:
    """Distances from :func:`_gallery_factors`, written into ``out`` if
    given."""
    dist = torch.mm(
        _query_factors(query, metric), gallery_factors.t(), out=out)
    # Rounding can make a squared distance slightly negative.
    return dist.clamp_(min=0) if clamp and metric == 'euclidean' else dist


def _plain_distance(query: Tensor, gallery: Tensor,
                    gallery_sq: Optional[Tensor], clamp: bool) -> Tensor:
    """Distances from the float32 gallery (unit rows for cosine) and its
    squared norms (None for cosine)."""
    query = query.float()
    if gallery_sq is None:  # cosine
        return 1 - F.normalize(query, dim=1) @ gallery.t()
    dist = torch.addmm(
        _squared_norms(query)[:, None] + gallery_sq,
        query,
        gallery.t(),
        alpha=-2)
    return dist.clamp_(min=0) if clamp else dist


def distance_rows_fn(query: Tensor,
                     gallery: Tensor,
                     metric: str = 'euclidean',
                     clamp: bool = True) -> DistChunkFn:
    """A function giving rows ``start:end`` of the distance matrix.

    Args:
        query (Tensor): Query embeddings, ``[Q, D]``.
        gallery (Tensor): Gallery embeddings, ``[G, D]``.
        metric (str): As in :func:`pairwise_distance`.
        clamp (bool): Raise the squared euclidean distances that float32
            rounding puts slightly below 0 (near-identical embeddings) to 0.
            It costs a pass over every chunk (5% of the time at MSMT17's
            size) and ranking does not need it: rankings leave it out.
            Defaults to True.

    Returns:
        Callable: ``fn(start, end, out=None)`` -> ``[end - start, G]``
        distances, for :func:`rank_metrics`; the full matrix never exists.
        With ``out`` (float32, that shape) they are written into it: see
        :meth:`DistanceRows.chunks`. Its attribute ``finite`` is True when
        every distance is known to be finite (euclidean factors of bounded
        norms), so that a ranking can skip its scan for NaN.
    """
    gallery = gallery.to(query.device)
    # Factors copy the gallery once (G x W floats) and save two passes over
    # every chunk of distances (the norms' broadcast and the product's
    # beta): worth it when the queries are at least half as many as the
    # dimensions. A few queries (a top-k search block) use the gallery as
    # it is.
    if 2 * len(query) >= gallery.size(1):
        factors = _gallery_factors(gallery, metric)

        def dist_chunk(start: int,
                       end: int,
                       out: Optional[Tensor] = None) -> Tensor:
            return _factor_distance(query[start:end], factors, metric, clamp,
                                    out)

        dist_chunk.fills_buffer = True
        dist_chunk.finite = metric == 'euclidean' and _bounded_norms(
            _squared_norms(query), factors[:, gallery.size(1) + 1])
        return dist_chunk

    gallery = gallery.float()
    if metric == 'cosine':
        gallery, gallery_sq = F.normalize(gallery, dim=1), None
    else:
        gallery_sq = _squared_norms(gallery)

    def plain_chunk(start: int, end: int) -> Tensor:
        return _plain_distance(query[start:end], gallery, gallery_sq, clamp)

    return plain_chunk


class DistanceRows:
    """The rows of a ``[Q, G]`` distance matrix, checked, chunk by chunk.

    Both ranking protocols read their distances through this adapter, so a
    matrix and a function of rows (:func:`distance_rows_fn`, re-ranking)
    behave alike, and a pass over :meth:`chunks` asks for each chunk once.

    Args:
        distmat (Tensor | Callable): The distance matrix, shape ``[Q, G]``,
            or a function ``fn(start, end)`` returning its rows
            ``start:end``, shape ``[end - start, G]``.
        num_query (int): Q, the number of queries.
        num_gallery (int): G, the number of gallery items.
    """

    def __init__(self, distmat: Union[Tensor, DistChunkFn], num_query: int,
                 num_gallery: int) -> None:
        shape = (num_query, num_gallery)
        if isinstance(distmat, Tensor) and distmat.shape != shape:
            raise ValueError(f'distmat has shape {tuple(distmat.shape)}, '
                             f'expected ({num_query}, {num_gallery})')
        self.distmat = distmat
        self.num_query = num_query
        self.num_gallery = num_gallery

    def __call__(self, start: int, end: int) -> Tensor:
        """Rows ``start:end``, shape ``[end - start, G]``, as given."""
        if isinstance(self.distmat, Tensor):
            return self.distmat[start:end]
        dist = self.distmat(start, end)
        if dist.shape != (end - start, self.num_gallery):
            raise ValueError(f'distance chunk {start}:{end} has shape '
                             f'{tuple(dist.shape)}, expected '
                             f'({end - start}, {self.num_gallery})')
        return dist

    def chunks(
            self,
            chunk_size: int,
            reuse_buffer: bool = False) -> Iterator[Tuple[int, int, Tensor]]:
        """Yield ``(start, end, rows)`` for consecutive chunks of queries.

        Args:
            chunk_size (int): Queries per chunk (the last may be shorter).
            reuse_buffer (bool): Let a function of rows that can (one from
                :func:`distance_rows_fn`) write every chunk into the same
                buffer, which the next chunk overwrites: for a consumer that
                is done with a chunk when it asks for the next. On the CPU a
                fresh chunk of over 32 MB is mapped and page-faulted anew
                each time: 6% of the time at MSMT17's size. Defaults to
                False.
        """
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be positive, got {chunk_size}')
        buf = None
        for start in range(0, self.num_query, chunk_size):
            end = min(start + chunk_size, self.num_query)
            if not (reuse_buffer
                    and getattr(self.distmat, 'fills_buffer', False)):
                yield start, end, self(start, end)
                continue
            if buf is None:
                buf = self(start, end)
            else:
                self.distmat(start, end, out=buf[:end - start])
            yield start, end, buf[:end - start]
