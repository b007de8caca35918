import os

import pytest

from mmreid_tricks.registry import DATASETS


def test_corrupt_image_error_names_the_file(tmp_path):
    train = tmp_path / 'bounding_box_train'
    os.makedirs(train)
    bad = train / '0002_c1s1_000451_01.jpg'
    bad.write_bytes(b'not a jpeg at all')
    dataset = DATASETS.build(
        dict(
            type='Market1501',
            data_root=str(tmp_path),
            split='train',
            pipeline=[dict(type='LoadImageFromFile')]))
    with pytest.raises(Exception) as err:
        dataset[0]
    assert str(bad) in str(err.value)
