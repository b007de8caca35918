import pytest
from mmengine.dataset import ConcatDataset

from mmreid_tricks.datasets.query_gallery import (check_query_gallery,
                                                  leaf_datasets)
from mmreid_tricks.datasets.reid_base import BaseReIDDataset


class Listed(BaseReIDDataset):
    """A split given as (pid, camid) pairs."""

    METAINFO = dict(dataset_name='Listed')

    def __init__(self, pairs, split, data_root='root/x'):
        self.pairs = pairs
        super().__init__(data_root=data_root, split=split)

    def load_records(self):
        return [
            dict(img_path=f'{i}.jpg', pid=pid, camid=camid)
            for i, (pid, camid) in enumerate(self.pairs)
        ]


def evaluation_set(query, gallery, gallery_root='root/x'):
    return ConcatDataset([
        Listed(query, 'query'),
        Listed(gallery, 'gallery', data_root=gallery_root)
    ],
                         ignore_keys=BaseReIDDataset.SPLIT_META_KEYS)


def test_one_matchable_query_is_enough():
    # Query 1 matches in camera 1; query 2 only in its own camera.
    check_query_gallery(
        evaluation_set([(1, 0), (2, 0)], [(1, 1), (2, 0), (5, 1)]))


def test_disjoint_identities_name_split_and_roots():
    dataset = evaluation_set([(1, 0), (2, 1)], [(3, 0), (4, 1)],
                             gallery_root='other/root')
    with pytest.raises(ValueError) as err:
        check_query_gallery(dataset, 'test')
    msg = str(err.value)
    assert 'The test set has no query that can be matched' in msg
    assert 'none of its 2 query identities is in the gallery' in msg
    assert "Listed(split='query', data_root='root/x', 2 images)" in msg
    assert "split='gallery', data_root='other/root'" in msg
    assert 'test_dataloader' in msg


def test_same_camera_matches_only():
    with pytest.raises(
            ValueError, match="1 of its 1 query identities.*own "
            'camera'):
        check_query_gallery(evaluation_set([(1, 0)], [(1, 0), (2, 1)]))


def test_no_query_or_no_gallery():
    only_gallery = ConcatDataset([Listed([(1, 0)], 'gallery')])
    with pytest.raises(ValueError, match='val set holds no query image'):
        check_query_gallery(only_gallery)
    only_query = Listed([(1, 0)], 'query')
    with pytest.raises(ValueError, match='no gallery image'):
        check_query_gallery(only_query)


def test_sets_without_reid_fields_are_not_checked():

    class Plain:

        def __len__(self):
            return 1

        def full_init(self):
            pass

        def get_data_info(self, idx):
            return dict(img_path='x.jpg', gt_label=0)

    check_query_gallery(Plain())


def test_leaf_datasets_walks_wrappers():
    query, gallery = Listed([(1, 0)], 'query'), Listed([(1, 1)], 'gallery')

    class Repeat:
        dataset = ConcatDataset([query, gallery],
                                ignore_keys=BaseReIDDataset.SPLIT_META_KEYS)

    assert leaf_datasets(Repeat()) == [query, gallery]
