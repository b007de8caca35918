"""Batch-hard triplet loss (Hermans et al. 2017), hard or soft margin."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Triplet loss with batch-hard mining (Hermans et al., 2017).

    For every anchor ``a`` of the batch, the hardest positive is the farthest
    sample of the same identity and the hardest negative the closest sample of
    another identity (euclidean distance):

    - hard margin: ``mean_a max(0, d(a, p) - d(a, n) + margin)``;
    - soft margin (``margin=None``):
      ``mean_a log(1 + exp(d(a, p) - d(a, n)))``.

    Anchors without any negative in the batch are left out. Distances are
    computed in float32 so the loss is safe under fp16/bf16 autocast.

    Args:
        margin (float, optional): The margin, at least 0; ``None`` selects
            the soft margin. Defaults to 0.3.
        normalize_feature (bool): L2-normalise features first (BoT: False).
            Defaults to False.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 margin: Optional[float] = 0.3,
                 normalize_feature: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if margin is not None and not margin >= 0:
            raise ValueError(
                f'TripletLoss margin must be >= 0 (or None for the soft '
                f'margin), but got margin={margin!r}')
        self.margin = margin
        self.normalize_feature = normalize_feature
        self.loss_weight = loss_weight

    @staticmethod
    def euclidean_dist(feats: torch.Tensor) -> torch.Tensor:
        """Pairwise euclidean distances, shape (N, N), from (N, D)."""
        sq = feats.pow(2).sum(1, keepdim=True)
        dist = sq + sq.t() - 2 * feats @ feats.t()
        # The clamp keeps sqrt differentiable on the diagonal.
        return dist.clamp(min=1e-12).sqrt()

    def hard_example_mining(self, dist: torch.Tensor, labels: torch.Tensor):
        """Hardest positive and negative distance per anchor.

        Args:
            dist (Tensor): Pairwise distances, shape (N, N).
            labels (Tensor): Identities, shape (N, ).

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``dist_ap`` and ``dist_an`` of
            shape (N, ), and a bool mask of anchors that have a negative.
        """
        same = labels.view(-1, 1) == labels.view(1, -1)
        dist_ap = dist.masked_fill(~same, float('-inf')).max(1).values
        dist_an = dist.masked_fill(same, float('inf')).min(1).values
        return dist_ap, dist_an, (~same).any(1)

    def forward(self, feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            feats (Tensor): Embeddings, shape (N, D).
            labels (Tensor): Identities, shape (N, ).

        Returns:
            Tensor: The weighted scalar loss.
        """
        feats = feats.float()
        if self.normalize_feature:
            feats = F.normalize(feats, dim=1)
        dist_ap, dist_an, valid = self.hard_example_mining(
            self.euclidean_dist(feats), labels)
        if not valid.any():
            # A batch of one identity has no triplet; keep the graph alive.
            return feats.sum() * 0.0
        diff = dist_ap[valid] - dist_an[valid]
        if self.margin is None:
            loss = F.softplus(diff).mean()
        else:
            loss = F.relu(diff + self.margin).mean()
        return self.loss_weight * loss
