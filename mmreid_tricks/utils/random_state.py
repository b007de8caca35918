"""Seeding the global random generators from keys, for exact resumes.

Python's ``random``, numpy's global ``np.random`` and torch's default
generators are what the data transforms and the model draw from. Seeding
them from ``(seed, epoch, position)`` instead of letting one stream run
through the whole training makes every draw a pure function of where it
happens, so a resumed run repeats the uninterrupted one exactly.
"""
import contextlib
import random
from typing import Iterator

import numpy as np
import torch

MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF


def derive_seed(*keys: int) -> int:
    """A 64-bit seed that depends on every key, through numpy's SeedSequence.

    Neighbouring keys give unrelated seeds: ``derive_seed(1, 0)`` shares
    nothing with ``derive_seed(0, 1)``, unlike ``seed + epoch``.

    Args:
        *keys (int): Integers; a negative one is taken modulo 2**64.

    Returns:
        int: A seed in [0, 2**64).
    """
    entropy = [int(key) & MASK64 for key in keys]
    state = np.random.SeedSequence(entropy).generate_state(1, np.uint64)
    return int(state[0])


def seed_global_random(seed: int, cuda: bool = True) -> None:
    """Seed python's, numpy's and torch's global generators with ``seed``.

    Args:
        seed (int): A seed in [0, 2**64).
        cuda (bool): Also seed torch's generators of every accelerator
            (``torch.manual_seed``); otherwise only torch's CPU generator.
            Defaults to True.
    """
    random.seed(seed)
    # The legacy numpy seed takes 32-bit words.
    np.random.seed([seed & MASK32, (seed >> 32) & MASK32])
    if cuda:
        torch.manual_seed(seed)
    else:
        torch.random.default_generator.manual_seed(seed)


@contextlib.contextmanager
def seeded_cpu_random(seed: int) -> Iterator[None]:
    """Run a block with the CPU generators seeded, then restore them.

    Python's, numpy's and torch's CPU generators are seeded with ``seed``
    inside the block and get their previous states back after it, so the
    block neither depends on nor disturbs the surrounding streams.

    Args:
        seed (int): A seed in [0, 2**64).
    """
    states = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    seed_global_random(seed, cuda=False)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
