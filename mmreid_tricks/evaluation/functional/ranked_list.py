"""The ordered gallery of each query, with the order :func:`rank_metrics`
scores: increasing distance, and at equal distance a negative before a
positive (ties never raise a score).

:func:`rank_metrics` never sorts a row; pictures of ranked lists and
per-query scores need the order itself, which this module gives for a few
queries at a time.
"""
from typing import Dict

import torch
from torch import Tensor


def ranked_gallery(dist: Tensor, q_pids: Tensor, g_pids: Tensor,
                   q_camids: Tensor, g_camids: Tensor) -> Dict[str, Tensor]:
    """Order the gallery of each query as the Market-1501 protocol ranks it.

    Gallery items of the query's identity AND camera are ignored by the
    protocol: they stay in ``order`` at their distance, flagged in
    ``ignored``, and take no rank.

    Args:
        dist (Tensor): Distances, shape ``[q, G]``.
        q_pids (Tensor): Query identities, shape ``[q]``.
        g_pids (Tensor): Gallery identities, shape ``[G]``.
        q_camids (Tensor): Query cameras, shape ``[q]``.
        g_camids (Tensor): Gallery cameras, shape ``[G]``.

    Returns:
        dict[str, Tensor]: each of shape ``[q, G]``, in ranked order:
        ``order`` (gallery indices, int64), ``match`` (a positive: same
        identity, other camera), ``ignored`` (same identity and camera) and
        ``rank`` (0-based protocol rank, -1 for ignored items).
    """
    if dist.shape != (len(q_pids), len(g_pids)):
        raise ValueError(f'dist has shape {tuple(dist.shape)}, expected '
                         f'({len(q_pids)}, {len(g_pids)})')
    dist = dist.detach().float().cpu()
    q_pids, g_pids = q_pids.long().cpu(), g_pids.long().cpu()
    q_camids, g_camids = q_camids.long().cpu(), g_camids.long().cpu()
    same_pid = q_pids[:, None] == g_pids[None]
    same_cam = q_camids[:, None] == g_camids[None]
    match = same_pid & ~same_cam
    # Two stable sorts: positives after negatives, then by distance.
    pre = torch.argsort(match.to(torch.int8), dim=1, stable=True)
    by_dist = torch.sort(dist.gather(1, pre), dim=1, stable=True).indices
    order = pre.gather(1, by_dist)
    ignored = (same_pid & same_cam).gather(1, order)
    rank = (~ignored).long().cumsum(1) - 1
    return dict(
        order=order,
        match=match.gather(1, order),
        ignored=ignored,
        rank=rank.masked_fill(ignored, -1))


def query_scores(ranked: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Average precision and first-match rank of each ranked query.

    Args:
        ranked (dict): The output of :func:`ranked_gallery`.

    Returns:
        dict[str, Tensor]: ``ap`` (float64 ``[q]``, in [0, 1]; NaN for a
        query without positive, which the metric skips) and ``first_match``
        (int64 ``[q]``, 0-based rank of the closest positive; -1 when none).
        Their means over the valid queries equal ``rank_metrics``'s mAP and
        CMC.
    """
    match, rank = ranked['match'], ranked['rank']
    num_pos = match.sum(1)
    hits = match.long().cumsum(1)  # j + 1 at the j-th positive
    precision = torch.where(match,
                            hits.double() / (rank + 1).double(),
                            torch.zeros((), dtype=torch.float64))
    ap = precision.sum(1) / num_pos.double()
    big = torch.iinfo(torch.long).max
    first = torch.where(match, rank, torch.full_like(rank, big)).min(1).values
    first[num_pos == 0] = -1
    return dict(ap=ap, first_match=first)
