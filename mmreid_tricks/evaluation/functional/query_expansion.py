"""alpha-weighted average query expansion (alpha-QE) of ReID features."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .rerank import check_features

__all__ = ['average_query_expansion']


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
    check_features(query_feats, gallery_feats)
    if alpha < 0 or chunk_size < 1:
        raise ValueError('alpha must be non-negative and chunk_size '
                         f'positive, got {alpha} and {chunk_size}')
    num_g = len(gallery_feats)
    max_k = num_g - 1 if expand_gallery else num_g
    if not 0 <= top_k <= max_k:
        raise ValueError(f'top_k must be in [0, {max_k}], got {top_k}')
    query = F.normalize(query_feats.float(), dim=1)
    gallery = F.normalize(gallery_feats.to(query.device, torch.float32), dim=1)
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
