"""Center loss (Wen et al. 2016) with its own center learning rate."""
import torch
import torch.nn as nn
from mmengine.dist import all_reduce

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class CenterLoss(nn.Module):
    """Center loss (Wen et al., 2016) with BoT's separate center update rate.

    The loss pulls each feature towards the center of its class:

    - ``reduction='mean'`` (BoT's code): ``1/B sum_j ||f_j - c_{y_j}||^2``,
      each squared distance clamped to [1e-12, 1e12];
    - ``reduction='half_sum'`` (the source document):
      ``1/2 sum_j ||f_j - c_{y_j}||^2``.

    The returned value is ``loss_weight`` times that, and only the features
    receive its gradient. The centers are a buffer, not a parameter: in
    training mode every forward moves them by one plain SGD step of rate
    ``center_lr`` on the *unweighted* loss. This is exactly what BoT's code
    does with a second optimizer (it divides the centers' gradient by the loss
    weight before an SGD step of lr 0.5), so the center speed does not depend
    on the loss weight, the main optimizer, its schedule or AMP loss scaling,
    and a stock runner needs no second optimizer. Under DDP the step is
    averaged over processes, as DDP averages gradients, so the centers stay
    identical on every rank. With gradient accumulation the centers move at
    every forward.

    Args:
        num_classes (int): Number of identities.
        feat_dim (int): Feature dimension.
        loss_weight (float): Weight of the loss. Defaults to 0.0005.
        center_lr (float): SGD rate of the center update. Defaults to 0.5.
        reduction (str): ``'mean'`` or ``'half_sum'``. Defaults to ``'mean'``.
    """

    def __init__(self,
                 num_classes: int,
                 feat_dim: int,
                 loss_weight: float = 0.0005,
                 center_lr: float = 0.5,
                 reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in ('mean', 'half_sum'):
            raise ValueError(
                f"reduction must be 'mean' or 'half_sum', got {reduction!r}")
        self.loss_weight = loss_weight
        self.center_lr = center_lr
        self.reduction = reduction
        self.register_buffer('centers', torch.randn(num_classes, feat_dim))

    def forward(self, feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss and, in training mode, update the centers.

        Args:
            feats (Tensor): Features, shape (B, D).
            labels (Tensor): Class indices, shape (B, ).

        Returns:
            Tensor: The weighted scalar loss.
        """
        feats = feats.float()
        labels = labels.long()
        centers = self.centers[labels]
        sq_dist = (feats - centers).pow(2).sum(1)
        if self.reduction == 'mean':
            loss = sq_dist.clamp(1e-12, 1e12).mean()
        else:
            loss = 0.5 * sq_dist.sum()
        if self.training and torch.is_grad_enabled():
            self._update_centers(feats.detach(), labels, centers, sq_dist)
        return self.loss_weight * loss

    @torch.no_grad()
    def _update_centers(self, feats: torch.Tensor, labels: torch.Tensor,
                        centers: torch.Tensor, sq_dist: torch.Tensor) -> None:
        # d loss / d c_y, summed over the samples of each class.
        diff = centers - feats
        if self.reduction == 'mean':
            inside = (sq_dist > 1e-12) & (sq_dist < 1e12)
            diff = diff * (2.0 / feats.size(0)) * inside.unsqueeze(1)
        grad = torch.zeros_like(self.centers)
        grad.index_add_(0, labels, diff)
        all_reduce(grad, op='mean')
        self.centers.sub_(self.center_lr * grad)
