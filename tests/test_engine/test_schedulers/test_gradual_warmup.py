"""GradualWarmupLR and its hand-over to the schedulers listed after it."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmreid_tricks.engine.schedulers.gradual_warmup import GradualWarmupLR
from mmreid_tricks.registry import PARAM_SCHEDULERS

BASE = 0.1


def _optimizer(*lrs):
    groups = [
        dict(params=[torch.nn.Parameter(torch.zeros(1))], lr=lr)
        for lr in lrs or (BASE, )
    ]
    return OptimWrapper(torch.optim.SGD(groups, momentum=0.9))


def _build(optimizer, *cfgs, epoch_length=None):
    default_args = dict(optimizer=optimizer)
    if epoch_length is not None:
        default_args['epoch_length'] = epoch_length
    return [
        PARAM_SCHEDULERS.build(cfg, default_args=default_args) for cfg in cfgs
    ]


def _run(optimizer, schedulers, steps):
    """Return the lr used at each step; the schedulers step after it."""
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def warmup(s, multiplier, total):
    """The seed's GradualWarmupScheduler factor at step ``s``."""
    if s >= total:
        return multiplier
    if multiplier == 1:
        return s / total
    return 1 + (multiplier - 1) * s / total


def cosine(k, start, eta_min, t_max):
    half = (1 + math.cos(math.pi * k / t_max)) / 2
    return eta_min + (start - eta_min) * half


@pytest.mark.parametrize('by_epoch', [True, False])
@pytest.mark.parametrize('multiplier', [1, 2])
def test_warmup_alone(multiplier, by_epoch):
    optimizer = _optimizer()
    scheduler, = _build(
        optimizer,
        dict(
            type='GradualWarmupLR',
            multiplier=multiplier,
            end=6,
            by_epoch=by_epoch))
    assert scheduler.total_epoch == 5 and scheduler.by_epoch == by_epoch
    lrs = _run(optimizer, [scheduler], 9)
    # The target is reached at the last step of the range and then kept.
    expected = [BASE * warmup(min(s, 5), multiplier, 5) for s in range(9)]
    assert lrs == pytest.approx(expected, rel=1e-12)
    if multiplier == 1:
        assert lrs[0] == 0


def test_explicit_total_holds_target():
    optimizer = _optimizer()
    scheduler = GradualWarmupLR(optimizer, multiplier=3, total_epoch=4, end=9)
    lrs = _run(optimizer, [scheduler], 9)
    expected = [BASE * warmup(s, 3, 4) for s in range(9)]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert lrs[4:] == pytest.approx([0.3] * 5)


@pytest.mark.parametrize('by_epoch', [True, False])
@pytest.mark.parametrize('eta', [dict(eta_min=1e-3), dict(eta_min_ratio=0.01)])
@pytest.mark.parametrize('multiplier', [1, 2])
def test_hand_over_to_cosine(multiplier, eta, by_epoch):
    optimizer = _optimizer()
    schedulers = _build(
        optimizer,
        dict(
            type='GradualWarmupLR',
            multiplier=multiplier,
            end=5,
            by_epoch=by_epoch),
        dict(
            type='CosineAnnealingLR',
            begin=5,
            end=15,
            by_epoch=by_epoch,
            **eta))
    # The cosine anneals from the target, which it takes as its base.
    target = BASE * multiplier
    assert schedulers[0].base_values == [BASE]
    assert schedulers[1].base_values == [pytest.approx(target)]
    eta_min = eta.get('eta_min', target * eta.get('eta_min_ratio', 0))
    lrs = _run(optimizer, schedulers, 17)
    for step, lr in enumerate(lrs):
        if step < 5:
            expected = BASE * warmup(step, multiplier, 4)
        else:
            expected = cosine(min(step - 5, 9), target, eta_min, 10)
        assert lr == pytest.approx(expected, rel=1e-12, abs=1e-15), step
    assert lrs[4] == lrs[5] == pytest.approx(target)  # no jump


@pytest.mark.parametrize('by_epoch', [True, False])
@pytest.mark.parametrize('multiplier', [1, 2])
def test_hand_over_to_multistep(multiplier, by_epoch):
    optimizer = _optimizer()
    schedulers = _build(
        optimizer,
        dict(
            type='GradualWarmupLR',
            multiplier=multiplier,
            end=5,
            by_epoch=by_epoch),
        # MultiStepLR counts its milestones from its own begin.
        dict(
            type='MultiStepLR', begin=5, milestones=[3, 6], by_epoch=by_epoch))
    lrs = _run(optimizer, schedulers, 14)
    for step, lr in enumerate(lrs):
        if step < 5:
            expected = BASE * warmup(step, multiplier, 4)
        else:
            passed = sum(m <= step - 5 for m in (3, 6))
            expected = BASE * multiplier * 0.1**passed
        assert lr == pytest.approx(expected, rel=1e-12), step


@pytest.mark.parametrize('multiplier', [1, 2])
def test_iteration_warmup_in_epoch_loop(multiplier):
    """Converted to iterations, as ``convert_to_iter_based=True`` does, and
    stepped like ParamSchedulerHook: per iteration, then per epoch."""
    epoch_length, epochs = 4, 7
    optimizer = _optimizer()
    schedulers = _build(
        optimizer,
        dict(
            type='GradualWarmupLR',
            multiplier=multiplier,
            end=2,
            convert_to_iter_based=True),
        dict(
            type='CosineAnnealingLR',
            begin=2,
            end=6,
            eta_min_ratio=0.01,
            convert_to_iter_based=True),
        # By epoch, decaying once the cosine's range is over.
        dict(type='MultiStepLR', begin=0, milestones=[6]),
        epoch_length=epoch_length)
    assert (schedulers[0].end, schedulers[0].total_epoch) == (8, 7)
    assert (schedulers[1].begin, schedulers[1].T_max) == (8, 16)
    iter_based = [s for s in schedulers if not s.by_epoch]
    epoch_based = [s for s in schedulers if s.by_epoch]
    target = BASE * multiplier
    for epoch in range(epochs):
        for it in range(epoch_length):
            i = epoch * epoch_length + it
            if i < 8:
                expected = BASE * warmup(i, multiplier, 7)
            else:
                expected = cosine(min(i - 8, 15), target, 0.01 * target, 16)
            if epoch >= 6:
                expected *= 0.1
            lr = optimizer.param_groups[0]['lr']
            assert lr == pytest.approx(expected, rel=1e-12), i
            optimizer.step()
            for scheduler in iter_based:
                scheduler.step()
        for scheduler in epoch_based:
            scheduler.step()


def test_convert_scales_total_epoch():
    scheduler = GradualWarmupLR.build_iter_from_epoch(
        _optimizer(), multiplier=2, total_epoch=2, end=3, epoch_length=5)
    assert not scheduler.by_epoch
    assert (scheduler.total_epoch, scheduler.end) == (10, 15)


@pytest.mark.parametrize('multiplier', [1, 2, 3.5])
def test_closed_form_matches_chain(multiplier):
    optimizer = _optimizer(0.1, 0.02)
    scheduler = GradualWarmupLR(optimizer, multiplier=multiplier, end=7)
    for _ in range(7):
        current = [g['lr'] for g in optimizer.param_groups]
        assert current == pytest.approx(
            scheduler._get_closed_form_value(), rel=1e-12, abs=1e-18)
        optimizer.step()
        scheduler.step()


def test_resume_from_state_dicts():
    cfgs = (dict(type='GradualWarmupLR', multiplier=2, end=5),
            dict(
                type='CosineAnnealingLR', begin=5, end=15, eta_min_ratio=0.01))
    optimizer = _optimizer()
    reference = _run(optimizer, _build(optimizer, *cfgs), 14)

    optimizer = _optimizer()
    schedulers = _build(optimizer, *cfgs)
    first = _run(optimizer, schedulers, 7)
    saved = (optimizer.state_dict(), [s.state_dict() for s in schedulers])
    # A runner builds everything afresh, then loads the states.
    optimizer = _optimizer()
    schedulers = _build(optimizer, *cfgs)
    optimizer.load_state_dict(saved[0])
    for scheduler, state in zip(schedulers, saved[1]):
        scheduler.load_state_dict(state)
    rest = _run(optimizer, schedulers, 7)
    assert first + rest == pytest.approx(reference, rel=1e-12)


def test_resume_with_last_step_recovers_base():
    optimizer = _optimizer()
    GradualWarmupLR(optimizer, multiplier=2, end=5)
    assert optimizer.param_groups[0]['initial_lr'] == pytest.approx(0.2)
    resumed = GradualWarmupLR(optimizer, multiplier=2, end=5, last_step=2)
    assert resumed.base_values == [pytest.approx(BASE)]
    assert optimizer.param_groups[0]['initial_lr'] == pytest.approx(0.2)


@pytest.mark.parametrize('kwargs', [
    dict(multiplier=0.5, end=5),
    dict(multiplier=2, total_epoch=5, end=5),
    dict(multiplier=2),
    dict(multiplier=2, total_epoch=-1, end=5),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        GradualWarmupLR(_optimizer(), **kwargs)


def test_registered_without_collision():
    assert PARAM_SCHEDULERS.get('GradualWarmupLR') is GradualWarmupLR
    parent = PARAM_SCHEDULERS.parent
    while parent is not None:
        assert 'GradualWarmupLR' not in parent.module_dict
        parent = parent.parent
