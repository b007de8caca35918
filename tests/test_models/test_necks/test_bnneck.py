import torch

from mmreid_tricks.registry import MODELS


def test_pool_bn_and_frozen_bias():
    neck = MODELS.build(dict(type='BNNeck', in_channels=8))
    assert torch.equal(neck.bn.weight, torch.ones(8))
    assert torch.equal(neck.bn.bias, torch.zeros(8))
    assert not neck.bn.bias.requires_grad and neck.bn.weight.requires_grad
    x = torch.randn(6, 8, 4, 2)
    f_t, f_i = neck((torch.randn(6, 4, 8, 8), x))
    assert torch.allclose(f_t, x.mean((2, 3)), atol=1e-6)
    # Training-mode BN with weight 1, bias 0: per-channel standardisation.
    expected = (f_t -
                f_t.mean(0)) / torch.sqrt(f_t.var(0, unbiased=False) + 1e-5)
    assert torch.allclose(f_i, expected, atol=1e-5)
    f_i.sum().backward()
    assert neck.bn.bias.grad is None


def test_vector_input_and_without_bn():
    neck = MODELS.build(dict(type='BNNeck', in_channels=4, with_bn=False))
    v = torch.randn(3, 4)
    f_t, f_i = neck((v, ))
    assert f_t is v and f_i is v
    assert not hasattr(neck, 'bn')
