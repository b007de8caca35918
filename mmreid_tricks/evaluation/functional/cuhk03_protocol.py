"""CMC and mAP under the classic CUHK03 single-gallery-shot protocol.

The protocol is the one of the ``eval_cuhk03`` routine of torchreid and
fast-reid: for each query, gallery items of its identity AND camera are
removed; then, ``num_repeats`` times, one image of every gallery identity is
drawn at random and the CMC of the query is measured on that sampled gallery,
where its identity appears exactly once. The CMC is averaged over the repeats
and the queries. The AP, however, is computed once per query on the whole
filtered gallery, which makes the mAP (and the mINP) equal to those of the
Market-1501 protocol; they come from :func:`rank_metrics`.

The sampled CMC never sorts anything: the rank of the sampled positive is
the number of sampled images of other identities at a distance not larger
than it, so each (query, repeat) costs one gather per gallery identity.
"""
from typing import Dict, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .ranking import DistChunkFn, _identity_layout, rank_metrics

Seed = Union[int, np.random.Generator, None]


def _pick(u: Tensor, n: Tensor) -> Tensor:
    """Index ``floor(u * n)`` of one of ``n`` items for ``u`` in [0, 1).

    ``u * n`` can round up to exactly ``n`` in float64, hence the clamp.
    """
    return (u * n).long().minimum(n - 1)


def _sampled_positive_ranks(dist: Tensor, u: Tensor, q_uid: Tensor,
                            q_camids: Tensor, g_camids: Tensor, counts: Tensor,
                            starts: Tensor, members: Tensor,
                            max_own: int) -> Tuple[Tensor, Tensor]:
    """Rank of the sampled positive in each sampled gallery of a chunk.

    Args:
        dist (Tensor): Distances of a chunk of ``q`` queries, ``[q, G]``.
        u (Tensor): float64 uniforms in [0, 1), shape ``[q, R, U]``;
            ``u[i, r, j]`` picks the image of identity ``j`` in repeat ``r``
            of query ``i``.
        q_uid (Tensor): Index in ``uids`` of each query's identity, -1 when
            the gallery does not hold it, shape ``[q]``.
        q_camids (Tensor): Query cameras, shape ``[q]``.
        g_camids (Tensor): Gallery cameras, shape ``[G]``.
        counts, starts, members (Tensor): See :func:`_identity_layout`.
        max_own (int): Slots for the images of a query's identity, at least
            the largest ``counts`` of a query identity (and at least 1).

    Returns:
        tuple[Tensor]: ``ranks`` (int64, ``[q, R]``, 0-based rank of the
        sampled positive among the ``U`` sampled images; garbage for a query
        without positives) and ``num_pos`` (int64 ``[q]``).
    """
    num_q, num_repeats, _ = u.shape
    if not dist.is_floating_point():
        dist = dist.double()  # exact for ints, and holds the NaN below
    # Every other identity keeps all its images: draw one of them.
    picked = members[starts + _pick(u, counts)]
    sampled_dist = dist.gather(1, picked.view(num_q, -1)).view_as(picked)

    # The query's identity keeps the images of other cameras only (its
    # positives), listed in gallery order; draw one of them.
    own = q_uid.clamp(min=0)
    slot = torch.arange(max_own, device=dist.device)
    in_id = (slot < counts[own, None]) & (q_uid[:, None] >= 0)
    cand = members[(starts[own, None] + slot).clamp(max=len(members) - 1)]
    is_pos = in_id & (g_camids[cand] != q_camids[:, None])
    seen = is_pos.cumsum(1)
    num_pos = seen[:, -1]
    u_own = u.gather(2, own.view(-1, 1, 1).expand(-1, num_repeats, 1))
    k = _pick(u_own.squeeze(2), num_pos.clamp(min=1)[:, None])
    # The (k+1)-th positive sits at the first slot where `seen` reaches k+1.
    pos_slot = torch.searchsorted(seen, k + 1).clamp(max=max_own - 1)
    pos_dist = dist.gather(1, cand.gather(1, pos_slot))

    # The query's own identity is not a negative: NaN compares False.
    sampled_dist.scatter_(2,
                          own.view(-1, 1, 1).expand(-1, num_repeats, 1),
                          float('nan'))
    # A negative at the positive's distance ranks before it, as in
    # rank_metrics: ties never raise a score.
    ranks = torch.count_nonzero(sampled_dist <= pos_dist.unsqueeze(2), dim=2)
    return ranks, num_pos


def rank_metrics_cuhk03(
        distmat: Union[Tensor, DistChunkFn],
        q_pids: Tensor,
        g_pids: Tensor,
        q_camids: Tensor,
        g_camids: Tensor,
        max_rank: int = 50,
        num_repeats: int = 10,
        seed: Seed = 0,
        chunk_size: int = 256) -> Dict[str, Union[Tensor, float, int]]:
    """CMC, mAP and mINP under the CUHK03 single-gallery-shot protocol.

    For each query, gallery items of its identity taken by its camera are
    removed; a query without any positive left is skipped and counted. Then,
    in each of ``num_repeats`` repeats, one image of every gallery identity
    (distractor pids included, each pid being one identity) is drawn
    uniformly, and ``CMC[k]`` of the repeat is 1 if at most ``k`` sampled
    images of other identities are closer than the sampled positive. The CMC
    is averaged over repeats and valid queries, as ``eval_cuhk03`` does.
    mAP and mINP are those of :func:`rank_metrics` on the whole filtered
    gallery (``eval_cuhk03`` computes its AP from the same full filtered
    ranking, before any sampling, and no mINP).

    Random draws: ``rng = np.random.default_rng(seed)``, and
    ``u = rng.random((Q, num_repeats, U))`` in C order (drawn chunk by
    chunk, which gives the same numbers), ``U`` being the number of distinct
    gallery pids, in increasing pid order. In repeat ``r`` of query ``i``,
    identity ``j`` is represented by its image number
    ``min(floor(u[i, r, j] * n), n - 1)`` among its ``n`` remaining images
    listed in increasing gallery index. Results therefore depend on the
    seed, never on ``chunk_size`` or the device. ``eval_cuhk03`` draws from
    numpy's global state in an order that depends on the ranking, so its
    CMC equals this one in expectation only.

    Ties follow :func:`rank_metrics`: a negative at the same distance as
    the positive ranks before it. Unlike ``eval_cuhk03``, ``max_rank`` is
    not cut to the gallery size: beyond the sampled gallery the curve stays
    at 1.

    Args:
        distmat (Tensor | Callable): The distance matrix, shape ``[Q, G]``,
            or a function ``fn(start, end)`` returning its rows
            ``start:end``. A function is called twice per chunk (once for
            the mAP, once for the CMC), so it must be deterministic.
        q_pids (Tensor): Query identities, int, shape ``[Q]``.
        g_pids (Tensor): Gallery identities, int, shape ``[G]``.
        q_camids (Tensor): Query cameras, int, shape ``[Q]``.
        g_camids (Tensor): Gallery cameras, int, shape ``[G]``.
        max_rank (int): Length of the CMC curve. Defaults to 50.
        num_repeats (int): Galleries sampled per query. Defaults to 10, as
            in ``eval_cuhk03``.
        seed (int | np.random.Generator | None): Seed of (or the) numpy
            generator of the draws; None draws fresh entropy. Defaults to 0.
        chunk_size (int): Queries processed at once; memory is
            ``O(chunk_size x (G + num_repeats x U))``. Defaults to 256.

    Returns:
        dict: As :func:`rank_metrics`: ``cmc`` (float64 CPU Tensor
        ``[max_rank]``), ``mAP``, ``mINP``, ``num_valid_queries`` and
        ``num_skipped_queries``.
    """
    if num_repeats < 1:
        raise ValueError(f'num_repeats must be positive, got {num_repeats}')
    # Validates the inputs, skips queries alike and gives mAP / mINP.
    out = rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids, max_rank,
                       chunk_size)
    if isinstance(distmat, Tensor):
        matrix = distmat

        def distmat(start: int, end: int) -> Tensor:
            return matrix[start:end]

    num_q, num_g = len(q_pids), len(g_pids)
    q_pids, g_pids = q_pids.long().cpu(), g_pids.long().cpu()
    uids, counts, starts, members = _identity_layout(g_pids)
    num_ids = len(uids)
    q_uid = torch.searchsorted(uids, q_pids).clamp(max=num_ids - 1)
    q_uid[uids[q_uid] != q_pids] = -1
    own_counts = counts[q_uid[q_uid >= 0]]
    max_own = int(own_counts.max()) if len(own_counts) else 1

    rng = np.random.default_rng(seed)
    cmc_counts = torch.zeros(max_rank + 1, dtype=torch.long)
    device = None
    for start in range(0, num_q, chunk_size):
        end = min(start + chunk_size, num_q)
        # Drawn for skipped queries too, so query i always gets u[i].
        u = torch.from_numpy(rng.random((end - start, num_repeats, num_ids)))
        dist = distmat(start, end)
        if dist.shape != (end - start, num_g):
            raise ValueError(f'distance chunk {start}:{end} has shape '
                             f'{tuple(dist.shape)}, expected '
                             f'({end - start}, {num_g})')
        if device is None:
            device = dist.device
            counts, starts, members = (counts.to(device), starts.to(device),
                                       members.to(device))
            g_cams = g_camids.long().to(device)
        ranks, num_pos = _sampled_positive_ranks(
            dist.to(device), u.to(device), q_uid[start:end].to(device),
            q_camids[start:end].long().to(device), g_cams, counts, starts,
            members, max_own)
        ranks = ranks[num_pos > 0].clamp(max=max_rank).flatten().cpu()
        cmc_counts += torch.bincount(ranks, minlength=max_rank + 1)

    num_valid = out['num_valid_queries']
    out['cmc'] = cmc_counts[:max_rank].cumsum(0).double() / (num_valid *
                                                             num_repeats)
    return out
