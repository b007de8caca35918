from mmpretrain.models.backbones import ResNet

from mmreid_tricks.registry import MODELS


@MODELS.register_module()
class LastStrideResNet(ResNet):
    """ResNet whose last stage has a configurable stride (BoT's last stride).

    With ``last_stride=1`` the last down-sampling is removed, so a 256x128
    input gives a 16x8 feature map instead of 8x4. The weights are the same
    as ResNet's, so ImageNet checkpoints load unchanged. Other ResNet-like
    backbones of mmpretrain (``ResNeXt``, ``SEResNet``, ``ResNetV1d``) take
    the same effect from their own ``strides=(1, 2, 2, 1)`` argument.

    Args:
        last_stride (int): Stride of the first block of the last stage.
            Defaults to 1.
        **kwargs: Arguments of :class:`mmpretrain.models.ResNet`, whose
            ``strides`` must not be given together with ``last_stride``.
    """

    def __init__(self, last_stride: int = 1, **kwargs) -> None:
        if 'strides' in kwargs:
            raise ValueError('LastStrideResNet sets the strides itself from '
                             '`last_stride`; do not pass `strides`')
        num_stages = kwargs.get('num_stages', 4)
        strides = (1, 2, 2, 2)[:num_stages - 1] + (last_stride, )
        super().__init__(strides=strides, **kwargs)
        self.last_stride = last_stride
