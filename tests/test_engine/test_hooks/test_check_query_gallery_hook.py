from types import SimpleNamespace

import pytest
from mmengine.dataset import ConcatDataset

from mmreid_tricks.datasets.reid_base import BaseReIDDataset
from mmreid_tricks.registry import HOOKS


class Listed(BaseReIDDataset):
    """A split given as (pid, camid) pairs."""

    def __init__(self, pairs, split):
        self.pairs = pairs
        super().__init__(data_root='root', split=split)

    def load_records(self):
        return [
            dict(img_path=f'{i}.jpg', pid=pid, camid=camid)
            for i, (pid, camid) in enumerate(self.pairs)
        ]


def loop(query, gallery):
    dataset = ConcatDataset(
        [Listed(query, 'query'),
         Listed(gallery, 'gallery')],
        ignore_keys=BaseReIDDataset.SPLIT_META_KEYS)
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))


def test_before_train_checks_the_val_set():
    hook = HOOKS.build(dict(type='CheckQueryGalleryHook'))
    runner = SimpleNamespace(val_loop=loop([(1, 0)], [(2, 1)]))
    with pytest.raises(ValueError, match='The val set has no query'):
        hook.before_train(runner)
    # No validation configured: nothing to check.
    hook.before_train(SimpleNamespace(val_loop=None))


def test_before_test_checks_the_test_set():
    hook = HOOKS.build(dict(type='CheckQueryGalleryHook'))
    runner = SimpleNamespace(test_loop=loop([(1, 0)], [(1, 0)]))
    with pytest.raises(ValueError, match='The test set.*own camera'):
        hook.before_test(runner)


def test_a_good_set_is_checked_once():
    hook = HOOKS.build(dict(type='CheckQueryGalleryHook'))
    runner = SimpleNamespace(val_loop=loop([(1, 0)], [(1, 1)]))
    hook.before_train(runner)
    for leaf in runner.val_loop.dataloader.dataset.datasets:
        leaf.get_data_info = None  # a second check would fail
    hook.before_val(runner)
    hook.before_val(runner)
