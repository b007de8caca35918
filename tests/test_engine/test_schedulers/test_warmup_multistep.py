"""WarmupMultiStepLR against hand formulas, stepped as mmengine steps."""
import pytest
import torch

from mmreid_tricks.engine.schedulers.warmup_multistep import WarmupMultiStepLR
from mmreid_tricks.registry import PARAM_SCHEDULERS

BASE = 3.5e-4


def _optimizer(*lrs, adam=False):
    groups = [
        dict(params=[torch.nn.Parameter(torch.zeros(1))], lr=lr)
        for lr in lrs or (BASE, )
    ]
    if adam:
        return torch.optim.Adam(groups, weight_decay=5e-4)
    return torch.optim.SGD(groups, momentum=0.9)


def _run(optimizer, scheduler, steps, check_closed_form=False):
    """Return the lr used at each step; the scheduler steps after it."""
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]['lr'])
        if check_closed_form:
            current = [g['lr'] for g in optimizer.param_groups]
            expected = scheduler._get_closed_form_value()
            assert current == pytest.approx(expected, rel=1e-12, abs=1e-18)
        optimizer.step()
        scheduler.step()
    return lrs


def _decays(t, milestones=(40, 70)):
    return 0.1**sum(m <= t for m in milestones)


def seed_document(t):
    """The source document's formula, t the 1-indexed epoch."""
    if t <= 10:
        return 3.5e-5 * t / 10
    return 3.5e-4 * _decays(t - 1)


def paper_text(t):
    """Linear from 3.5e-5 at t = 1 to 3.5e-4 at t = 10, then decays."""
    if t <= 10:
        return 3.5e-4 * t / 10
    return 3.5e-4 * _decays(t - 1)


def released_code(t):
    """The released WarmupMultiStepLR stepped at the start of each epoch."""
    e = t  # its last_epoch while the t-th epoch trains
    warmup = 0.01 * (1 - e / 10) + e / 10 if e < 10 else 1.0
    return 3.5e-4 * warmup * _decays(e)


READINGS = dict(
    seed_document=(dict(
        milestones=[40, 70],
        warmup_factor=0.01,
        warmup_end_factor=0.11,
        warmup_length=10,
        step_offset=0), seed_document),
    paper_text=(dict(
        milestones=[40, 70], warmup_factor=0.1, warmup_length=9,
        step_offset=0), paper_text),
    released_code=(dict(
        milestones=[40, 70],
        warmup_factor=0.01,
        warmup_length=10,
        step_offset=1), released_code),
)


@pytest.mark.parametrize('reading', sorted(READINGS))
def test_three_readings_every_epoch(reading):
    kwargs, formula = READINGS[reading]
    optimizer = _optimizer(adam=True)
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='WarmupMultiStepLR', optimizer=optimizer, **kwargs))
    lrs = _run(optimizer, scheduler, 120, check_closed_form=True)
    for t in range(1, 121):
        assert lrs[t - 1] == pytest.approx(formula(t), rel=1e-12), t


def test_released_code_landmarks():
    optimizer = _optimizer()
    scheduler = WarmupMultiStepLR(optimizer, **READINGS['released_code'][0])
    lrs = [lr / BASE for lr in _run(optimizer, scheduler, 120)]
    assert lrs[0] == pytest.approx(0.109)
    assert lrs[8] == pytest.approx(0.901)
    assert lrs[9] == pytest.approx(1.0)
    # Decays take effect in the 40th and 70th epochs (1-indexed).
    assert lrs[38] == pytest.approx(1.0) and lrs[39] == pytest.approx(0.1)
    assert lrs[68] == pytest.approx(0.1) and lrs[69] == pytest.approx(0.01)


def test_paper_text_endpoints():
    optimizer = _optimizer()
    scheduler = WarmupMultiStepLR(optimizer, **READINGS['paper_text'][0])
    lrs = _run(optimizer, scheduler, 41)
    assert lrs[0] == pytest.approx(3.5e-5)
    assert lrs[9] == pytest.approx(3.5e-4)
    assert lrs[39] == pytest.approx(3.5e-4)
    assert lrs[40] == pytest.approx(3.5e-5)


@pytest.mark.parametrize('kwargs', [
    dict(milestones=[3, 5, 5], gamma=0.5, warmup_length=4),
    dict(milestones=[6], warmup_method='constant', warmup_factor=0.2),
    dict(milestones=[2, 9], warmup_factor=0.0, warmup_length=5),
    dict(
        milestones=[8],
        warmup_factor=0.0,
        warmup_end_factor=0.3,
        warmup_length=6,
        step_offset=3),
    dict(milestones=[4, 6], step_offset=1, warmup_length=3, begin=3, end=14),
    dict(milestones=[], warmup_length=0),
])
def test_closed_form_matches_chain(kwargs):
    optimizer = _optimizer(0.1, 0.03)
    scheduler = WarmupMultiStepLR(optimizer, **kwargs)
    begin, end = kwargs.get('begin', 0), kwargs.get('end', 16)
    for step in range(16):
        current = [g['lr'] for g in optimizer.param_groups]
        if step < begin:
            assert current == [0.1, 0.03]  # not yet scheduled
        elif step < end:
            assert current == pytest.approx(
                scheduler._get_closed_form_value(), rel=1e-12, abs=1e-18)
        optimizer.step()
        scheduler.step()


def test_repeated_milestone_counts_twice():
    optimizer = _optimizer(1.0)
    scheduler = WarmupMultiStepLR(
        optimizer, milestones=[5, 2, 5], warmup_length=0)
    lrs = _run(optimizer, scheduler, 7)
    assert lrs == pytest.approx([1, 1, 0.1, 0.1, 0.1, 1e-3, 1e-3])


def test_constant_warmup_without_milestones():
    # ResNet's warmup: 0.1 of the base for the first epochs, then the base.
    optimizer = _optimizer(0.1)
    scheduler = PARAM_SCHEDULERS.build(
        dict(
            type='WarmupMultiStepLR',
            optimizer=optimizer,
            milestones=(),
            warmup_method='constant',
            warmup_factor=0.1,
            warmup_length=4))
    lrs = _run(optimizer, scheduler, 8, check_closed_form=True)
    assert lrs == pytest.approx([0.01] * 4 + [0.1] * 4)


def test_constant_warmup_by_iteration():
    optimizer = _optimizer(0.1)
    scheduler = WarmupMultiStepLR(
        optimizer,
        milestones=(),
        warmup_method='constant',
        warmup_factor=0.1,
        warmup_length=400,
        by_epoch=False)
    assert not scheduler.by_epoch
    lrs = _run(optimizer, scheduler, 410)
    assert lrs == pytest.approx([0.01] * 400 + [0.1] * 10)


def _fractional(x, milestones, gamma, factor, end_factor, length, method):
    """The epoch formula at a fractional epoch ``x``."""
    value = gamma**sum(m <= x for m in milestones)
    if x < length:
        if method == 'linear':
            value *= factor + (end_factor - factor) * x / length
        else:
            value *= factor
    return value


@pytest.mark.parametrize('method', ['linear', 'constant'])
@pytest.mark.parametrize('step_offset', [0, 1])
def test_convert_to_iter_based(method, step_offset):
    epoch_length, epochs = 5, 10
    cfg = dict(
        milestones=[4, 7],
        gamma=0.1,
        warmup_factor=0.01,
        warmup_length=3,
        warmup_method=method,
        step_offset=step_offset)
    optimizer = _optimizer(1.0)
    scheduler = WarmupMultiStepLR.build_iter_from_epoch(
        optimizer, epoch_length=epoch_length, **cfg)
    assert not scheduler.by_epoch
    assert scheduler.milestones == [20, 35]
    assert scheduler.warmup_length == 15
    assert scheduler.step_offset == step_offset * epoch_length
    lrs = _run(optimizer, scheduler, epochs * epoch_length, True)
    for i, lr in enumerate(lrs):
        x = i / epoch_length + step_offset
        expected = _fractional(x, [4, 7], 0.1, 0.01, 1.0, 3, method)
        assert lr == pytest.approx(expected, rel=1e-12), i

    # The registry takes the same path for ``convert_to_iter_based=True``,
    # and agrees with the by-epoch schedule at every epoch boundary.
    iter_opt, epoch_opt = _optimizer(1.0), _optimizer(1.0)
    by_iter = PARAM_SCHEDULERS.build(
        dict(type='WarmupMultiStepLR', convert_to_iter_based=True, **cfg),
        default_args=dict(optimizer=iter_opt, epoch_length=epoch_length))
    by_epoch = PARAM_SCHEDULERS.build(
        dict(type='WarmupMultiStepLR', **cfg),
        default_args=dict(optimizer=epoch_opt))
    iter_lrs = _run(iter_opt, by_iter, epochs * epoch_length)
    epoch_lrs = _run(epoch_opt, by_epoch, epochs)
    assert iter_lrs == pytest.approx(lrs, rel=1e-12)
    assert iter_lrs[::epoch_length] == pytest.approx(epoch_lrs, rel=1e-12)


def test_convert_scales_begin_and_end():
    optimizer = _optimizer(1.0)
    scheduler = WarmupMultiStepLR.build_iter_from_epoch(
        optimizer, milestones=[1], begin=2, end=4, epoch_length=3)
    assert (scheduler.begin, scheduler.end) == (6, 12)
    with pytest.raises(AssertionError):
        WarmupMultiStepLR.build_iter_from_epoch(
            _optimizer(), milestones=[1], by_epoch=False, epoch_length=3)


@pytest.mark.parametrize('kwargs', [
    dict(warmup_method='exp'),
    dict(warmup_factor=-0.1),
    dict(step_offset=-1),
    dict(warmup_length=-1),
])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        WarmupMultiStepLR(_optimizer(), milestones=[40, 70], **kwargs)


def test_registered_without_collision():
    assert PARAM_SCHEDULERS.get('WarmupMultiStepLR') is WarmupMultiStepLR
    assert 'WarmupMultiStepLR' in PARAM_SCHEDULERS.module_dict
    parent = PARAM_SCHEDULERS.parent
    while parent is not None:
        assert 'WarmupMultiStepLR' not in parent.module_dict
        assert 'WarmupMultiStepParamScheduler' not in parent.module_dict
        parent = parent.parent
