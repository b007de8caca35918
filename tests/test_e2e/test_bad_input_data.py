"""Bad data met by a real runner: the error names the culprit, and comes
before any training.

Data cases only (an empty or undecodable image, an evaluation set whose
queries cannot match); the command-line cases are elsewhere.
"""
import os
import os.path as osp
import shutil

import pytest
from mmengine.runner import Runner

from mmreid_tricks.datasets import generate_synthetic_market1501
from mmreid_tricks.datasets.reid_base import SamplePipelineError
from .utils import TINY_CONFIG, tiny_config

SMALL = dict(
    num_train_ids=16,
    num_test_ids=6,
    images_per_id=4,
    num_distractors=2,
    num_junk=1,
    num_cameras=2,
    occlusion_prob=0.0,
    seed=1)


@pytest.fixture(scope='module')
def clean_data(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('bad_input') / 'data')
    generate_synthetic_market1501(root, **SMALL)
    return root


def config(data_root, work_dir, **options):
    assert osp.isfile(TINY_CONFIG)
    gen = {
        f'{loader}.dataset{part}.generate': SMALL
        for loader in ('val_dataloader', 'test_dataloader')
        for part in ('.datasets.0', '.datasets.1')
    }
    return tiny_config(
        data_root, work_dir, **{
            'train_dataloader.dataset.generate': SMALL,
            'model.head.num_classes': SMALL['num_train_ids'],
            'train_dataloader.batch_size': 16,
            'train_dataloader.sampler.batch_size': 16,
            **gen,
            **options
        })


def copy_of(clean_data, tmp_path):
    root = str(tmp_path / 'data')
    shutil.copytree(clean_data, root)
    return root


def spoil_train_images(root, content):
    """Every training image gets ``content``, so that the first batch meets
    a bad one, whatever the sampler draws."""
    train_dir = osp.join(root, 'bounding_box_train')
    for name in os.listdir(train_dir):
        with open(osp.join(train_dir, name), 'wb') as f:
            f.write(content)
    return train_dir


def test_training_on_an_empty_image_names_it(clean_data, tmp_path):
    root = copy_of(clean_data, tmp_path)
    train_dir = spoil_train_images(root, b'')
    # In a worker process: the error reaches the main process whole.
    cfg = config(
        root, str(tmp_path / 'work'), **{
            'train_dataloader.num_workers': 1,
            'train_dataloader.persistent_workers': False
        })
    runner = Runner.from_cfg(cfg)
    with pytest.raises(SamplePipelineError) as err:
        runner.train()
    msg = str(err.value)
    assert train_dir in msg and 'empty: 0 bytes' in msg
    assert 'SyntheticMarket1501 train image' in msg


def test_undecodable_image_is_named_by_the_train_loader(clean_data, tmp_path):
    root = copy_of(clean_data, tmp_path)
    train_dir = spoil_train_images(root, b'not a jpeg')
    cfg = config(root, str(tmp_path / 'work'))
    loader = Runner.build_dataloader(cfg.train_dataloader)
    with pytest.raises(SamplePipelineError) as err:
        next(iter(loader))
    msg = str(err.value)
    assert train_dir in msg and '(10 bytes' in msg


def gallery_of_train_images():
    """A gallery read from the training folder: no test identity in it."""
    return dict(data_prefix=dict(img_path='bounding_box_train'))


def test_val_set_that_cannot_match_fails_before_training(clean_data, tmp_path):
    work = tmp_path / 'work'
    cfg = config(clean_data, str(work))
    cfg.val_dataloader.dataset.datasets[1].update(gallery_of_train_images())
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError) as err:
        runner.train()
    msg = str(err.value)
    assert 'The val set has no query that can be matched' in msg
    assert clean_data in msg and "split='gallery'" in msg
    assert runner.iter == 0 and runner.epoch == 0
    assert not [f for f in os.listdir(work) if f.endswith('.pth')]


def test_test_set_that_cannot_match_fails_before_testing(clean_data, tmp_path):
    cfg = config(clean_data, str(tmp_path / 'work'))
    cfg.test_dataloader.dataset.datasets[1].update(gallery_of_train_images())
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match='The test set has no query'):
        runner.test()
