"""Data preprocessor with label-preserving batch transforms."""
from typing import Callable, List, Optional, Sequence, Union

from mmpretrain.models.utils import ClsDataPreprocessor

from mmreid_tricks.registry import BATCH_AUGMENTS, MODELS, build_in_scope


@MODELS.register_module()
class ReIDDataPreprocessor(ClsDataPreprocessor):
    """mmpretrain's preprocessor plus batch transforms that keep the labels.

    ``ClsDataPreprocessor`` runs its ``batch_augments`` (Mixup, CutMix)
    only when it has scores: it turns on ``to_onehot``, needs
    ``num_classes``, writes one-hot ``gt_score`` into every data sample and
    picks one augment per batch. Erasing neither mixes labels nor needs
    scores, so ``batch_transforms`` here are applied to every training
    batch, in order, after normalisation (where the released BoT code erases)
    and after any ``batch_augments``, on the batch's device. ``gt_label`` is
    left as the parent leaves it and no ``gt_score`` is added. Nothing is
    applied when ``training`` is False.

    Example:
        >>> data_preprocessor = dict(
        ...     type='ReIDDataPreprocessor',
        ...     mean=[123.675, 116.28, 103.53],
        ...     std=[58.395, 57.12, 57.375],
        ...     to_rgb=True,
        ...     batch_transforms=[
        ...         dict(type='BatchRandomErasing', prob=0.5, fill='bot')
        ...     ])

    Args:
        batch_transforms (Sequence[dict | Callable], optional): Transforms
            from ``BATCH_AUGMENTS`` (built in the ``mmreid_tricks`` scope) or
            callables, each called as ``transform(inputs, None)`` on the
            normalised (N, C, H, W) batch and returning ``(inputs, _)``.
            Defaults to None.
        **kwargs: Arguments of ``ClsDataPreprocessor`` (``mean``, ``std``,
            ``to_rgb``, ``batch_augments``, ...).
    """

    def __init__(self,
                 batch_transforms: Optional[Sequence[Union[dict,
                                                           Callable]]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.batch_transforms: List[Callable] = [
            cfg if callable(cfg) else build_in_scope(BATCH_AUGMENTS, cfg)
            for cfg in batch_transforms or []
        ]

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise, stack and augment as the parent, then transform.

        Args:
            data (dict): Data from the dataloader.
            training (bool): Whether to apply the training-time transforms.
                Defaults to False.

        Returns:
            dict: ``inputs`` of shape (N, C, H, W) and ``data_samples``.
        """
        data = super().forward(data, training)
        if training and self.batch_transforms:
            inputs = data['inputs']
            for transform in self.batch_transforms:
                inputs, _ = transform(inputs, None)
            data['inputs'] = inputs
        return data
