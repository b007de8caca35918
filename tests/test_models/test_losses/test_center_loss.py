import pytest
import torch

from mmreid_tricks.registry import MODELS


def build(**kwargs):
    cfg = dict(type='CenterLoss', num_classes=3, feat_dim=2)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_loss_values_both_reductions():
    feats = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 0])
    for reduction, scale in (('mean', 1 / 3), ('half_sum', 0.5)):
        loss = build(reduction=reduction, loss_weight=1.0).eval()
        loss.centers.copy_(torch.tensor([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0]]))
        # squared distances: 1, 1, 2
        assert loss(feats, labels).item() == pytest.approx(4 * scale)


def bot_reference_step(centers, feats, labels, weight, center_lr):
    """The released code: centers in a second SGD optimizer, gradient scaled
    by 1 / weight before its step."""
    c = torch.nn.Parameter(centers.clone())
    opt = torch.optim.SGD([c], lr=center_lr)
    dist = (feats - c[labels]).pow(2).sum(1).clamp(1e-12, 1e12).mean()
    (weight * dist).backward()
    c.grad.mul_(1.0 / weight)
    opt.step()
    return c.detach()


@pytest.mark.parametrize('weight', [0.0005, 1.0])
def test_center_update_equals_second_optimizer_and_ignores_weight(weight):
    torch.manual_seed(0)
    loss = build(loss_weight=weight, center_lr=0.5)
    loss.train()
    centers = loss.centers.clone()
    feats = torch.randn(6, 2, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 0])
    out = loss(feats, labels)
    expected = bot_reference_step(centers, feats.detach(), labels, weight, 0.5)
    assert torch.allclose(loss.centers, expected, atol=1e-6)
    # The features get the gradient of weight x loss.
    out.backward()
    ref = (feats.detach() - centers[labels]) * 2 / 6 * weight
    assert torch.allclose(feats.grad, ref, atol=1e-7)


def test_half_sum_update_rule():
    loss = build(reduction='half_sum', center_lr=0.5).train()
    loss.centers.zero_()
    feats = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    loss(feats, torch.tensor([1, 1]))
    # grad wrt c_1 = -(f_0 - c) - (f_1 - c) = (-2, -4); c -= 0.5 * grad.
    assert torch.allclose(loss.centers[1], torch.tensor([1.0, 2.0]))
    assert torch.equal(loss.centers[0], torch.zeros(2))


def test_no_update_in_eval_or_no_grad():
    loss = build()
    before = loss.centers.clone()
    loss.eval()(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))
    loss.train()
    with torch.no_grad():
        loss(torch.randn(4, 2), torch.tensor([0, 1, 2, 0]))
    assert torch.equal(loss.centers, before)
    assert 'centers' in loss.state_dict()
    assert not list(loss.parameters())


def test_bf16_autocast_is_finite_and_float32():
    loss = build().train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = loss(torch.randn(4, 2).bfloat16(), torch.tensor([0, 1, 2, 0]))
    assert out.dtype == torch.float32 and torch.isfinite(out)
    assert loss.centers.dtype == torch.float32
