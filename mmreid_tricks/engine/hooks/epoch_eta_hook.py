"""EpochETAIterTimerHook: an ETA that follows the epochs' changing length."""
from typing import Optional, Sequence, Union

from mmengine.hooks import IterTimerHook
from mmengine.runner import EpochBasedTrainLoop

from mmreid_tricks.registry import HOOKS


@HOOKS.register_module()
class EpochETAIterTimerHook(IterTimerHook):
    """:class:`IterTimerHook` whose training ETA follows the epochs.

    mmengine's ETA counts the iterations left as ``max_iters - iter``, with
    ``max_iters = max_epochs * len(train_dataloader)`` fixed when the loop is
    built. The P x K identity sampler's epochs differ in length by a few
    batches, so once the real count passes that estimate the ETA turns
    negative (``eta: -1 day, 23:59:49``). Here the iterations left are the
    rest of the current epoch plus the remaining epochs at the current
    epoch's length, which is exact in the last epoch and never negative.
    Iteration-based loops keep mmengine's ETA.
    """

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch=None,
                    outputs: Optional[Union[dict, Sequence]] = None,
                    mode: str = 'train') -> None:
        super()._after_iter(runner, batch_idx, data_batch, outputs, mode)
        if mode != 'train' or not isinstance(runner.train_loop,
                                             EpochBasedTrainLoop):
            return
        epoch_length = len(runner.train_dataloader)
        left = (
            max(epoch_length - batch_idx - 1, 0) +
            (runner.max_epochs - runner.epoch - 1) * epoch_length)
        seconds_per_iter = self.time_sec_tot / (
            runner.iter - self.start_iter + 1)
        runner.message_hub.update_info('eta', seconds_per_iter * left)
