import random

import numpy as np
import pytest
import torch

from mmreid_tricks.utils.random_state import (derive_seed, seed_global_random,
                                              seeded_cpu_random)


def draws():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_derive_seed_is_seed_sequence_of_the_keys():
    expected = np.random.SeedSequence([0, 1]).generate_state(1, np.uint64)
    assert derive_seed(0, 1) == int(expected[0])
    assert derive_seed(0, 1) == derive_seed(0, 1)
    # Neighbouring keys give unrelated seeds, unlike seed + epoch.
    assert derive_seed(1, 0) != derive_seed(0, 1)
    assert 0 <= derive_seed(5) < 2**64
    assert derive_seed(-1) == derive_seed(2**64 - 1)


@pytest.mark.parametrize('seed', [0, 2**32 + 7, 2**64 - 1])
def test_seed_global_random_seeds_all_three(seed):
    seed_global_random(seed)
    first = draws()
    seed_global_random(seed, cuda=False)
    assert draws() == first
    # numpy gets the two 32-bit words of the seed.
    np.random.seed([seed & 0xFFFFFFFF, seed >> 32])
    assert np.random.rand() == first[1]
    random.seed(seed)
    torch.manual_seed(seed)
    assert (random.random(), torch.rand(1).item()) == (first[0], first[2])


def test_seeded_cpu_random_restores_the_streams():
    seed_global_random(1)
    expected = draws()
    seed_global_random(1)
    with seeded_cpu_random(2):
        inside = draws()
    assert draws() == expected
    seed_global_random(2)
    assert draws() == inside
