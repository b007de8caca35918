"""Gradual warmup (Goyal et al. 2017) to a multiple of the base value."""
from typing import Optional

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, OptimizerType

from mmreid_tricks.registry import PARAM_SCHEDULERS
from .factor_scheduler import FactorParamScheduler


class GradualWarmupParamScheduler(FactorParamScheduler):
    """Raises a parameter linearly to ``base_value * multiplier``.

    With ``s = last_step`` (steps since ``begin``) and ``T = total_epoch``,
    the value is ``base_value * factor(s)`` where ``factor(s)`` is ``s / T``
    for ``multiplier == 1`` (warm from 0, so the first step has value 0) and
    ``1 + (multiplier - 1) * s / T`` for ``multiplier > 1``, while
    ``s < T``; from ``s = T`` on it holds ``multiplier``.

    Hand-over. mmengine chains schedulers through their ranges, e.g.::

        param_scheduler = [
            dict(type='GradualWarmupLR', multiplier=2, end=5),
            dict(type='CosineAnnealingLR', begin=5, end=120,
                 eta_min_ratio=0.01),
        ]

    Two things keep the value continuous for ``multiplier != 1``:

    1. ``total_epoch`` defaults to ``end - begin - 1``, so the last step of
       the range reaches the target, and mmengine's chainable schedulers
       start from the current value (their first step leaves it as it is):
       the next one continues from ``base * multiplier``.
    2. Some schedulers also read ``base_values`` (CosineAnnealingLR's
       ``eta_min_ratio`` and restarts, CosineRestartLR), which every
       scheduler copies from the group's ``initial_<param_name>`` when it is
       built, all of them before training starts. So once built, this
       scheduler writes ``base * multiplier`` into ``initial_<param_name>``:
       schedulers listed after it take the target as their base, as the
       original GradualWarmupScheduler sets its ``after_scheduler``'s
       ``base_lrs``; those listed before it keep the base. List it before
       the schedulers that follow it. The optimizer's state dict carries the
       new ``initial_<param_name>``, so a resumed run sees the same bases;
       on resuming without a state dict (``last_step >= 0``) the groups are
       taken to hold the target already.

    Args:
        optimizer (BaseOptimWrapper or Optimizer): Wrapped optimizer.
        param_name (str): Name of the parameter to be adjusted, such as
            ``lr``.
        multiplier (float): Target value = base value x multiplier; at
            least 1. Defaults to 1.0.
        total_epoch (int, optional): Step (since ``begin``) at which the
            target is reached, in epochs if ``by_epoch`` else iterations;
            at most ``end - begin - 1``. Defaults to ``end - begin - 1``.
        begin (int): Step at which to start updating the parameter.
            Defaults to 0.
        end (int): Step at which to stop updating the parameter.
            Defaults to INF.
        last_step (int): The index of last step. Used for resuming without
            state dict. Defaults to -1.
        by_epoch (bool): Whether the parameter is updated by epochs.
            Defaults to True.
        verbose (bool): Whether to print the value at each update.
            Defaults to False.
    """

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 multiplier: float = 1.0,
                 total_epoch: Optional[int] = None,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if multiplier < 1:
            raise ValueError(
                f'multiplier should be at least 1, but got {multiplier}')
        if total_epoch is None:
            if end == INF:
                raise ValueError('Set total_epoch or a finite end.')
            total_epoch = end - begin - 1
        if total_epoch < 0 or (end != INF and total_epoch > end - begin - 1):
            raise ValueError(
                f'total_epoch should be in [0, end - begin - 1] so that the '
                f'target is reached within the range, but got {total_epoch} '
                f'with begin={begin}, end={end}')
        self.multiplier = multiplier
        self.total_epoch = total_epoch

        key = f'initial_{param_name}'
        if last_step != -1:
            # The groups hold the target handed over below; recover the base.
            for group in optimizer.param_groups:
                if key in group:
                    group[key] = group[key] / multiplier
        super().__init__(
            optimizer,
            param_name=param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)
        # Hand the target over to the schedulers built after this one.
        for group, base in zip(optimizer.param_groups, self.base_values):
            group[key] = base * multiplier

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              total_epoch: Optional[int] = None,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: Optional[int] = None,
                              **kwargs) -> 'GradualWarmupParamScheduler':
        """Build an iter-based instance from an epoch-based config.

        A given ``total_epoch`` is scaled by ``epoch_length``; without it
        the target is reached at the last iteration of the range.
        """
        begin, end = cls._iter_range(begin, end, by_epoch, epoch_length)
        if total_epoch is not None:
            total_epoch = total_epoch * epoch_length
        return cls(
            *args,
            total_epoch=total_epoch,
            begin=begin,
            end=end,
            by_epoch=False,
            **kwargs)

    def _factor(self, s: int) -> float:
        """Multiplier of the base value at step ``s``."""
        if s >= self.total_epoch:
            return self.multiplier
        alpha = s / self.total_epoch
        if self.multiplier == 1:
            return alpha
        return 1 + (self.multiplier - 1) * alpha


@PARAM_SCHEDULERS.register_module()
class GradualWarmupLR(LRSchedulerMixin, GradualWarmupParamScheduler):
    """Raises the learning rate linearly to ``base_lr * multiplier``.

    See :class:`GradualWarmupParamScheduler` for the formula and how it hands
    over to the schedulers listed after it, e.g.::

        param_scheduler = [
            dict(type='GradualWarmupLR', multiplier=2, end=5),
            dict(type='MultiStepLR', begin=5, milestones=[35, 65]),
        ]

    Args:
        optimizer (BaseOptimWrapper or Optimizer): Wrapped optimizer.
        multiplier (float): Target lr = base lr x multiplier; 1 warms up
            from 0. Defaults to 1.0.
        total_epoch (int, optional): Step (since ``begin``) at which the
            target is reached. Defaults to ``end - begin - 1``.
        begin (int): Step at which to start. Defaults to 0.
        end (int): Step at which to stop. Defaults to INF.
        last_step (int): The index of last step. Defaults to -1.
        by_epoch (bool): Whether updated by epochs. Defaults to True.
        verbose (bool): Whether to print the value at each update.
            Defaults to False.
    """
