"""The P x K identity sampler of the ReID bag of tricks."""
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sized, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmreid_tricks.registry import DATA_SAMPLERS
from .seeded_index import SeededIndex


@DATA_SAMPLERS.register_module()
class RandomIdentitySampler(Sampler):
    """Yield batches of P identities with K images each (P x K sampling).

    The triplet loss needs positives and negatives in every batch. Each epoch
    is built as in the released code of the bag of tricks (Luo et al., 2019):

    1. for every identity, take its images, or K drawn with replacement if it
       has fewer than K; shuffle them and cut them into chunks of K, dropping
       the incomplete last chunk;
    2. while at least P identities have chunks left, choose P of them
       uniformly at random without replacement and take the next chunk of
       each: that is one batch.

    An epoch therefore holds about ``sum(n_i // K) / P`` batches, fewer than
    the data set size, and every batch holds exactly P distinct identities,
    K images each, in that order.

    Determinism and distributed training: the epoch is drawn from numpy's
    ``SeedSequence([seed, epoch])`` (``set_epoch`` is called by mmengine's
    ``DistSamplerSeedHook``), so it depends only on the pair and
    neighbouring seeds share no epoch (``seed + epoch`` would give seed 1
    the epochs of seed 0, shifted by one). Every process builds the same
    batches; the number of batches is cut to a multiple of the world size
    and process ``r`` takes batches ``r, r + W, r + 2W, ...``, so each
    process sees whole P x K batches and all processes run the same number
    of iterations.

    Length: how many batches step 2 produces depends on the random choices,
    so ``len()`` builds the current epoch (and caches it for ``__iter__``)
    and is exact. It may change by a few batches between epochs; mmengine
    computes iteration counts (``max_iters``, iteration-based schedules)
    from the length at build time, i.e. epoch 0.

    Random augmentation: every index is yielded as a :class:`SeededIndex`
    whose ``seed`` is drawn, with the epoch and from a stream of its own,
    for its position in the epoch (before the split across processes). Our
    data sets seed the transforms of that sample with it, so the
    augmentation does not depend on the dataloader workers, on the samples
    loaded before, nor on a resume; a sample drawn twice in one epoch is
    augmented independently each time. Other data sets see plain indices.

    Resuming mid-epoch: :meth:`skip_batches` makes the next iteration start
    after the batches of the current epoch that were already trained on, so
    the resumed epoch yields exactly the rest of the interrupted one
    (``IdentitySamplerResumeHook`` calls it after ``runner.resume``).

    Note:
        ``batch_size`` must equal the dataloader's ``batch_size``, otherwise
        the dataloader's batches straddle the P x K groups. Use
        ``batch_size=P * K`` in both places; ``IdentitySamplerResumeHook``
        refuses a mismatch before training.

    Args:
        dataset (Sized): The data set. The identity of each sample is read
            from ``dataset.get_gt_labels()`` if it has one, otherwise from
            ``dataset.get_data_info(i)['gt_label']``.
        batch_size (int): Images per batch in each process, ``P * K``.
        num_instances (int): Images per identity in a batch, K.
            Defaults to 4.
        seed (int, optional): Random seed, a non-negative integer, the same
            in every process. If None, a seed is drawn and synchronised
            across processes. Defaults to None.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 4,
                 seed: Optional[int] = None) -> None:
        if num_instances < 1:
            raise ValueError(
                f'num_instances must be at least 1, got {num_instances}')
        if batch_size < 1 or batch_size % num_instances != 0:
            raise ValueError(
                'batch_size must be a positive multiple of num_instances, '
                f'got batch_size={batch_size}, num_instances={num_instances}')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.num_identities_per_batch = batch_size // num_instances
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        if isinstance(
                self.seed,
                bool) or not isinstance(self.seed,
                                        (int, np.integer)) or self.seed < 0:
            raise ValueError(
                f'seed must be a non-negative integer, got {self.seed!r}')
        self.seed = int(self.seed)
        self.epoch = 0

        self.index_by_identity = self._group_by_identity(dataset)
        num_ids = len(self.index_by_identity)
        if num_ids < self.num_identities_per_batch:
            raise ValueError(
                f'The data set has {num_ids} identities, fewer than the '
                f'P={self.num_identities_per_batch} identities per batch '
                f'(batch_size={batch_size} / num_instances={num_instances})')
        # (epoch, indices and sample seeds of this process) of the last
        # epoch built.
        self._cache: Optional[tuple] = None
        # Batches the next __iter__ leaves out; set by skip_batches.
        self._num_skipped_batches = 0

    @staticmethod
    def _group_by_identity(dataset: Sized) -> Dict[int, List[int]]:
        """Map every identity to the indices of its samples, in order."""
        if hasattr(dataset, 'get_gt_labels'):
            labels = list(dataset.get_gt_labels())
        else:
            labels = [
                dataset.get_data_info(i)['gt_label']
                for i in range(len(dataset))
            ]
        index_by_identity = defaultdict(list)
        for index, label in enumerate(labels):
            label = np.asarray(label).reshape(-1)
            if label.size != 1:
                raise ValueError(
                    f'Sample {index} has gt_label {label.tolist()}; the '
                    'identity sampler needs one identity per sample')
            index_by_identity[int(label[0])].append(index)
        # Sorted, so the epoch does not depend on the data set's order.
        return dict(sorted(index_by_identity.items()))

    def _global_batches(self,
                        epoch: int) -> Tuple[List[List[int]], np.ndarray]:
        """Build the batches of ``epoch``, the same in every process.

        Returns:
            tuple: The batches, and the sample seeds, an array of shape
            (number of batches, batch_size), one per position.
        """
        batch_seq, sample_seq = np.random.SeedSequence([self.seed,
                                                        epoch]).spawn(2)
        rng = np.random.default_rng(batch_seq)
        k = self.num_instances
        chunks_by_identity = {}
        for identity, indices in self.index_by_identity.items():
            indices = np.asarray(indices)
            if len(indices) < k:
                indices = rng.choice(indices, size=k, replace=True)
            indices = rng.permutation(indices)
            num_chunks = len(indices) // k
            chunks_by_identity[identity] = [
                indices[i * k:(i + 1) * k].tolist() for i in range(num_chunks)
            ]

        available = list(chunks_by_identity)
        batches = []
        while len(available) >= self.num_identities_per_batch:
            chosen = rng.choice(
                len(available), self.num_identities_per_batch, replace=False)
            batch = []
            for position in chosen:
                batch.extend(chunks_by_identity[available[position]].pop(0))
            batches.append(batch)
            # Drop exhausted identities; keep the rest in a stable order.
            available = [i for i in available if chunks_by_identity[i]]
        sample_seeds = np.random.default_rng(sample_seq).integers(
            0, 2**63, size=(len(batches), self.batch_size), dtype=np.int64)
        return batches, sample_seeds

    def _indices(self) -> Tuple[List[int], List[int]]:
        """The indices this process yields in the current epoch and their
        sample seeds, cached."""
        if self._cache is None or self._cache[0] != self.epoch:
            batches, sample_seeds = self._global_batches(self.epoch)
            num_batches = len(batches) - len(batches) % self.world_size
            if num_batches == 0:
                raise ValueError(
                    f'Epoch {self.epoch} has {len(batches)} batches of '
                    f'{self.batch_size}, fewer than the world size '
                    f'{self.world_size}: the data set has too few images '
                    'per identity for this batch size')
            mine = slice(self.rank, num_batches, self.world_size)
            indices = [index for batch in batches[mine] for index in batch]
            seeds = sample_seeds[mine].reshape(-1).tolist()
            self._cache = (self.epoch, indices, seeds)
        return self._cache[1], self._cache[2]

    def __iter__(self) -> Iterator[SeededIndex]:
        """Iterate the indices of this process, batch after batch."""
        indices, seeds = self._indices()
        start = self._num_skipped_batches * self.batch_size
        # A skip is for the one epoch being resumed, not the following ones.
        self._num_skipped_batches = 0
        return map(SeededIndex, indices[start:], seeds[start:])

    def __len__(self) -> int:
        """The number of indices this process yields in the current epoch."""
        return len(self._indices()[0])

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch, which with the seed draws the next iteration.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch

    def skip_batches(self, num_batches: int) -> None:
        """Make the next iteration leave out this process's first batches.

        Used to resume in the middle of an epoch: the next ``__iter__``
        yields the current epoch without its first ``num_batches`` batches
        of this process, i.e. exactly what the interrupted epoch had left.
        The epoch itself (its batches, their order, ``len()``) is unchanged,
        and the skip applies to that one iteration only. Call it after
        :meth:`set_epoch`.

        Args:
            num_batches (int): Batches of this process already done in the
                current epoch, from 0 to the number of batches of this
                process in the epoch (all of them: the epoch is empty).
        """
        num_epoch_batches = len(self) // self.batch_size
        if (isinstance(num_batches, bool)
                or not isinstance(num_batches, (int, np.integer))
                or not 0 <= num_batches <= num_epoch_batches):
            raise ValueError(
                f'num_batches must be an integer from 0 to {num_epoch_batches}'
                f', the batches of this process in epoch {self.epoch}; got '
                f'{num_batches!r}')
        self._num_skipped_batches = int(num_batches)
