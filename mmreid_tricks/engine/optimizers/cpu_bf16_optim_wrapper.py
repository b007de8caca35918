"""Optimizer wrapper for bfloat16 mixed precision on the CPU."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast

from mmreid_tricks.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUBF16OptimWrapper(OptimWrapper):
    """Run the forward pass under CPU bfloat16 autocast.

    mmengine's ``AmpOptimWrapper`` refuses to be built without a GPU, NPU,
    MLU or MUSA device. This wrapper keeps ``OptimWrapper``'s update and
    enters ``autocast(device_type='cpu', dtype=torch.bfloat16)`` in
    ``optim_context``, where the runner's ``train_step`` runs the forward
    pass: matmuls and convolutions run in bfloat16, parameters, gradients
    and the optimizer state stay in float32. bfloat16 has float32's exponent
    range, so no loss scaling is needed. Operations on other devices are not
    affected.

    Example:
        >>> optim_wrapper = dict(
        ...     type='CPUBF16OptimWrapper',
        ...     optimizer=dict(type='Adam', lr=3.5e-4))

    Args:
        **kwargs: Arguments of ``OptimWrapper`` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Enter the parent's context (which blocks gradient synchronisation
        while accumulating) and CPU bfloat16 autocast.

        Args:
            model (nn.Module): The training model.
        """
        with super().optim_context(model), autocast(
                device_type='cpu', dtype=torch.bfloat16):
            yield
