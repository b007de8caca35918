import os.path as osp
import random

import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset
from PIL import Image

from mmreid_tricks.datasets.market1501 import Market1501
from mmreid_tricks.datasets.samplers import SeededIndex
from mmreid_tricks.registry import DATASETS
from mmreid_tricks.utils.random_state import seeded_cpu_random

# Hand-chosen names: pid, camera (1-based), junk -1 and distractors 0000.
TREE = {
    'bounding_box_train': [
        '0002_c1s1_000451_01.jpg', '0002_c2s1_000551_01.jpg',
        '0007_c3s1_000101_02.jpg', '0010_c6s2_000001_01.jpg',
        '-1_c1s1_000001_01.jpg', '0000_c2s1_000002_01.jpg'
    ],
    'query': [
        '0003_c1s1_000010_00.jpg', '0003_c4s1_000020_00.jpg',
        '0005_c2s1_000030_00.jpg', '-1_c1s1_000040_00.jpg',
        '0000_c3s1_000050_00.jpg'
    ],
    'bounding_box_test': [
        '0003_c2s1_000011_01.jpg', '0003_c5s1_000012_01.jpg',
        '0005_c1s1_000013_01.jpg', '0000_c1s1_000014_01.jpg',
        '0000_c6s1_000015_01.jpg', '-1_c3s1_000016_01.jpg'
    ],
}


def write_tree(root, tree=TREE):
    for folder, names in tree.items():
        path = root / folder
        path.mkdir(parents=True, exist_ok=True)
        for name in names:
            Image.new('RGB', (4, 8), (10, 20, 30)).save(path / name)
    return root


@pytest.fixture
def root(tmp_path):
    root = write_tree(tmp_path / 'Market-1501')
    # Files that are not images are ignored.
    (root / 'bounding_box_train' / 'Thumbs.db').write_bytes(b'x')
    (root / 'query' / 'readme.txt').write_text('x')
    return str(root)


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='Market1501', data_root=root, split=split, **kwargs))


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_train_split_relabels_and_drops_junk_and_distractors(root):
    ds = build(root, 'train')
    assert isinstance(ds, Market1501)
    got = [(osp.basename(d['img_path']), d['pid'], d['gt_label'], d['camid'],
            d['is_query']) for d in infos(ds)]
    # Sorted by name; pids 2, 7, 10 become labels 0, 1, 2.
    assert got == [
        ('0002_c1s1_000451_01.jpg', 2, 0, 0, False),
        ('0002_c2s1_000551_01.jpg', 2, 0, 1, False),
        ('0007_c3s1_000101_02.jpg', 7, 1, 2, False),
        ('0010_c6s2_000001_01.jpg', 10, 2, 5, False),
    ]
    assert osp.isfile(infos(ds)[0]['img_path'])
    assert ds.metainfo == dict(
        dataset_name='Market-1501', split='train', num_pids=3)
    assert isinstance(infos(ds)[0]['gt_label'], int)


def test_query_keeps_original_ids(root):
    ds = build(root, 'query')
    got = [(d['pid'], d['gt_label'], d['camid'], d['is_query'])
           for d in infos(ds)]
    assert got == [(3, 3, 0, True), (3, 3, 3, True), (5, 5, 1, True)]
    assert ds.metainfo['num_pids'] == 2


def test_gallery_keeps_distractors_only(root):
    ds = build(root, 'gallery')
    pids = [d['pid'] for d in infos(ds)]
    assert sorted(pids) == [0, 0, 3, 3, 5]
    assert -1 not in pids
    assert not any(d['is_query'] for d in infos(ds))
    assert ds.metainfo['num_pids'] == 3  # 3, 5 and the distractors


def test_relabel_override(root):
    query = build(root, 'query', relabel=True)
    assert [d['gt_label'] for d in infos(query)] == [0, 0, 1]
    train = build(root, 'train', relabel=False)
    assert list(train.get_gt_labels()) == [2, 2, 7, 10]


def test_gt_labels_and_cat_ids(root):
    ds = build(root, 'train')
    labels = ds.get_gt_labels()
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [0, 0, 1, 2])
    assert ds.get_cat_ids(3) == [2]


def test_concat_query_gallery(root):
    query, gallery = build(root, 'query'), build(root, 'gallery')
    both = ConcatDataset([query, gallery],
                         ignore_keys=Market1501.SPLIT_META_KEYS)
    assert len(both) == 3 + 5
    assert [both[i]['is_query']
            for i in range(len(both))] == [True] * 3 + [False] * 5
    # The split-specific keys are what needs ignoring.
    with pytest.raises(ValueError, match='meta information'):
        ConcatDataset([query, gallery])


def test_concat_from_config(root):
    cfg = dict(
        type='ConcatDataset',
        datasets=[
            dict(type='Market1501', data_root=root, split='query'),
            dict(type='Market1501', data_root=root, split='gallery'),
        ],
        ignore_keys=['split', 'num_pids'])
    both = DATASETS.build(cfg)
    assert len(both) == 8
    assert both.metainfo['dataset_name'] == 'Market-1501'


def test_pipeline_loads_images(root):
    ds = build(root, 'train', pipeline=[dict(type='LoadImageFromFile')])
    assert ds[0]['img'].shape == (8, 4, 3)
    assert ds[0]['pid'] == 2


def test_lazy_init_and_data_prefix(root):
    ds = build(root, 'gallery', lazy_init=True)
    assert ds.metainfo['split'] == 'gallery'
    assert len(ds) == 5
    # Reading the query folder with gallery rules.
    ds = build(root, 'gallery', data_prefix=dict(img_path='query'))
    assert sorted(d['pid'] for d in infos(ds)) == [0, 3, 3, 5]


def test_missing_root_names_layout(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        build(missing, 'train')
    msg = str(err.value)
    for part in (missing, 'bounding_box_train/', 'query/',
                 'bounding_box_test/', 'Market-1501',
                 'configs/strong_baseline_synthetic.py'):
        assert part in msg


def test_missing_split_folder(tmp_path):
    write_tree(tmp_path, {'bounding_box_train': ['0001_c1s1_000001_01.jpg']})
    with pytest.raises(FileNotFoundError, match='bounding_box_test'):
        build(str(tmp_path), 'gallery')


@pytest.mark.parametrize('name', [
    'person_0001.jpg', 'x0001_c1s1_000001_01.jpg', '-2_c1s1_000001_01.png',
    '0001_s1_000001_01.jpg'
])
def test_bad_name_is_named(tmp_path, name):
    write_tree(tmp_path, {'query': ['0001_c1s1_000001_01.jpg', name]})
    with pytest.raises(ValueError) as err:
        build(str(tmp_path), 'query')
    assert name in str(err.value)
    assert 'PPPP_cCsS_FFFFFF_NN.jpg' in str(err.value)


def test_camera_zero_is_rejected(tmp_path):
    write_tree(tmp_path, {'query': ['0001_c0s1_000001_01.jpg']})
    with pytest.raises(ValueError, match='0001_c0s1_000001_01.jpg'):
        build(str(tmp_path), 'query')


def test_empty_split(tmp_path):
    (tmp_path / 'query').mkdir()
    (tmp_path / 'query' / 'notes.txt').write_text('x')
    with pytest.raises(ValueError, match='no .jpg or .png'):
        build(str(tmp_path), 'query')
    write_tree(tmp_path, {'bounding_box_train': ['-1_c1s1_000001_01.jpg']})
    with pytest.raises(ValueError, match='junk'):
        build(str(tmp_path), 'train')


def test_bad_split(root):
    with pytest.raises(ValueError, match='split'):
        build(root, 'test')


def draw(results):
    """A pipeline step that records one draw of each global generator."""
    results['draws'] = (random.random(), np.random.rand(),
                        torch.rand(1).item())
    return results


def test_seeded_index_seeds_the_pipeline(root):
    dataset = build(root, 'train', pipeline=[draw])
    first = dataset[SeededIndex(1, 12345)]
    assert first['sample_idx'] == 1 and type(first['sample_idx']) is int
    # The same seed draws the same, whatever was drawn before.
    random.random(), np.random.rand(), torch.rand(1)
    assert dataset[SeededIndex(1, 12345)]['draws'] == first['draws']
    assert dataset[SeededIndex(0, 12345)]['draws'] == first['draws']
    assert dataset[SeededIndex(1, 12346)]['draws'] != first['draws']
    with seeded_cpu_random(12345):
        assert draw({})['draws'] == first['draws']


def test_seeded_index_leaves_the_global_streams_alone(root):
    dataset = build(root, 'train', pipeline=[draw])
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    expected = draw({})['draws']
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    dataset[SeededIndex(2, 99)]
    assert draw({})['draws'] == expected
    # A plain index draws from the global streams.
    random.seed(3), np.random.seed(3), torch.manual_seed(3)
    assert dataset[2]['draws'] == expected
