"""BNNeck: a BN after pooling that splits metric and ID features."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class BNNeck(BaseModule):
    """Global pooling followed by BoT's batch-norm neck.

    The backbone's last feature map is average-pooled to ``f_t``; a
    BatchNorm1d whose bias is frozen at 0 (weight 1 at init) gives ``f_i``.
    The metric losses (triplet, center) use ``f_t``, the classifier ``f_i``,
    which is the last item of the output, as mmpretrain heads expect. With
    ``with_bn=False`` both items are ``f_t`` (the baseline without BNNeck).
    Inputs that are already vectors (shape (N, C), e.g. a ViT's class token)
    are not pooled. Under DDP, the runner's ``sync_bn`` turns the BN into
    SyncBN.

    Args:
        in_channels (int): Channels of the backbone output.
        with_bn (bool): Add the BN. Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.

    Shapes:
        - input: tuple whose last item is (N, C, H, W) or (N, C).
        - output: ``(f_t, f_i)``, each (N, C).
    """

    def __init__(self,
                 in_channels: int,
                 with_bn: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.with_bn = with_bn
        self.pool = nn.AdaptiveAvgPool2d(1)
        if with_bn:
            self.bn = nn.BatchNorm1d(in_channels)
            nn.init.constant_(self.bn.weight, 1.0)
            nn.init.constant_(self.bn.bias, 0.0)
            self.bn.bias.requires_grad_(False)

    def forward(
            self, inputs: Tuple[torch.Tensor,
                                ...]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Pool and normalise the last backbone output."""
        x = inputs[-1] if isinstance(inputs, (tuple, list)) else inputs
        if x.dim() == 4:
            x = self.pool(x).flatten(1)
        elif x.dim() != 2:
            raise ValueError('BNNeck expects (N, C, H, W) or (N, C) inputs, '
                             f'got shape {tuple(x.shape)}')
        return x, (self.bn(x) if self.with_bn else x)
