import os.path as osp
import random
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.config import Config

from mmreid_tricks.registry import HOOKS
from mmreid_tricks.utils.random_state import derive_seed, seed_global_random

REPO = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def draws():
    return random.random(), np.random.rand(), torch.rand(1).item()


def runner(seed=0, epoch=0, iteration=0):
    return SimpleNamespace(seed=seed, epoch=epoch, iter=iteration)


def test_each_iteration_draws_from_seed_and_iteration():
    hook = HOOKS.build(dict(type='IterationSeedHook'))
    hook.before_train_iter(runner(seed=4, iteration=7), 2)
    first = draws()
    seed_global_random(derive_seed(4, 1, 7))
    assert draws() == first
    # Whatever was drawn before (here: by the last call), the same step
    # draws the same.
    hook.before_train_iter(runner(seed=4, iteration=7), 2)
    assert draws() == first
    hook.before_train_iter(runner(seed=4, iteration=8), 3)
    assert draws() != first
    hook.before_train_iter(runner(seed=5, iteration=7), 2)
    assert draws() != first


def test_each_epoch_draws_from_seed_and_epoch():
    hook = HOOKS.build(dict(type='IterationSeedHook'))
    hook.before_train_epoch(runner(seed=4, epoch=1))
    first = draws()
    seed_global_random(derive_seed(4, 0, 1))
    assert draws() == first
    # Epoch streams are not iteration streams.
    hook.before_train_iter(runner(seed=4, iteration=1), 0)
    assert draws() != first


def test_default_runtime_registers_the_hook():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'strong_baseline.py'))
    assert dict(type='IterationSeedHook') in cfg.custom_hooks
