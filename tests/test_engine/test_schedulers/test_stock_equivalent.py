"""The released BoT schedule equals two stock mmengine schedulers.

``WarmupMultiStepLR(milestones=[40, 70], warmup_factor=0.01,
warmup_length=10, step_offset=1)`` (the released code's timing) gives, per
0-indexed epoch ``k``, ``0.109 + 0.099 k`` for ``k < 9`` and decays from
``k = 39`` and ``k = 69``: exactly ``LinearLR(start_factor=0.109, end=10)``
followed by ``MultiStepLR(milestones=[39, 69])``.
"""
import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_SCHEDULERS

from mmreid_tricks.registry import PARAM_SCHEDULERS

BASE = 3.5e-4
RELEASED = dict(
    type='WarmupMultiStepLR',
    milestones=[40, 70],
    gamma=0.1,
    warmup_factor=0.01,
    warmup_length=10,
    warmup_method='linear',
    step_offset=1,
    by_epoch=True)
STOCK = [
    dict(type='LinearLR', start_factor=0.109, begin=0, end=10, by_epoch=True),
    dict(type='MultiStepLR', milestones=[39, 69], gamma=0.1, by_epoch=True),
]


def _wrapper():
    param = torch.nn.Parameter(torch.zeros(1))
    return OptimWrapper(torch.optim.Adam([param], lr=BASE, weight_decay=5e-4))


def _epoch_lrs(wrapper, schedulers, epochs=120):
    """The lr each epoch trains with; schedulers step at its end."""
    lrs = []
    for _ in range(epochs):
        lrs.append(wrapper.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_released_schedule_equals_stock_linear_plus_multistep():
    ours_wrapper, stock_wrapper = _wrapper(), _wrapper()
    ours = [PARAM_SCHEDULERS.build(dict(RELEASED, optimizer=ours_wrapper))]
    stock = [
        MMENGINE_SCHEDULERS.build(dict(cfg, optimizer=stock_wrapper))
        for cfg in STOCK
    ]
    ours_lrs = _epoch_lrs(ours_wrapper, ours)
    stock_lrs = _epoch_lrs(stock_wrapper, stock)
    # Equal up to the rounding of the chained products (measured 4.6e-16).
    assert ours_lrs == pytest.approx(stock_lrs, rel=1e-15, abs=0)
    # Landmarks of the released code, 0-indexed epochs.
    assert ours_lrs[0] == pytest.approx(BASE * 0.109, rel=1e-15)
    assert ours_lrs[8] == pytest.approx(BASE * 0.901, rel=1e-15)
    assert ours_lrs[9] == pytest.approx(BASE, rel=1e-15)
    assert ours_lrs[38] == pytest.approx(BASE, rel=1e-15)
    assert ours_lrs[39] == pytest.approx(BASE * 0.1, rel=1e-15)
    assert ours_lrs[69] == pytest.approx(BASE * 0.01, rel=1e-15)
    assert ours_lrs[119] == pytest.approx(BASE * 0.01, rel=1e-15)


def test_stock_with_paper_text_milestones_is_one_epoch_late():
    """``MultiStepLR(milestones=[40, 70])`` is not the released timing."""
    ours_wrapper, stock_wrapper = _wrapper(), _wrapper()
    ours = [PARAM_SCHEDULERS.build(dict(RELEASED, optimizer=ours_wrapper))]
    stock = [
        MMENGINE_SCHEDULERS.build(dict(STOCK[0], optimizer=stock_wrapper)),
        MMENGINE_SCHEDULERS.build(
            dict(STOCK[1], milestones=[40, 70], optimizer=stock_wrapper)),
    ]
    ours_lrs = _epoch_lrs(ours_wrapper, ours)
    stock_lrs = _epoch_lrs(stock_wrapper, stock)
    assert stock_lrs[39] == pytest.approx(10 * ours_lrs[39], rel=1e-12)
