import pickle
from collections import Counter

import numpy as np
import pytest
from mmengine.runner import Runner

# Imported for its registration, whatever the package's __init__ imports.
import mmreid_tricks.datasets.samplers.identity_sampler as sampler_module
from mmreid_tricks.datasets.samplers import SeededIndex
from mmreid_tricks.registry import DATA_SAMPLERS

# Identities 0..9 with 1, 2, ..., 9 and 13 images, in a shuffled order.
COUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13]
LABELS = np.random.RandomState(0).permutation(
    np.repeat(np.arange(len(COUNTS)), COUNTS))


class LabelledDataset:
    """A data set with ``get_gt_labels``, like mmpretrain's."""

    def __init__(self, labels=LABELS):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return index

    def get_gt_labels(self):
        return self.labels


class InfoDataset:
    """A data set with only ``get_data_info``."""

    def __init__(self, labels=LABELS):
        self.labels = list(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return index

    def get_data_info(self, index):
        return dict(gt_label=self.labels[index])


def build(dataset=None, batch_size=12, num_instances=4, seed=0, **kwargs):
    return DATA_SAMPLERS.build(
        dict(
            type='RandomIdentitySampler',
            batch_size=batch_size,
            num_instances=num_instances,
            **kwargs),
        default_args=dict(dataset=dataset or LabelledDataset(), seed=seed))


def batches_of(sampler):
    indices = list(sampler)
    size = sampler.batch_size
    assert len(indices) % size == 0
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def with_world(monkeypatch, rank, world_size):
    monkeypatch.setattr(sampler_module, 'get_dist_info', lambda:
                        (rank, world_size))


@pytest.mark.parametrize('dataset_type', [LabelledDataset, InfoDataset])
@pytest.mark.parametrize('epoch', range(5))
def test_batches_hold_p_identities_k_times(dataset_type, epoch):
    sampler = build(dataset_type())
    sampler.set_epoch(epoch)
    batches = batches_of(sampler)
    assert batches
    for batch in batches:
        identities = LABELS[batch]
        # P = 3 identities, K = 4 consecutive images each.
        assert len(set(identities)) == 3
        assert all(count == 4 for count in Counter(identities).values())
        for k in range(3):
            assert len(set(identities[4 * k:4 * (k + 1)])) == 1

    counts = Counter(index for batch in batches for index in batch)
    for index, count in counts.items():
        identity_size = COUNTS[LABELS[index]]
        # Identities with K or more images are drawn without replacement.
        assert count == 1 or identity_size < 4


def test_small_identities_sampled_with_replacement():
    seen = Counter()
    for epoch in range(20):
        sampler = build()
        sampler.set_epoch(epoch)
        for batch in batches_of(sampler):
            for k in range(3):
                chunk = batch[4 * k:4 * (k + 1)]
                identity = LABELS[chunk[0]]
                if COUNTS[identity] < 4:
                    seen[identity] += 1
                    members = set(np.nonzero(LABELS == identity)[0])
                    assert set(chunk) <= members
                    assert len(set(chunk)) <= COUNTS[identity]
    # Identity 0 has a single image: its chunks repeat it four times.
    assert seen[0] > 0 and seen[1] > 0 and seen[2] > 0


def test_epoch_size_matches_chunk_counts():
    # Chunks per identity: max(n, K) // K; 10 identities give 14 chunks.
    chunks = sum(max(n, 4) // 4 for n in COUNTS)
    for epoch in range(10):
        sampler = build()
        sampler.set_epoch(epoch)
        num_batches = len(batches_of(sampler))
        # The loop stops when fewer than P identities have chunks left.
        assert chunks // 3 - 2 <= num_batches <= chunks // 3


def test_deterministic_per_seed_and_epoch():
    first, second = build(seed=3), build(seed=3)
    assert list(first) == list(second)
    assert list(first) == list(first)
    epochs = []
    for epoch in range(3):
        first.set_epoch(epoch)
        second.set_epoch(epoch)
        assert list(first) == list(second)
        epochs.append(list(first))
    assert epochs[0] != epochs[1] != epochs[2]
    assert list(build(seed=4)) != list(build(seed=3))


def test_gt_labels_and_data_info_agree():
    sampler = build(InfoDataset())
    labelled = build(LabelledDataset())
    assert list(sampler) == list(labelled)


def test_len_equals_yielded_indices():
    sampler = build()
    for epoch in [0, 1, 7, 1]:
        sampler.set_epoch(epoch)
        assert len(sampler) == len(list(sampler))
        assert len(sampler) % sampler.batch_size == 0


@pytest.mark.parametrize('world_size', [2, 3])
def test_ranks_split_the_single_process_epoch(monkeypatch, world_size):
    big_counts = np.arange(2, 40)
    labels = np.repeat(np.arange(len(big_counts)), big_counts)
    dataset = LabelledDataset(labels)
    for epoch in range(3):
        with_world(monkeypatch, 0, 1)
        single = build(dataset, seed=5)
        single.set_epoch(epoch)
        single_batches = batches_of(single)
        kept = len(single_batches) - len(single_batches) % world_size

        rank_batches = []
        for rank in range(world_size):
            with_world(monkeypatch, rank, world_size)
            sampler = build(dataset, seed=5)
            sampler.set_epoch(epoch)
            rank_batches.append(batches_of(sampler))
            assert len(sampler) == kept // world_size * sampler.batch_size

        assert len({len(b) for b in rank_batches}) == 1
        as_sets = [{tuple(b) for b in batches} for batches in rank_batches]
        for i in range(world_size):
            for j in range(i + 1, world_size):
                assert not as_sets[i] & as_sets[j]
        # Rank r takes batches r, r + W, ... of the single-process epoch.
        for rank in range(world_size):
            assert rank_batches[rank] == single_batches[rank:kept:world_size]


def test_too_few_batches_for_world_size(monkeypatch):
    with_world(monkeypatch, 0, 8)
    sampler = build()
    with pytest.raises(ValueError, match='world size 8'):
        len(sampler)


def test_seed_none_uses_a_synchronised_seed():
    sampler = build(seed=None)
    assert isinstance(sampler.seed, int)
    assert len(sampler) == len(list(sampler))


def test_runner_builds_dataloader_of_pk_batches():
    dataloader = Runner.build_dataloader(
        dict(
            dataset=LabelledDataset(),
            sampler=dict(
                type='mmreid_tricks.RandomIdentitySampler',
                batch_size=12,
                num_instances=4),
            batch_size=12,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        seed=1)
    assert len(dataloader) == len(dataloader.sampler) // 12
    batches = [batch.tolist() for batch in dataloader]
    assert len(batches) == len(dataloader)
    for batch in batches:
        assert sorted(Counter(LABELS[batch]).values()) == [4, 4, 4]


@pytest.mark.parametrize('kwargs, message', [
    (dict(batch_size=10, num_instances=4), 'batch_size=10, num_instances=4'),
    (dict(batch_size=0, num_instances=4), 'batch_size=0'),
    (dict(batch_size=12, num_instances=0), 'num_instances must be at least'),
    (dict(batch_size=44, num_instances=4), '10 identities.*P=11'),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


def test_multi_label_samples_rejected():
    dataset = InfoDataset([[0, 1]] * 8)
    with pytest.raises(ValueError, match='one identity per sample'):
        build(dataset, batch_size=4)


@pytest.mark.parametrize('world_size', [1, 2])
def test_skip_batches_yields_the_tail_of_the_epoch(monkeypatch, world_size):
    big_counts = np.arange(2, 40)
    dataset = LabelledDataset(
        np.repeat(np.arange(len(big_counts)), big_counts))
    for rank in range(world_size):
        with_world(monkeypatch, rank, world_size)
        for epoch in range(3):
            full = build(dataset, seed=5)
            full.set_epoch(epoch)
            batches = batches_of(full)
            for done in (0, 1, len(batches) // 2, len(batches)):
                resumed = build(dataset, seed=5)
                resumed.set_epoch(epoch)
                resumed.skip_batches(done)
                # The epoch keeps its length: mmengine's counts stay right.
                assert len(resumed) == len(full)
                flat = list(resumed)
                assert len(flat) == (len(batches) - done) * full.batch_size
                size = full.batch_size
                tail = [flat[i:i + size] for i in range(0, len(flat), size)]
                assert tail == batches[done:]


def test_skip_batches_is_consumed_by_one_iteration():
    sampler = build()
    sampler.set_epoch(2)
    epoch = list(sampler)
    sampler.skip_batches(1)
    assert list(sampler) == epoch[sampler.batch_size:]
    assert list(sampler) == epoch
    sampler.set_epoch(3)
    next_epoch = build()
    next_epoch.set_epoch(3)
    assert list(sampler) == list(next_epoch)


@pytest.mark.parametrize('bad', [-1, 1.0, '1', True, None])
def test_skip_batches_rejects_bad_values(bad):
    sampler = build()
    num_batches = len(sampler) // sampler.batch_size
    with pytest.raises(ValueError, match=f'0 to {num_batches}.*got {bad!r}'):
        sampler.skip_batches(bad)


def test_skip_batches_rejects_more_than_the_epoch(monkeypatch):
    with_world(monkeypatch, 1, 2)
    sampler = build(seed=1)
    sampler.set_epoch(4)
    num_batches = len(sampler) // sampler.batch_size
    sampler.skip_batches(num_batches)  # the whole epoch: allowed
    with pytest.raises(ValueError) as err:
        sampler.skip_batches(num_batches + 1)
    assert f'0 to {num_batches}' in str(err.value)
    assert 'epoch 4' in str(err.value) and f'got {num_batches + 1}' in str(
        err.value)


def seeded(sampler):
    """(index, sample seed) pairs of the sampler's next iteration."""
    return [(int(i), i.seed) for i in sampler]


def test_neighbouring_seeds_share_no_epoch():
    # With seed + epoch, seed 1's epoch 0 was seed 0's epoch 1.
    for seed in (0, 1, 2):
        shifted, this = build(seed=seed), build(seed=seed + 1)
        shifted.set_epoch(1)
        assert list(shifted) != list(this)
        assert not {s
                    for _, s in seeded(shifted)
                    } & {s
                         for _, s in seeded(this)}


def test_sample_seeds_are_deterministic_and_per_position():
    first, second = build(seed=3), build(seed=3)
    for epoch in (0, 1):
        first.set_epoch(epoch)
        second.set_epoch(epoch)
        pairs = seeded(first)
        assert pairs == seeded(second) == seeded(first)
        seeds = [s for _, s in pairs]
        assert len(set(seeds)) == len(seeds)
        assert all(0 <= s < 2**63 for s in seeds)


def test_sample_seeds_follow_the_positions_across_ranks(monkeypatch):
    big_counts = np.arange(2, 40)
    dataset = LabelledDataset(
        np.repeat(np.arange(len(big_counts)), big_counts))
    with_world(monkeypatch, 0, 1)
    single = build(dataset, seed=5)
    single.set_epoch(1)
    flat = seeded(single)
    size = single.batch_size
    batches = [flat[i:i + size] for i in range(0, len(flat), size)]
    kept = len(batches) - len(batches) % 2
    for rank in range(2):
        with_world(monkeypatch, rank, 2)
        sampler = build(dataset, seed=5)
        sampler.set_epoch(1)
        mine = seeded(sampler)
        # A sample's seed is that of its place in the one-process epoch.
        assert mine == [p for b in batches[rank:kept:2] for p in b]
        sampler.skip_batches(1)
        assert seeded(sampler) == mine[size:]


def test_seeded_indices_survive_pickling():
    index = next(iter(build(seed=2)))
    copy = pickle.loads(pickle.dumps(index))
    assert isinstance(copy, SeededIndex)
    assert (int(copy), copy.seed) == (int(index), index.seed)
    assert copy == int(index) and hash(copy) == hash(int(index))


@pytest.mark.parametrize('seed', [-1, 1.5, '0'])
def test_bad_seed_is_named(seed):
    with pytest.raises(
            ValueError, match=f'non-negative integer, got {seed!r}'):
        build(seed=seed)
