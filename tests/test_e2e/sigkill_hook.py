"""A test-only hook that kills its own training process with SIGKILL.

Imported by the child processes of test_resume_exact.py through
``custom_imports``; the kill comes without warning, in the middle of a
run, as from the out-of-memory killer or a pre-empted node.
"""
import os
import signal

from mmengine.hooks import Hook

from mmreid_tricks.registry import HOOKS


@HOOKS.register_module()
class SigkillAtIterationHook(Hook):
    """SIGKILL this process before global iteration ``at_iter`` (0-based).

    Args:
        at_iter (int): The iteration that never runs.
    """

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)
