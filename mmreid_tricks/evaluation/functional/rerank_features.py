"""The features of re-ranking as its neighbour search reads them.

The centred features in the form whose products give squared distances
(:mod:`.rerank_products`), and exact float64 rows on demand from the
caller's own tensors: no float64 ``N x D`` copy exists (1.5 GB at MSMT17's
93,820 images x 2048).
"""
from typing import Iterator, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .rerank_products import block_products

# Rows centred (and split into digits) at once: at 2048-d, 4 MB of float64
# that stay in cache; 4096 rows took twice as long (0.32 vs 0.17 s for
# 19,281 images, 2 cores).
_ROWS = 256


class CentredFeatures:
    """Centred features with their squared norms, and products of blocks.

    Squared distances do not change under a translation, and centring
    avoids the cancellation in ``|x|^2 + |y|^2 - 2 x.y`` when the features
    share a large mean (post-ReLU embeddings do). With ``metric='cosine'``
    the features are L2-normalised first: ``1 - cos`` is half the squared
    distance of normalised features, and the normalisation by the max
    cancels the half.

    Args:
        query_feats (Tensor): Query features, ``[Q, D]``.
        gallery_feats (Tensor): Gallery features, ``[G, D]``.
        metric (str): ``'euclidean'`` or ``'cosine'``.
        arithmetic (str, optional): ``'int8'`` or ``'float32'`` to force
            the kind of :attr:`products`. Defaults to None (the faster one
            on this device, see :func:`.rerank_products.block_products`).

    Attributes:
        products (BlockProducts): Squared distances of blocks of images,
            with their error bound.
        length (Tensor): Float64 norms of the exact centred features,
            ``[N]``.
    """

    def __init__(self,
                 query_feats: Tensor,
                 gallery_feats: Tensor,
                 metric: str,
                 arithmetic: Optional[str] = None) -> None:
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
        self.products = block_products(num, dim, query_feats, arithmetic)
        for start, rows in self._float64_chunks():
            rows -= self._mean
            self.products.set_rows(
                start, rows,
                torch.linalg.vector_norm(rows, dim=1).square_())
        self.length = self.products.length

    def __len__(self) -> int:
        return len(self.length)

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
        return self.uncentred_rows(idx).sub_(self._mean)

    def uncentred_rows(self, idx: Tensor) -> Tensor:
        """The features of the images ``idx`` before centring (normalised
        for cosine), float64, ``[len(idx), D]``: their differences are the
        centred features' differences, without the rounding of centring."""
        query, gallery = self._parts
        rows = query.new_empty(
            (len(idx), self.dim),
            dtype=torch.promote_types(query.dtype, gallery.dtype))
        in_query = idx < self._num_q
        parts = ((query, in_query, 0), (gallery, ~in_query, self._num_q))
        for part, which, offset in parts:
            pos = which.nonzero().squeeze(1)
            # index_select + index_copy_: several times faster than masks.
            rows.index_copy_(
                0, pos,
                part.index_select(0, idx[pos] - offset).to(rows.dtype))
        return self._prepare(rows)
