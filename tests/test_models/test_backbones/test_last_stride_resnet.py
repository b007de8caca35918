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


def _layers(net, x):
    for name in net.res_layers:
        x = getattr(net, name)(x)
    return x


@pytest.mark.parametrize('depth', [18, 50])
def test_without_stem_relu_the_stem_is_conv_bn_maxpool(depth):
    torch.manual_seed(0)
    plain = MODELS.build(dict(type='LastStrideResNet', depth=depth))
    released = MODELS.build(
        dict(type='LastStrideResNet', depth=depth, stem_relu=False))
    # Same parameters and keys: the released weights load unchanged.
    assert released.state_dict().keys() == plain.state_dict().keys()
    released.load_state_dict(plain.state_dict())
    plain.eval()
    released.eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        stem = plain.norm1(plain.conv1(x))
        assert (stem < 0).any()  # so the ReLU matters
        expected_plain = _layers(plain, plain.maxpool(torch.relu(stem)))
        expected_released = _layers(plain, plain.maxpool(stem))
        assert torch.equal(plain(x)[-1], expected_plain)
        assert torch.equal(released(x)[-1], expected_released)
        assert not torch.allclose(expected_plain, expected_released)


def test_stem_relu_false_refuses_deep_stem():
    with pytest.raises(ValueError, match='deep_stem'):
        MODELS.build(
            dict(
                type='LastStrideResNet',
                depth=18,
                deep_stem=True,
                stem_relu=False))
