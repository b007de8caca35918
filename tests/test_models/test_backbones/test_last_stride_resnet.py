import pytest
import torch

from mmreid_tricks.registry import MODELS


@pytest.mark.parametrize('depth,channels', [(18, 512), (50, 2048)])
def test_last_stride_one_gives_16x8_map(depth, channels):
    net = MODELS.build(
        dict(type='LastStrideResNet', depth=depth, out_indices=(3, )))
    net.eval()  # mmpretrain's ResNet.train() returns None
    with torch.no_grad():
        out = net(torch.randn(1, 3, 256, 128))
    assert out[-1].shape == (1, channels, 16, 8)


def test_last_stride_two_is_plain_resnet_and_keys_match():
    net = MODELS.build(dict(type='LastStrideResNet', depth=18, last_stride=2))
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(1, 3, 256, 128))[-1].shape[-2:] == (8, 4)
    plain = MODELS.build(dict(type='ResNet', depth=18))
    assert net.state_dict().keys() == plain.state_dict().keys()


def test_strides_argument_is_refused():
    with pytest.raises(ValueError, match='strides'):
        MODELS.build(
            dict(type='LastStrideResNet', depth=18, strides=(1, 2, 2, 1)))
