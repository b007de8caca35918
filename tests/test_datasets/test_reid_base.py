import numpy as np
import pytest

from mmreid_tricks.datasets import (CUHK03NP, MSMT17, DukeMTMCReID, Market1501,
                                    ReIDListDataset, SyntheticMarket1501)
from mmreid_tricks.datasets.folder_dataset import ReIDFolderDataset
from mmreid_tricks.datasets.reid_base import (BaseReIDDataset,
                                              describe_image_file)


class ThreeImages(BaseReIDDataset):
    """The smallest data set: records given in code."""

    METAINFO = dict(dataset_name='Three')

    def load_records(self):
        return [
            dict(img_path='a.jpg', pid=7, camid=0),
            dict(img_path='b.jpg', pid=3, camid=1),
            dict(img_path='c.jpg', pid=7, camid=2),
        ]


def test_hierarchy_base_first():
    for cls in (Market1501, DukeMTMCReID, CUHK03NP):
        assert issubclass(cls, ReIDFolderDataset)
    for cls in (MSMT17, ReIDListDataset):
        assert issubclass(cls, BaseReIDDataset)
        assert not issubclass(cls, ReIDFolderDataset)
    # Only the synthetic set is a kind of Market-1501.
    for cls in (DukeMTMCReID, CUHK03NP, MSMT17, ReIDListDataset):
        assert not issubclass(cls, Market1501)
    assert issubclass(SyntheticMarket1501, Market1501)
    assert not issubclass(BaseReIDDataset, Market1501)


def test_base_relabels_and_fills_metainfo():
    train = ThreeImages(data_root='', split='train')
    assert [d['gt_label'] for d in train] == [1, 0, 1]
    assert train.get_gt_labels().tolist() == [1, 0, 1]
    assert train.get_cat_ids(1) == [0]
    assert train.metainfo == dict(
        dataset_name='Three', split='train', num_pids=2)
    query = ThreeImages(data_root='', split='query')
    assert [d['gt_label'] for d in query] == [7, 3, 7]
    assert all(d['is_query'] for d in query)
    assert query.get_gt_labels().dtype == np.int64


def test_base_rejects_bad_split_and_ann_file():
    with pytest.raises(ValueError, match="split must be one of.*'test'"):
        ThreeImages(data_root='', split='test')
    with pytest.raises(TypeError, match='ThreeImages.*ann_file'):
        ThreeImages(data_root='', ann_file='x.txt')


def test_describe_image_file(tmp_path):
    assert describe_image_file(str(tmp_path / 'nope.jpg')) == 'missing'
    (tmp_path / 'empty.jpg').write_bytes(b'')
    assert describe_image_file(str(tmp_path / 'empty.jpg')) == 'empty: 0 bytes'
    (tmp_path / 'x.jpg').write_bytes(b'abc')
    assert describe_image_file(str(tmp_path / 'x.jpg')) == '3 bytes'
