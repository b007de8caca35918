"""Stop training with a clear error when the loss becomes NaN or inf."""
import glob
import os.path as osp
from typing import Optional

import torch
from mmengine.hooks import Hook

from mmreid_tricks.registry import HOOKS


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Stop training with a clear error when the loss becomes NaN or inf.

    The error names the epoch, the iteration and every loss term, so the
    broken term can be found; the checkpoints saved so far are kept, and
    training continues from the last one with ``--resume``. When the work
    dir holds no checkpoint yet, the error says so instead.

    Args:
        interval (int): Check every ``interval`` iterations. Defaults to 1.
    """

    priority = 'VERY_LOW'

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        losses = {k: v.detach() for k, v in outputs.items() if 'loss' in k}
        if not losses:
            return
        # One device sync per check; the values are read only on failure.
        values = torch.stack([v.float().reshape(()) for v in losses.values()])
        if values.isfinite().all():
            return
        terms = ', '.join(f'{k}={float(v):.4g}' for k, v in losses.items())
        if glob.glob(osp.join(runner.work_dir, '*.pth')):
            restart = (f'resume from the last checkpoint in '
                       f'{runner.work_dir} with --resume')
        else:
            restart = (f'no checkpoint has been saved in {runner.work_dir} '
                       'yet, so train again from the start')
        raise FloatingPointError(
            f'non-finite loss at epoch {runner.epoch + 1}, iteration '
            f'{runner.iter + 1}: {terms}. Lower the learning rate or check '
            f'the data; {restart}')
