"""ResNet with a configurable last stride (BoT's "last stride = 1")."""
from mmpretrain.models.backbones import ResNet
from torch import nn

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class LastStrideResNet(ResNet):
    """ResNet whose last stage has a configurable stride (BoT's last stride).

    With ``last_stride=1`` the last down-sampling is removed, so a 256x128
    input gives a 16x8 feature map instead of 8x4. The weights are the same
    as ResNet's, so ImageNet checkpoints load unchanged. Other ResNet-like
    backbones of mmpretrain (``ResNeXt``, ``SEResNet``, ``ResNetV1d``) take
    the same effect from their own ``strides=(1, 2, 2, 1)`` argument.

    The paper's released ResNet-50 has no ReLU after the stem's BN (the line
    is commented out in its backbone): ``stem_relu=False`` makes the stem
    conv-bn-maxpool, to reproduce that network exactly when loading its
    weights. The parameters and state-dict keys do not change.

    Args:
        last_stride (int): Stride of the first block of the last stage.
            Defaults to 1.
        stem_relu (bool): Apply a ReLU after the stem's BN, as torchvision
            and mmpretrain do. ``False`` reproduces the released code; it
            requires the plain stem (``deep_stem=False``). Defaults to True.
        **kwargs: Arguments of :class:`mmpretrain.models.ResNet`, whose
            ``strides`` must not be given together with ``last_stride``.
    """

    def __init__(self,
                 last_stride: int = 1,
                 stem_relu: bool = True,
                 **kwargs) -> None:
        if 'strides' in kwargs:
            raise ValueError('LastStrideResNet sets the strides itself from '
                             '`last_stride`; do not pass `strides`')
        if not stem_relu and kwargs.get('deep_stem', False):
            raise ValueError('stem_relu=False removes the ReLU of the plain '
                             'stem; it cannot be used with deep_stem=True')
        num_stages = kwargs.get('num_stages', 4)
        strides = (1, 2, 2, 2)[:num_stages - 1] + (last_stride, )
        super().__init__(strides=strides, **kwargs)
        self.last_stride = last_stride
        self.stem_relu = stem_relu
        if not stem_relu:
            # ResNet applies `self.relu` only in the plain stem.
            self.relu = nn.Identity()
