"""Base of the schedulers whose value is the base value times a factor."""
from typing import List, Optional, Tuple

from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler


class FactorParamScheduler(_ParamScheduler):
    """A scheduler whose value is ``base_value * factor(step)``.

    Subclasses define :meth:`_factor`, a plain function of the step; this
    base derives both of mmengine's forms from it, as mmengine's own
    ``LinearParamScheduler`` does for its formula:

    - closed form: ``base_value * factor(s)``;
    - chainable form (used while training, so a scheduler listed before this
      one in the same range composes with it): the current value times
      ``factor(s) / factor(s - 1)``, or times ``factor(s)`` at the first
      step. A zero factor carries no scale, so the step after it falls back
      to the closed form.

    ``s`` is :meth:`_step`, ``last_step`` unless a subclass shifts it.
    Arguments are those of mmengine's ``_ParamScheduler``.
    """

    @staticmethod
    def _iter_range(begin: int, end: int, by_epoch: bool,
                    epoch_length: Optional[int]) -> Tuple[int, int]:
        """``(begin, end)`` of an epoch-based config in iterations, for the
        subclasses' ``build_iter_from_epoch``."""
        assert by_epoch, 'Only epoch-based kwargs whose `by_epoch=True` can ' \
                         'be converted to iter-based.'
        assert epoch_length is not None and epoch_length > 0, \
            f'`epoch_length` must be a positive integer, ' \
            f'but got {epoch_length}.'
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        return begin, end

    def _factor(self, s: int) -> float:
        """Multiplier of the base value at step ``s``."""
        raise NotImplementedError

    def _step(self) -> int:
        """The step the factor is read at; ``last_step`` by default."""
        return self.last_step

    def _get_closed_form_value(self) -> List[float]:
        """Compute the value from the base values alone."""
        factor = self._factor(self._step())
        return [base * factor for base in self.base_values]

    def _get_value(self) -> List[float]:
        """Compute value using chainable form of the scheduler."""
        s = self._step()
        groups = self.optimizer.param_groups
        if self.last_step == 0:
            return [g[self.param_name] * self._factor(s) for g in groups]
        prev = self._factor(s - 1)
        if prev == 0:
            return self._get_closed_form_value()
        ratio = self._factor(s) / prev
        return [g[self.param_name] * ratio for g in groups]
