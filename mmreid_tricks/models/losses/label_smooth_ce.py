"""Cross-entropy with label smoothing (Szegedy et al. 2016), as in BoT."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class CrossEntropyLabelSmoothLoss(nn.Module):
    """Cross-entropy with label smoothing, the ID loss of BoT.

    Two smoothed targets are offered, both from the source document:

    - ``mode='uniform'`` (BoT's released code, Szegedy et al.):
      ``q = (1 - eps) * one_hot + eps / K``, so the true class gets
      ``1 - eps + eps / K``.
    - ``mode='others'``: the true class gets ``1 - eps`` and every other class
      ``eps / (K - 1)``.

    The loss is ``-sum_i q_i log p_i`` averaged over the batch. It is computed
    from ``log_softmax`` in float32, so it stays finite for thousands of
    identities and under fp16/bf16 autocast.

    Args:
        epsilon (float): Smoothing strength in [0, 1). ``0`` gives plain
            cross-entropy. Defaults to 0.1.
        mode (str): ``'uniform'`` or ``'others'``, see above.
            Defaults to ``'uniform'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 epsilon: float = 0.1,
                 mode: str = 'uniform',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f'epsilon must be in [0, 1), got {epsilon}')
        if mode not in ('uniform', 'others'):
            raise ValueError(
                f"mode must be 'uniform' or 'others', got {mode!r}")
        self.epsilon = epsilon
        self.mode = mode
        self.loss_weight = loss_weight

    def smoothed_targets(self, labels: torch.Tensor,
                         num_classes: int) -> torch.Tensor:
        """Smoothed target distribution.

        Args:
            labels (Tensor): Class indices, shape (N, ).
            num_classes (int): K.

        Returns:
            Tensor: Targets, shape (N, K), each row summing to 1.
        """
        eps = self.epsilon
        if self.mode == 'uniform':
            on, off = 1.0 - eps + eps / num_classes, eps / num_classes
        else:
            on, off = 1.0 - eps, eps / max(num_classes - 1, 1)
        targets = torch.full((labels.numel(), num_classes),
                             off,
                             dtype=torch.float32,
                             device=labels.device)
        targets.scatter_(1, labels.view(-1, 1).long(), on)
        return targets

    def forward(self,
                cls_score: torch.Tensor,
                labels: torch.Tensor,
                avg_factor: Optional[float] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape (N, K).
            labels (Tensor): Class indices, shape (N, ).
            avg_factor (float, optional): Divisor instead of N.

        Returns:
            Tensor: The weighted scalar loss.
        """
        log_prob = F.log_softmax(cls_score.float(), dim=1)
        targets = self.smoothed_targets(labels, cls_score.size(1))
        loss = -(targets * log_prob).sum()
        loss = loss / (avg_factor or cls_score.size(0))
        return self.loss_weight * loss
