import math

import pytest
import torch

from mmreid_tricks.registry import MODELS


def build(**kwargs):
    return MODELS.build(dict(type='CrossEntropyLabelSmoothLoss', **kwargs))


def test_uniform_form_matches_hand_computation():
    # K=3, eps=0.1: q = (0.9 + 0.1/3, 0.1/3, 0.1/3) for label 0.
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    z = math.exp(2.0) + 1.0 + math.exp(-1.0)
    logp = [2.0 - math.log(z), -math.log(z), -1.0 - math.log(z)]
    q = [0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3]
    expected = -sum(qi * lp for qi, lp in zip(q, logp))
    loss = build(epsilon=0.1)(logits, torch.tensor([0]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_others_form_matches_hand_computation():
    # K=3, eps=0.1: q = (0.9, 0.05, 0.05) for label 2.
    logits = torch.tensor([[0.5, -0.5, 1.5]])
    z = math.exp(0.5) + math.exp(-0.5) + math.exp(1.5)
    logp = [0.5 - math.log(z), -0.5 - math.log(z), 1.5 - math.log(z)]
    expected = -(0.05 * logp[0] + 0.05 * logp[1] + 0.9 * logp[2])
    loss = build(epsilon=0.1, mode='others')(logits, torch.tensor([2]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_targets_sum_to_one_and_eps_zero_is_cross_entropy():
    loss = build(epsilon=0.1)
    for mode in ('uniform', 'others'):
        loss.mode = mode
        t = loss.smoothed_targets(torch.tensor([0, 3]), 5)
        assert torch.allclose(t.sum(1), torch.ones(2))
    logits, labels = torch.randn(6, 7), torch.randint(0, 7, (6, ))
    plain = torch.nn.functional.cross_entropy(logits, labels)
    assert build(epsilon=0.0)(logits, labels).item() == pytest.approx(
        plain.item(), rel=1e-6)


def test_weight_batch_mean_and_large_k_stability():
    logits, labels = torch.randn(4, 5), torch.tensor([0, 1, 2, 3])
    single = [build()(logits[i:i + 1], labels[i:i + 1]) for i in range(4)]
    assert build()(logits, labels).item() == pytest.approx(
        torch.stack(single).mean().item(), rel=1e-6)
    assert build(loss_weight=2.0)(logits, labels).item() == pytest.approx(
        2 * build()(logits, labels).item(), rel=1e-6)
    # 4,000 identities, huge half-precision logits: still finite.
    big = (torch.randn(8, 4000) * 1e4).half()
    out = build()(big, torch.randint(0, 4000, (8, )))
    assert torch.isfinite(out) and out.dtype == torch.float32


def test_bad_arguments():
    with pytest.raises(ValueError, match='epsilon'):
        build(epsilon=1.0)
    with pytest.raises(ValueError, match='mode'):
        build(mode='foo')
