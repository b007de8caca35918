"""The gallery grouped by identity, shared by both ranking protocols."""
from typing import NamedTuple, Tuple

import torch
from torch import Tensor


class IdentityLayout(NamedTuple):
    """The gallery images of each identity, without sorting a row.

    The gallery indices of identity ``uids[j]`` are
    ``members[starts[j]:starts[j] + counts[j]]``, in increasing order.
    Build it with :meth:`of`.

    Attributes:
        uids (Tensor): The sorted distinct gallery identities, int64 ``[U]``.
        counts (Tensor): Images per identity, int64 ``[U]``.
        starts (Tensor): Offset of each identity in ``members``, ``[U]``.
        members (Tensor): Gallery indices grouped by identity, ``[G]``.
    """
    uids: Tensor
    counts: Tensor
    starts: Tensor
    members: Tensor

    @classmethod
    def of(cls, g_pids: Tensor) -> 'IdentityLayout':
        """Group the gallery by identity.

        Args:
            g_pids (Tensor): Gallery identities, int, shape ``[G]``.
        """
        uids, g_uid = torch.unique(g_pids.long(), return_inverse=True)
        counts = torch.bincount(g_uid, minlength=len(uids))
        members = torch.argsort(g_uid, stable=True)
        return cls(uids, counts, counts.cumsum(0) - counts, members)

    def index_of(self, pids: Tensor) -> Tensor:
        """Index in ``uids`` of each of ``pids``, -1 where absent.

        Args:
            pids (Tensor): Identities (of queries), int, shape ``[Q]``.

        Returns:
            Tensor: int64, shape ``[Q]``, on the CPU.
        """
        pids = pids.long().cpu()
        uids = self.uids.cpu()
        index = torch.searchsorted(uids, pids).clamp(max=len(uids) - 1)
        index[uids[index] != pids] = -1
        return index

    def max_members(self, index: Tensor) -> int:
        """Most images of one identity among ``index`` (from
        :meth:`index_of`, absent ones ignored), at least 1."""
        counts = self.counts.cpu()[index[index >= 0]]
        return int(counts.max()) if len(counts) else 1

    def members_of(self, index: Tensor, slots: int) -> Tuple[Tensor, Tensor]:
        """Gallery images of each identity of ``index``, padded to ``slots``.

        Args:
            index (Tensor): Identity indices from :meth:`index_of` (-1 for
                an absent identity), on the layout's device, ``[q]``.
            slots (int): Columns S, at least :meth:`max_members` of them.

        Returns:
            tuple[Tensor]: ``idx``, int64 ``[q, S]``, the gallery indices of
            each identity in increasing order, padded with a valid index;
            ``real``, bool ``[q, S]``, True for slots that are no padding.
        """
        own = index.clamp(min=0)
        slot = torch.arange(slots, device=index.device)
        real = (slot < self.counts[own, None]) & (index[:, None] >= 0)
        idx = self.members[(self.starts[own, None] +
                            slot).clamp(max=len(self.members) - 1)]
        return idx, real

    def to(self, device: torch.device) -> 'IdentityLayout':
        """The layout on ``device``."""
        return IdentityLayout(*(t.to(device) for t in self))
