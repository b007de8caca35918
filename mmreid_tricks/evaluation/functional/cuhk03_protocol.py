"""CMC and mAP under the classic CUHK03 single-gallery-shot protocol.

The protocol is the one of the ``eval_cuhk03`` routine of torchreid and
fast-reid: for each query, gallery items of its identity AND camera are
removed; then, ``num_repeats`` times, one image of every gallery identity is
drawn at random and the CMC of the query is measured on that sampled gallery,
where its identity appears exactly once. The CMC is averaged over the repeats
and the queries. The AP, however, is computed once per query on the whole
filtered gallery, which makes the mAP (and the mINP) equal to those of the
Market-1501 protocol; they come from
:class:`~mmreid_tricks.evaluation.functional.ranking.Market1501Ranking`,
which reads the same distance chunks as the sampled CMC: each chunk is
computed once.

The sampled CMC never sorts anything: the rank of the sampled positive is
the number of sampled images of other identities at a distance not larger
than it, so each (query, repeat) costs one gather per gallery identity.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

from .distances import DistanceRows, DistChunkFn
from .identity_layout import IdentityLayout
from .ranking import Market1501Ranking, RankResult

Seed = Union[int, np.random.Generator, None]


def _pick(u: Tensor, n: Tensor) -> Tensor:
    """Index ``floor(u * n)`` of one of ``n`` items for ``u`` in [0, 1).

    ``u * n`` can round up to exactly ``n`` in float64, hence the clamp.
    """
    return (u * n).long().minimum(n - 1)


def _sampled_positive_ranks(dist: Tensor, u: Tensor, q_uid: Tensor,
                            q_camids: Tensor, g_camids: Tensor,
                            layout: IdentityLayout,
                            max_own: int) -> Tuple[Tensor, Tensor]:
    """Rank of the sampled positive in each sampled gallery of a chunk.

    Args:
        dist (Tensor): Distances of a chunk of ``q`` queries, ``[q, G]``.
        u (Tensor): float64 uniforms in [0, 1), shape ``[q, R, U]``;
            ``u[i, r, j]`` picks the image of identity ``j`` in repeat ``r``
            of query ``i``.
        q_uid (Tensor): Index in ``layout.uids`` of each query's identity,
            -1 when the gallery does not hold it, shape ``[q]``.
        q_camids (Tensor): Query cameras, shape ``[q]``.
        g_camids (Tensor): Gallery cameras, shape ``[G]``.
        layout (IdentityLayout): The gallery grouped by identity, on the
            device of ``dist``.
        max_own (int): Slots for the images of a query's identity, at least
            :meth:`IdentityLayout.max_members` of the queries.

    Returns:
        tuple[Tensor]: ``ranks`` (int64, ``[q, R]``, 0-based rank of the
        sampled positive among the ``U`` sampled images; garbage for a query
        without positives) and ``num_pos`` (int64 ``[q]``).
    """
    num_q, num_repeats, _ = u.shape
    if not dist.is_floating_point():
        dist = dist.double()  # exact for ints, and holds the NaN below
    # Every other identity keeps all its images: draw one of them.
    picked = layout.members[layout.starts + _pick(u, layout.counts)]
    sampled_dist = dist.gather(1, picked.view(num_q, -1)).view_as(picked)

    # The query's identity keeps the images of other cameras only (its
    # positives), listed in gallery order; draw one of them.
    own = q_uid.clamp(min=0)
    cand, in_id = layout.members_of(q_uid, max_own)
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


class SampledGalleryCMC:
    """The single-gallery-shot CMC, accumulated chunk by chunk.

    Args:
        q_pids (Tensor): Query identities, int, shape ``[Q]``.
        g_pids (Tensor): Gallery identities, int, shape ``[G]``.
        q_camids (Tensor): Query cameras, int, shape ``[Q]``.
        g_camids (Tensor): Gallery cameras, int, shape ``[G]``.
        max_rank (int): Length of the CMC curve.
        num_repeats (int): Galleries sampled per query.
        seed (int | np.random.Generator | None): See
            :func:`rank_metrics_cuhk03`.
    """

    def __init__(self, q_pids: Tensor, g_pids: Tensor, q_camids: Tensor,
                 g_camids: Tensor, max_rank: int, num_repeats: int,
                 seed: Seed) -> None:
        if num_repeats < 1:
            raise ValueError(
                f'num_repeats must be positive, got {num_repeats}')
        self.layout = IdentityLayout.of(g_pids.cpu())
        self.q_uid = self.layout.index_of(q_pids)
        self.max_own = self.layout.max_members(self.q_uid)
        self.q_camids, self.g_camids = q_camids.long(), g_camids.long()
        self.max_rank, self.num_repeats = max_rank, num_repeats
        self.rng = np.random.default_rng(seed)
        self.device: Optional[torch.device] = None  # the first chunk's
        self.cmc_counts = torch.zeros(max_rank + 1, dtype=torch.long)

    def add(self, start: int, end: int, dist: Tensor) -> None:
        """Sample the galleries of queries ``start:end`` and rank them.

        Args:
            start (int): First query of the chunk; chunks come in order.
            end (int): One past the last query of the chunk.
            dist (Tensor): Their distances, shape ``[end - start, G]``.
        """
        # Drawn for skipped queries too, so query i always gets u[i].
        u = torch.from_numpy(
            self.rng.random(
                (end - start, self.num_repeats, len(self.layout.uids))))
        if self.device is None:
            self.device = dist.device
            self.layout = self.layout.to(self.device)
            self.g_camids = self.g_camids.to(self.device)
        device = self.device
        ranks, num_pos = _sampled_positive_ranks(
            dist.to(device), u.to(device), self.q_uid[start:end].to(device),
            self.q_camids[start:end].to(device), self.g_camids, self.layout,
            self.max_own)
        ranks = ranks[num_pos > 0].clamp(max=self.max_rank).flatten().cpu()
        self.cmc_counts += torch.bincount(ranks, minlength=self.max_rank + 1)

    def cmc(self, num_valid: int) -> Tensor:
        """The CMC over ``num_valid`` valid queries, float64 ``[max_rank]``."""
        counts = self.cmc_counts[:self.max_rank].cumsum(0).double()
        return counts / (num_valid * self.num_repeats)


def rank_metrics_cuhk03(distmat: Union[Tensor, DistChunkFn],
                        q_pids: Tensor,
                        g_pids: Tensor,
                        q_camids: Tensor,
                        g_camids: Tensor,
                        max_rank: int = 50,
                        num_repeats: int = 10,
                        seed: Seed = 0,
                        chunk_size: int = 256) -> RankResult:
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
            ``start:end``, called once per chunk: the same rows give the
            mAP and the sampled CMC.
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
        ``[max_rank]``, the sampled CMC), ``mAP``, ``mINP``, ``ap``,
        ``num_valid_queries`` and ``num_skipped_queries``.
    """
    # Validates the inputs, skips queries alike and gives mAP / mINP.
    ranking = Market1501Ranking(q_pids, g_pids, q_camids, g_camids, max_rank)
    sampled = SampledGalleryCMC(q_pids, g_pids, q_camids, g_camids, max_rank,
                                num_repeats, seed)
    rows = DistanceRows(distmat, len(q_pids), len(g_pids))
    for start, end, dist in rows.chunks(chunk_size):
        ranking.add(start, end, dist)
        sampled.add(start, end, dist)
    out = ranking.result()
    out['cmc'] = sampled.cmc(out['num_valid_queries'])
    return out
