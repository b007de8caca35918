"""BoT's ReID head: ID classifier, triplet and center losses, embedding."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmreid_tricks.registry import MODELS, build_in_scope


def _build_loss(cfg) -> Optional[nn.Module]:
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return build_in_scope(MODELS, cfg)


@MODELS.register_module()
class ReIDHead(BaseModule):
    """ReID head: ID classifier plus metric losses, as in BoT.

    It takes the neck's ``(f_t, f_i)`` (see :class:`BNNeck`): the
    classifier (a linear layer without bias, weights drawn from N(0, 0.001^2))
    reads ``f_i`` for the ID loss, the triplet and center losses read ``f_t``.
    In predict mode it returns the embedding chosen by ``test_feature``.

    The classifier is initialised as in the released code: the bias-free
    (BNNeck) classifier from N(0, 0.001^2), one with a bias (the ablation's
    rows before BNNeck) with PyTorch's default ``nn.Linear`` init.

    Args:
        num_classes (int): Number of training identities.
        in_channels (int): Feature dimension.
        id_loss (dict, optional): ID loss config. Defaults to
            ``CrossEntropyLabelSmoothLoss`` with epsilon 0.1.
        triplet_loss (dict, optional): Triplet loss config, or None.
            Defaults to ``TripletLoss`` with margin 0.3.
        center_loss (dict, optional): Center loss config without
            ``num_classes`` / ``feat_dim`` (filled in here), or None.
            Defaults to None.
        test_feature (str): ``'after'`` (f_i, BoT's test setting) or
            ``'before'`` (f_t) the BN. Defaults to ``'after'``.
        classifier_bias (bool): Give the classifier a bias (BoT: no).
            Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to
            None: the released init above, i.e. ``dict(type='Normal',
            layer='Linear', std=0.001)`` without a classifier bias and
            PyTorch's default with one.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 id_loss: Optional[dict] = dict(
                     type='CrossEntropyLabelSmoothLoss', epsilon=0.1),
                 triplet_loss: Optional[dict] = dict(
                     type='TripletLoss', margin=0.3),
                 center_loss: Optional[dict] = None,
                 test_feature: str = 'after',
                 classifier_bias: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if init_cfg is None and not classifier_bias:
            init_cfg = dict(type='Normal', layer='Linear', std=0.001)
        super().__init__(init_cfg=init_cfg)
        if test_feature not in ('before', 'after'):
            raise ValueError("test_feature must be 'before' or 'after', "
                             f'got {test_feature!r}')
        if id_loss is None and triplet_loss is None and center_loss is None:
            raise ValueError('ReIDHead needs at least one loss')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.test_feature = test_feature
        self.classifier = nn.Linear(
            in_channels, num_classes, bias=classifier_bias)
        self.id_loss = _build_loss(id_loss)
        self.triplet_loss = _build_loss(triplet_loss)
        if isinstance(center_loss, dict):
            center_loss = dict(
                center_loss, num_classes=num_classes, feat_dim=in_channels)
        self.center_loss = _build_loss(center_loss)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """ID logits of shape (N, num_classes) from the last feature."""
        return self.classifier(feats[-1])

    def loss(self, feats: Tuple[torch.Tensor, ...],
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Compute the ID, triplet and center losses.

        Args:
            feats (tuple[Tensor]): ``(f_t, f_i)``, each (N, C).
            data_samples (list[DataSample]): Samples with ``gt_label``
                holding the training identity.

        Returns:
            dict[str, Tensor]: ``loss_id``, ``loss_triplet``,
            ``loss_center`` (those configured) and ``accuracy`` (ID top-1,
            in percent, not optimised).
        """
        labels = torch.cat([s.gt_label
                            for s in data_samples]).to(feats[0].device)
        if labels.numel() and int(labels.max()) >= self.num_classes:
            raise ValueError(
                f'training label {int(labels.max())} is out of range for '
                f'num_classes={self.num_classes}: set the head\'s num_classes '
                'to the number of training identities')
        metric_feat = feats[0]
        losses = dict()
        if self.id_loss is not None:
            logits = self(feats)
            losses['loss_id'] = self.id_loss(logits, labels)
            with torch.no_grad():
                acc = (logits.argmax(1) == labels).float().mean() * 100
            losses['accuracy'] = acc
        if self.triplet_loss is not None:
            losses['loss_triplet'] = self.triplet_loss(metric_feat, labels)
        if self.center_loss is not None:
            losses['loss_center'] = self.center_loss(metric_feat, labels)
        return losses

    def predict(
        self,
        feats: Tuple[torch.Tensor, ...],
        data_samples: Optional[Sequence[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Attach the test embedding to the data samples.

        Args:
            feats (tuple[Tensor]): ``(f_t, f_i)``, each (N, C).
            data_samples (list[DataSample], optional): Samples to fill; new
                ones are made when None.

        Returns:
            list[DataSample]: Samples with ``pred_feature`` of shape (C, ).
        """
        emb = feats[-1] if self.test_feature == 'after' else feats[0]
        if data_samples is None:
            data_samples = [None] * emb.size(0)
        out = []
        for sample, feat in zip(data_samples, emb):
            sample = DataSample() if sample is None else sample
            sample.set_field(feat.detach(), 'pred_feature')
            out.append(sample)
        return out
