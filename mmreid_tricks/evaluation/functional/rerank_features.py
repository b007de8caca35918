"""The features of re-ranking as its neighbour search reads them.

One float32 copy of all ``N = Q + G`` features, centred and augmented so
that a matrix product gives squared distances, and exact float64 rows on
demand from the caller's own tensors: no float64 ``N x D`` copy exists
(1.5 GB at MSMT17's 93,820 images x 2048).
"""
from typing import Iterator, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .distances import factor_width

# Rows centred at once in float64 (64 MB at 2048-d).
_ROWS = 4096


class CentredFeatures:
    """Centred features with their squared norms, as search factors.

    Squared distances do not change under a translation, and centring
    avoids the cancellation in ``|x|^2 + |y|^2 - 2 x.y`` when the features
    share a large mean (post-ReLU embeddings do). With ``metric='cosine'``
    the features are L2-normalised first: ``1 - cos`` is half the squared
    distance of normalised features, and the normalisation by the max
    cancels the half.

    ``left[i] . right(j) = |x_i - x_j|^2`` with ``left[i] = [x_i, |x_i|^2,
    1]`` and ``right(j) = [-2 x_j, 1, |x_j|^2]`` (zero-padded to a multiple
    of 16 columns): the matrix product alone gives the distances. Only
    ``left`` is stored; blocks of ``right`` are built when needed, which
    costs a copy of ``block x W`` floats per block of ``block^2 W``
    multiply-adds.

    Args:
        query_feats (Tensor): Query features, ``[Q, D]``.
        gallery_feats (Tensor): Gallery features, ``[G, D]``.
        metric (str): ``'euclidean'`` or ``'cosine'``.

    Attributes:
        left (Tensor): Float32 left factors, ``[N, W]``, the centred
            features rounded to float32 in the first ``D`` columns.
        length (Tensor): Float64 norms of the exact centred features,
            ``[N]``.
    """

    def __init__(self, query_feats: Tensor, gallery_feats: Tensor,
                 metric: str) -> None:
        self._parts = (query_feats, gallery_feats.to(query_feats.device))
        self._num_q = len(query_feats)
        self._cosine = metric == 'cosine'
        num, dim = self._num_q + len(gallery_feats), query_feats.size(1)
        self.dim = dim
        # Any translation keeps the distances, as long as the exact rows
        # use the same one: a float32 mean is close enough to centre.
        total = query_feats.new_zeros(dim, dtype=torch.float32)
        for part in self._parts:
            for begin in range(0, len(part), _ROWS):
                rows = part[begin:begin + _ROWS].float()
                if self._cosine:
                    rows = F.normalize(rows, dim=1)
                total += rows.sum(0)
        self._mean = (total / num).double()
        self.left = query_feats.new_zeros((num, factor_width(dim)),
                                          dtype=torch.float32)
        sq = query_feats.new_empty(num, dtype=torch.float64)
        for start, rows in self._float64_chunks():
            rows -= self._mean
            end = start + len(rows)
            self.left[start:end, :dim] = rows
            sq[start:end] = rows.pow_(2).sum(1)
        self.left[:, dim], self.left[:, dim + 1] = sq, 1
        self.length = sq.sqrt_()

    def __len__(self) -> int:
        return len(self.left)

    def _float64_chunks(self) -> Iterator[Tuple[int, Tensor]]:
        """(first image, float64 rows), ``_ROWS`` images at a time."""
        start = 0
        for part in self._parts:
            for begin in range(0, len(part), _ROWS):
                rows = self._prepare(part[begin:begin + _ROWS])
                yield start + begin, rows
            start += len(part)

    def _prepare(self, rows: Tensor) -> Tensor:
        rows = rows.double()
        return F.normalize(rows, dim=1) if self._cosine else rows

    def exact_rows(self, idx: Tensor) -> Tensor:
        """Exact centred features of the images ``idx``, float64,
        ``[len(idx), D]``."""
        rows = self.left.new_empty((len(idx), self.dim), dtype=torch.float64)
        in_query = idx < self._num_q
        for part, which, offset in ((self._parts[0], in_query, 0),
                                    (self._parts[1], ~in_query, self._num_q)):
            pos = which.nonzero().squeeze(1)
            # index_select + index_copy_: several times faster than masks.
            rows.index_copy_(
                0, pos, self._prepare(part.index_select(0, idx[pos] - offset)))
        return rows.sub_(self._mean)

    def right(self,
              start: int,
              end: int,
              out: Optional[Tensor] = None) -> Tensor:
        """Right factors of the images ``start:end``, ``[end - start, W]``.

        Args:
            out (Tensor, optional): A float32 buffer of at least
                ``(end - start) * W`` elements to write them into.
        """
        left = self.left[start:end]
        dim = self.dim
        if out is None:
            out = torch.empty_like(left)
        else:
            out = out[:left.numel()].view_as(left)
        # Scaling by -2 is exact: the same rounded features as ``left``.
        torch.mul(left[:, :dim], -2, out=out[:, :dim])
        out[:, dim], out[:, dim + 1] = 1, left[:, dim]
        out[:, dim + 2:] = 0
        return out
