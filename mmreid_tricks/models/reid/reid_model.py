"""The ReID model: backbone, neck and ReID head, routed by mmengine modes."""
from typing import List, Optional

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class ReIDModel(ImageClassifier):
    """Person re-identification model: backbone, neck and ReID head.

    It routes mmengine's modes like mmpretrain's ``ImageClassifier``:
    ``loss`` returns the head's ID / triplet / center losses, ``predict``
    returns data samples carrying the embedding in ``pred_feature``, and
    ``tensor`` returns the ID logits. Any mmpretrain backbone works; the
    BoT recipe uses :class:`LastStrideResNet`, :class:`BNNeck` and
    :class:`ReIDHead`. The default data preprocessor is mmpretrain's
    ``ClsDataPreprocessor`` (normalisation on the device, batch augments).

    Args:
        backbone (dict): Backbone config.
        neck (dict, optional): Neck config. Defaults to None.
        head (dict, optional): Head config. Defaults to None.
        pretrained (str, optional): Checkpoint for the whole model.
            Defaults to None.
        train_cfg (dict, optional): Batch augments, as in
            ``ImageClassifier``. Defaults to None.
        data_preprocessor (dict, optional): Preprocessor config.
            Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
        channels_last (bool): Keep the backbone's weights and its inputs in
            the channels-last memory format, which is faster for
            convolutions under AMP on recent GPUs. Defaults to False.
    """

    def __init__(self, *args, channels_last: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channels_last = channels_last
        if channels_last:
            # In-place initialisation and checkpoint loading keep the format.
            self.backbone.to(memory_format=torch.channels_last)

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck'):
        """Backbone (and neck) features; see ``ImageClassifier``."""
        if self.channels_last and inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return super().extract_feat(inputs, stage)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Embed a batch.

        Args:
            inputs (Tensor): Images, shape (N, 3, H, W).
            data_samples (list[DataSample], optional): Their samples.

        Returns:
            list[DataSample]: Samples with ``pred_feature``.
        """
        return self.head.predict(self.extract_feat(inputs), data_samples)
