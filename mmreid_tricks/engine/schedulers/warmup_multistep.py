"""Warmup followed by multi-step decay, the schedule of BoT (Luo et al.)."""
from bisect import bisect_right
from typing import List, Optional, Sequence

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, OptimizerType

from mmreid_tricks.registry import PARAM_SCHEDULERS
from .factor_scheduler import FactorParamScheduler

_WARMUP_METHODS = ('linear', 'constant')


class WarmupMultiStepParamScheduler(FactorParamScheduler):
    """Warms a parameter up, then decays it by ``gamma`` at each milestone.

    With ``s = last_step + step_offset`` (``last_step`` counts the steps since
    ``begin``), the value is ``base_value * factor(s)`` where

    - ``factor(s) = warmup(s) * gamma ** (number of milestones <= s)``;
    - ``warmup(s) = warmup_factor + (warmup_end_factor - warmup_factor)
      * s / warmup_length`` (``'linear'``) or ``warmup_factor``
      (``'constant'``) while ``s < warmup_length``, and 1 afterwards.

    The linear ramp reaches ``warmup_end_factor`` at ``s = warmup_length``,
    where warmup stops; the default 1.0 makes it continuous there.

    ``step_offset``: the released BoT trainer calls ``scheduler.step()`` at
    the START of every epoch, so epoch ``k`` (0-indexed) trains with
    ``s = k + 1``. mmengine steps by-epoch schedulers at the END of each
    epoch, from 0, so epoch ``k`` trains with ``last_step = k``.
    ``step_offset=1`` reproduces the released code exactly (the first epoch
    trains with factor 0.109, the decays take effect in the 40th and 70th
    epochs, 1-indexed); ``step_offset=0`` follows the timing of the paper's
    text (decays after the 40th and 70th epochs).

    With ``by_epoch=False`` every length is in iterations. A config with
    ``convert_to_iter_based=True`` is built by :meth:`build_iter_from_epoch`,
    which scales ``milestones``, ``warmup_length`` and ``step_offset`` by the
    epoch length: iteration ``i`` then takes the epoch formula at the
    fractional epoch ``i / epoch_length + step_offset``.

    The three readings of BoT's schedule (base lr 3.5e-4, 120 epochs,
    ``t`` the 1-indexed epoch), each reproduced exactly, by epoch:

    - The source document's formula, ``3.5e-5 * t / 10`` for ``t <= 10``,
      then 3.5e-4, 3.5e-5, 3.5e-6 after epochs 10, 40, 70 (a tenfold jump
      after epoch 10): ``milestones=[40, 70], warmup_factor=0.01,
      warmup_end_factor=0.11, warmup_length=10, step_offset=0``.
    - The paper's text, rising linearly from 3.5e-5 (``t = 1``) to 3.5e-4
      (``t = 10``), i.e. ``3.5e-4 * t / 10``, then the same decays:
      ``milestones=[40, 70], warmup_factor=0.1, warmup_length=9,
      step_offset=0``.
    - The released code: ``milestones=[40, 70], warmup_factor=0.01,
      warmup_length=10, step_offset=1``, i.e. ``factor(t) = 0.01 * (1 - t/10)
      + t/10`` for ``t < 10`` and decays from the 40th and 70th epochs.

    A constant warmup (ResNet paper: a small fixed value for the first steps,
    then the base value) is ``milestones=(), warmup_method='constant'``.

    Args:
        optimizer (BaseOptimWrapper or Optimizer): Wrapped optimizer.
        param_name (str): Name of the parameter to be adjusted, such as
            ``lr``.
        milestones (Sequence[int]): Values of ``s`` at which the value is
            multiplied by ``gamma``; may be empty.
        gamma (float): Multiplicative decay at each milestone.
            Defaults to 0.1.
        warmup_factor (float): Warmup factor at ``s = 0``. Defaults to 0.01.
        warmup_end_factor (float): Factor the linear ramp reaches at
            ``s = warmup_length``. Defaults to 1.0.
        warmup_length (int): Length of warmup, in epochs if ``by_epoch``
            else iterations; 0 disables warmup. Defaults to 10.
        warmup_method (str): ``'linear'`` or ``'constant'``.
            Defaults to ``'linear'``.
        step_offset (int): Added to ``last_step`` to give ``s``.
            Defaults to 0.
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
                 milestones: Sequence[int],
                 gamma: float = 0.1,
                 warmup_factor: float = 0.01,
                 warmup_end_factor: float = 1.0,
                 warmup_length: int = 10,
                 warmup_method: str = 'linear',
                 step_offset: int = 0,
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if warmup_method not in _WARMUP_METHODS:
            raise ValueError(f'warmup_method should be one of '
                             f'{_WARMUP_METHODS}, but got {warmup_method!r}')
        if warmup_factor < 0 or warmup_end_factor < 0:
            raise ValueError('warmup factors should be non-negative, but got '
                             f'{warmup_factor} and {warmup_end_factor}')
        if warmup_length < 0 or step_offset < 0:
            raise ValueError('warmup_length and step_offset should be '
                             f'non-negative, but got {warmup_length} and '
                             f'{step_offset}')
        # Sorted, so bisect counts the milestones passed (repeats included).
        self.milestones: List[int] = sorted(milestones)
        self.gamma = gamma
        self.warmup_factor = warmup_factor
        self.warmup_end_factor = warmup_end_factor
        self.warmup_length = warmup_length
        self.warmup_method = warmup_method
        self.step_offset = step_offset
        super().__init__(
            optimizer,
            param_name=param_name,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    @classmethod
    def build_iter_from_epoch(cls,
                              *args,
                              milestones: Sequence[int],
                              warmup_length: int = 10,
                              step_offset: int = 0,
                              begin: int = 0,
                              end: int = INF,
                              by_epoch: bool = True,
                              epoch_length: Optional[int] = None,
                              **kwargs) -> 'WarmupMultiStepParamScheduler':
        """Build an iter-based instance from an epoch-based config."""
        begin, end = cls._iter_range(begin, end, by_epoch, epoch_length)
        milestones = [m * epoch_length for m in milestones]
        warmup_length = warmup_length * epoch_length
        step_offset = step_offset * epoch_length
        return cls(
            *args,
            milestones=milestones,
            warmup_length=warmup_length,
            step_offset=step_offset,
            begin=begin,
            end=end,
            by_epoch=False,
            **kwargs)

    def _factor(self, s: int) -> float:
        """Multiplier of the base value at step ``s``."""
        factor = self.gamma**bisect_right(self.milestones, s)
        if s < self.warmup_length:
            if self.warmup_method == 'linear':
                alpha = s / self.warmup_length
                factor *= self.warmup_factor + (self.warmup_end_factor -
                                                self.warmup_factor) * alpha
            else:
                factor *= self.warmup_factor
        return factor

    def _step(self) -> int:
        """``s = last_step + step_offset``."""
        return self.last_step + self.step_offset


@PARAM_SCHEDULERS.register_module()
class WarmupMultiStepLR(LRSchedulerMixin, WarmupMultiStepParamScheduler):
    """Warms the learning rate up, then decays it at each milestone.

    The schedule of BoT; see :class:`WarmupMultiStepParamScheduler` for the
    formula and the configs of its three readings. The released one is::

        dict(type='WarmupMultiStepLR', milestones=[40, 70], gamma=0.1,
             warmup_factor=0.01, warmup_length=10, warmup_method='linear',
             step_offset=1, by_epoch=True)

    Args:
        optimizer (BaseOptimWrapper or Optimizer): Wrapped optimizer.
        milestones (Sequence[int]): Steps (after ``step_offset``) at which
            the learning rate is multiplied by ``gamma``; may be empty.
        gamma (float): Multiplicative decay. Defaults to 0.1.
        warmup_factor (float): Warmup factor at the first step.
            Defaults to 0.01.
        warmup_end_factor (float): Factor the linear ramp reaches at
            ``warmup_length``. Defaults to 1.0.
        warmup_length (int): Warmup length, in epochs if ``by_epoch`` else
            iterations. Defaults to 10.
        warmup_method (str): ``'linear'`` or ``'constant'``.
            Defaults to ``'linear'``.
        step_offset (int): Added to the step count; 1 reproduces the
            released code, which steps at the start of each epoch.
            Defaults to 0.
        begin (int): Step at which to start. Defaults to 0.
        end (int): Step at which to stop. Defaults to INF.
        last_step (int): The index of last step. Defaults to -1.
        by_epoch (bool): Whether updated by epochs. Defaults to True.
        verbose (bool): Whether to print the value at each update.
            Defaults to False.
    """
