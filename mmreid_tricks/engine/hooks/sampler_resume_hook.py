"""Continue the identity sampler's epoch when resuming mid-epoch."""
import logging
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmreid_tricks.registry import HOOKS


@HOOKS.register_module()
class IdentitySamplerResumeHook(Hook):
    """Continue the train sampler where it stopped when resuming mid-epoch.

    ``runner.resume`` from a checkpoint saved by iteration (``CheckpointHook``
    with ``by_epoch=False``) restores the unfinished epoch and the iterations
    done, but mmengine's ``EpochBasedTrainLoop`` restarts that epoch from its
    first batch, so the batches already trained on are seen twice. Before the
    first epoch after a resume, this hook tells the sampler how many of the
    epoch's batches were done (``skip_batches``, as
    :class:`RandomIdentitySampler` has), and the epoch continues with the
    next batch. Later epochs are not touched.

    The batches done are ``runner.iter`` minus the batches of the earlier
    epochs. The identity sampler's epoch length varies a little from epoch to
    epoch, so the earlier epochs are counted one by one (through
    ``set_epoch`` and ``len``) rather than as ``epoch * len(dataloader)``;
    this builds every earlier epoch once, about 10 ms each for a
    Market-1501-sized set, at the resume only.

    A sampler without ``skip_batches`` is left alone, with a warning when the
    resume is in the middle of an epoch.

    Before training, the hook also checks what the counting relies on: a
    sampler that yields whole batches (it has ``batch_size`` and
    ``skip_batches``, as :class:`RandomIdentitySampler`) must have the
    dataloader's batch size, otherwise the dataloader's batches straddle
    the sampler's P x K groups; a mismatch raises a ValueError naming both
    values and their config keys. The hook takes no arguments.
    """

    # After DistSamplerSeedHook (NORMAL), which sets the sampler's epoch.
    priority = 'BELOW_NORMAL'

    def __init__(self) -> None:
        # Only the first epoch of this process can be a resumed one.
        self._checked = False

    def before_train(self, runner) -> None:
        """Check that the dataloader batches what the sampler groups.

        Args:
            runner (Runner): The runner of the training process.

        Raises:
            ValueError: If the batch sizes of the train dataloader and of its
                identity sampler differ.
        """
        dataloader = runner.train_dataloader
        sampler = self._find_sampler(dataloader)
        expected = getattr(sampler, 'batch_size', None)
        if expected is None or not hasattr(sampler, 'skip_batches'):
            return
        actual, key = dataloader.batch_size, 'train_dataloader.batch_size'
        if actual is None:  # built with a batch sampler
            batch_sampler = getattr(dataloader, 'batch_sampler', None)
            actual = getattr(batch_sampler, 'batch_size', None)
            key = 'train_dataloader.batch_sampler.batch_size'
        if actual is not None and actual != expected:
            raise ValueError(
                f'{key}={actual} differs from train_dataloader.sampler.'
                f'batch_size={expected} ({type(sampler).__name__}): the '
                'sampler yields groups of batch_size images (P identities x '
                'K images) and the dataloader must batch them as they come. '
                'Set both to the same value, e.g. through one '
                'train_batch_size variable in the config.')

    def before_train_epoch(self, runner) -> None:
        """Skip the batches of the resumed epoch that were already done.

        Args:
            runner (Runner): The runner of the training process.
        """
        if self._checked:
            return
        self._checked = True
        if runner.iter == 0:  # a fresh start, nothing to skip
            return
        dataloader = runner.train_dataloader
        sampler = self._find_sampler(dataloader)
        num_batches = len(dataloader)
        done = runner.iter - self._batches_before(runner.epoch, dataloader,
                                                  sampler)
        if done == 0:  # resumed at an epoch boundary
            return
        if not 0 < done <= num_batches:
            print_log(
                f'Resumed at iteration {runner.iter} of epoch '
                f'{runner.epoch + 1}, which does not match the epoch lengths '
                f'of the train dataloader ({done} of {num_batches} batches '
                'done; were the data or the batch size changed?): the epoch '
                'restarts from its first batch',
                logger='current',
                level=logging.WARNING)
            return
        if not hasattr(sampler, 'skip_batches'):
            print_log(
                f'Resumed after {done} of the {num_batches} batches of epoch '
                f'{runner.epoch + 1}, but the train sampler '
                f'{type(sampler).__name__} has no skip_batches: the epoch '
                'restarts from its first batch and repeats them',
                logger='current',
                level=logging.WARNING)
            return
        sampler.skip_batches(done)
        print_log(
            f'Resumed mid-epoch: epoch {runner.epoch + 1} continues after its '
            f'first {done} of {num_batches} batches',
            logger='current')

    @staticmethod
    def _find_sampler(dataloader) -> Optional[object]:
        """The sampler that yields the indices, as DistSamplerSeedHook finds
        it: the dataloader's, else its batch sampler's."""
        sampler = getattr(dataloader, 'sampler', None)
        if hasattr(sampler, 'skip_batches'):
            return sampler
        batch_sampler = getattr(dataloader, 'batch_sampler', None)
        inner = getattr(batch_sampler, 'sampler', None)
        if hasattr(inner, 'skip_batches'):
            return inner
        return sampler

    @staticmethod
    def _batches_before(epoch: int, dataloader, sampler) -> int:
        """The batches of the epochs before ``epoch``, counted one by one
        when the sampler's length depends on its epoch."""
        if not hasattr(sampler, 'set_epoch'):
            return epoch * len(dataloader)
        total = 0
        for past in range(epoch):
            sampler.set_epoch(past)
            total += len(dataloader)
        # Back to the epoch DistSamplerSeedHook set.
        sampler.set_epoch(epoch)
        return total
