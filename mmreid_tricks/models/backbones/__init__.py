from .last_stride_resnet import LastStrideResNet

__all__ = ['LastStrideResNet']
