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
    return _distance(query, *_gallery_terms(gallery, metric))


def check_metric(metric: str) -> None:
    """Raise ValueError unless ``metric`` is a known distance."""
    if metric not in _METRICS:
        raise ValueError(f'metric must be one of {_METRICS}, got {metric!r}')


def _gallery_terms(gallery: Tensor,
                   metric: str) -> Tuple[Tensor, Optional[Tensor]]:
    """The gallery side of :func:`pairwise_distance`, computed once.

    Returns:
        tuple[Tensor]: float32 gallery (unit rows for cosine), ``[G, D]``,
        and its squared norms ``[G]`` (None for cosine).
    """
    gallery = gallery.float()
    if metric == 'cosine':
        return F.normalize(gallery, dim=1), None
    return gallery, gallery.pow(2).sum(1)


def _distance(query: Tensor, gallery: Tensor,
              gallery_sq: Optional[Tensor]) -> Tensor:
    """:func:`pairwise_distance` given :func:`_gallery_terms`."""
    query = query.float()
    if gallery_sq is None:  # cosine
        return 1 - F.normalize(query, dim=1) @ gallery.t()
    # ||q||^2 + ||g||^2 - 2 q.g: one matrix product instead of a [Q, G, D]
    # difference; rounding can make it slightly negative, hence the clamp.
    dist = torch.addmm(
        query.pow(2).sum(1, keepdim=True) + gallery_sq,
        query,
        gallery.t(),
        alpha=-2)
    return dist.clamp_(min=0)


def distance_rows_fn(query: Tensor,
                     gallery: Tensor,
                     metric: str = 'euclidean') -> DistChunkFn:
    """A function giving rows ``start:end`` of the distance matrix.

    Args:
        query (Tensor): Query embeddings, ``[Q, D]``.
        gallery (Tensor): Gallery embeddings, ``[G, D]``.
        metric (str): As in :func:`pairwise_distance`.

    Returns:
        Callable: ``fn(start, end)`` -> ``[end - start, G]`` distances, for
        :func:`rank_metrics`; the full matrix never exists.
    """
    # The gallery's side once, not per chunk (a [G, D] temporary each).
    terms = _gallery_terms(gallery.to(query.device), metric)

    def dist_chunk(start: int, end: int) -> Tensor:
        return _distance(query[start:end], *terms)

    return dist_chunk


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

    def chunks(self, chunk_size: int) -> Iterator[Tuple[int, int, Tensor]]:
        """Yield ``(start, end, rows)`` for consecutive chunks of queries.

        Args:
            chunk_size (int): Queries per chunk (the last may be shorter).
        """
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be positive, got {chunk_size}')
        for start in range(0, self.num_query, chunk_size):
            end = min(start + chunk_size, self.num_query)
            yield start, end, self(start, end)
