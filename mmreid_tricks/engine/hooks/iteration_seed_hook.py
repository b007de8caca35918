"""IterationSeedHook: every training step seeded from (seed, iteration)."""
from mmengine.hooks import Hook

from mmreid_tricks.registry import HOOKS
from mmreid_tricks.utils.random_state import derive_seed, seed_global_random

# Keep the streams of epochs and of iterations apart.
EPOCH_STREAM, ITER_STREAM = 0, 1


@HOOKS.register_module()
class IterationSeedHook(Hook):
    """Seed the global generators from (seed, iteration) before every step.

    mmengine seeds python's, numpy's and torch's generators once, when the
    runner is built, and lets them run through the whole training. What
    the main process draws then depends on everything drawn before it, and
    a resumed run, seeded afresh, draws differently from the uninterrupted
    one. This hook re-seeds them (torch's accelerators too) with
    ``derive_seed(runner.seed, ...)``:

    - before every training epoch, from the epoch, which fixes what is
      drawn between iterations (the dataloader iterator's base seed);
    - before every training iteration, from the global iteration, which
      fixes the model's draws (dropout, batch erasing in the data
      preprocessor, ...).

    Each step's draws are then a function of (seed, iteration) only, the
    same after a resume from any checkpoint, and whatever runs between
    steps (validation, checkpointing) does not shift them. Data
    augmentation is seeded per sample by the identity sampler and the
    data sets (see :class:`SeededIndex`). ``runner.seed`` includes the
    rank when ``randomness.diff_rank_seed`` is on; otherwise every process
    draws the same, as mmengine's single seeding does.

    The hook takes no arguments.
    """

    # Before any other hook may draw.
    priority = 'VERY_HIGH'

    def before_train_epoch(self, runner) -> None:
        """Seed from (seed, epoch).

        Args:
            runner (Runner): The runner of the training process.
        """
        seed_global_random(
            derive_seed(runner.seed, EPOCH_STREAM, runner.epoch))

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Seed from (seed, global iteration).

        Args:
            runner (Runner): The runner of the training process.
            batch_idx (int): Index of the batch in the epoch.
            data_batch (dict, optional): The batch. Defaults to None.
        """
        seed_global_random(derive_seed(runner.seed, ITER_STREAM, runner.iter))
