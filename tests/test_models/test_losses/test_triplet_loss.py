import math

import pytest
import torch

from mmreid_tricks.registry import MODELS


def points():
    # Four 2-D points, identities 0, 0, 1, 1.
    feats = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [3.0, 2.0]])
    return feats, torch.tensor([0, 0, 1, 1])


def hand_hardest():
    # Per anchor: hardest positive / hardest negative distance.
    d_ap = [3.0, 3.0, math.sqrt(9 + 1), math.sqrt(9 + 1)]
    d_an = [1.0, 2.0, 1.0, 2.0]
    return d_ap, d_an


def test_batch_hard_mining_and_margin():
    feats, labels = points()
    loss = MODELS.build(dict(type='TripletLoss', margin=0.3))
    d_ap, d_an = hand_hardest()
    expected = sum(max(0.0, p - n + 0.3) for p, n in zip(d_ap, d_an)) / 4
    assert loss(feats, labels).item() == pytest.approx(expected, rel=1e-5)


def test_soft_margin():
    feats, labels = points()
    loss = MODELS.build(dict(type='TripletLoss', margin=None))
    d_ap, d_an = hand_hardest()
    expected = sum(math.log1p(math.exp(p - n)) for p, n in zip(d_ap, d_an))
    assert loss(feats, labels).item() == pytest.approx(expected / 4, rel=1e-5)


def test_zero_when_separated_and_gradients_flow():
    feats = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]],
                         requires_grad=True)
    loss = MODELS.build(dict(type='TripletLoss', margin=0.3))
    assert loss(feats, torch.tensor([0, 0, 1, 1])).item() == 0.0
    f, labels = points()
    f.requires_grad_(True)
    loss(f, labels).backward()
    assert torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


def test_single_identity_batch_gives_zero_loss_with_graph():
    f = torch.randn(4, 3, requires_grad=True)
    out = MODELS.build(dict(type='TripletLoss'))(f, torch.zeros(4).long())
    out.backward()
    assert out.item() == 0.0


def test_half_precision_input_is_computed_in_float32():
    f, labels = points()
    out = MODELS.build(dict(type='TripletLoss'))(f.half(), labels)
    assert out.dtype == torch.float32 and torch.isfinite(out)


@pytest.mark.parametrize('margin', [-0.3, float('nan')])
def test_negative_margin_is_refused(margin):
    with pytest.raises(ValueError, match=r'margin=(-0\.3|nan)'):
        MODELS.build(dict(type='TripletLoss', margin=margin))


def test_zero_margin_is_accepted():
    assert MODELS.build(dict(type='TripletLoss', margin=0.0)).margin == 0.0
