import os

import pytest

from mmreid_tricks.datasets.reid_base import SamplePipelineError
from mmreid_tricks.registry import DATASETS

NAME = '0002_c1s1_000451_01.jpg'


def build_train(root):
    return DATASETS.build(
        dict(
            type='Market1501',
            data_root=str(root),
            split='train',
            pipeline=[dict(type='LoadImageFromFile')]))


def test_corrupt_image_error_names_the_file(tmp_path):
    train = tmp_path / 'bounding_box_train'
    os.makedirs(train)
    bad = train / NAME
    bad.write_bytes(b'not a jpeg at all')
    dataset = build_train(tmp_path)
    with pytest.raises(Exception) as err:
        dataset[0]
    assert str(bad) in str(err.value)


def test_empty_image_error_names_the_file(tmp_path):
    """OpenCV's own error, ``!buf.empty()``, names no file."""
    train = tmp_path / 'bounding_box_train'
    os.makedirs(train)
    bad = train / NAME
    bad.write_bytes(b'')
    dataset = build_train(tmp_path)
    with pytest.raises(SamplePipelineError) as err:
        dataset[0]
    msg = str(err.value)
    assert str(bad) in msg
    assert 'empty: 0 bytes' in msg and 'Market-1501 train image' in msg
    # The original error is kept as the cause.
    assert err.value.__cause__ is not None


def test_image_deleted_after_listing_is_named(tmp_path):
    train = tmp_path / 'bounding_box_train'
    os.makedirs(train)
    (train / NAME).write_bytes(b'x')
    dataset = DATASETS.build(
        dict(
            type='Market1501',
            data_root=str(tmp_path),
            split='train',
            pipeline=[lambda results: 1 / 0]))
    (train / NAME).unlink()
    with pytest.raises(
            SamplePipelineError, match=f'{NAME}.*missing.*ZeroDivision'):
        dataset[0]
