import os.path as osp

import pytest
from mmengine.dataset import ConcatDataset

from mmreid_tricks.datasets.dukemtmc_reid import DukeMTMCReID
from mmreid_tricks.datasets.folder_dataset import ReIDFolderDataset
from mmreid_tricks.registry import DATASETS

# Names as released: pid, camera 1..8, frame; no junk or distractor labels.
TREE = {
    'bounding_box_train': [
        '0001_c2_f0046182.jpg', '0001_c5_f0051341.jpg', '0008_c3_f0026318.jpg',
        '7140_c8_f0175988.jpg'
    ],
    'query': ['0005_c2_f0046985.jpg', '7139_c2_f0160575.jpg'],
    'bounding_box_test':
    ['0005_c1_f0044158.jpg', '3761_c6_f0183709.jpg', '7139_c7_f0160815.jpg'],
}


def write_tree(root, tree=TREE):
    for folder, names in tree.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / folder / name).write_bytes(b'')
    return str(root)


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='DukeMTMCReID', data_root=root, split=split, **kwargs))


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


@pytest.fixture
def root(tmp_path):
    return write_tree(tmp_path / 'DukeMTMC-reID')


def test_train_relabels(root):
    ds = build(root, 'train')
    assert isinstance(ds, DukeMTMCReID) and isinstance(ds, ReIDFolderDataset)
    got = [(osp.basename(d['img_path']), d['pid'], d['gt_label'], d['camid'],
            d['is_query']) for d in infos(ds)]
    assert got == [
        ('0001_c2_f0046182.jpg', 1, 0, 1, False),
        ('0001_c5_f0051341.jpg', 1, 0, 4, False),
        ('0008_c3_f0026318.jpg', 8, 1, 2, False),
        ('7140_c8_f0175988.jpg', 7140, 2, 7, False),
    ]
    assert ds.metainfo == dict(
        dataset_name='DukeMTMC-reID', split='train', num_pids=3)
    assert list(ds.get_gt_labels()) == [0, 0, 1, 2]


def test_query_and_gallery(root):
    query, gallery = build(root, 'query'), build(root, 'gallery')
    assert [(d['pid'], d['gt_label'], d['camid'], d['is_query'])
            for d in infos(query)] == [(5, 5, 1, True), (7139, 7139, 1, True)]
    # Gallery-only identities (3761) are ordinary identities.
    assert [d['pid'] for d in infos(gallery)] == [5, 3761, 7139]
    assert not any(d['is_query'] for d in infos(gallery))
    assert gallery.metainfo['num_pids'] == 3
    both = ConcatDataset([query, gallery],
                         ignore_keys=DukeMTMCReID.SPLIT_META_KEYS)
    assert len(both) == 5
    assert both.metainfo['dataset_name'] == 'DukeMTMC-reID'


def test_market_rules_apply_to_junk_and_distractor_labels(tmp_path):
    # Not in the release, but a relabelled copy is read as Market-1501.
    names = [
        '-1_c1_f0000001.jpg', '0000_c1_f0000002.jpg', '0002_c1_f0000003.jpg'
    ]
    root = write_tree(tmp_path, {
        'bounding_box_train': names,
        'bounding_box_test': names
    })
    assert [d['pid'] for d in infos(build(root, 'train'))] == [2]
    assert [d['pid'] for d in infos(build(root, 'gallery'))] == [0, 2]


@pytest.mark.parametrize(
    'name',
    [
        '0002_c1s1_000451_01.jpg',  # a Market-1501 name
        '0001_c9_f0000001.jpg',  # camera out of 1..8
        '0001_c0_f0000001.jpg',
        'person.jpg'
    ])
def test_bad_names(tmp_path, name):
    root = write_tree(tmp_path, {'query': ['0001_c1_f0000001.jpg', name]})
    with pytest.raises(ValueError) as err:
        build(root, 'query')
    assert name in str(err.value)
    assert 'PPPP_cC_fFFFFFFF.jpg' in str(err.value)


def test_missing_layout(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError) as err:
        build(missing, 'train')
    for part in (missing, 'DukeMTMC-reID', 'bounding_box_train/', 'query/',
                 'bounding_box_test/'):
        assert part in str(err.value)
    root = write_tree(tmp_path, {'query': ['0001_c1_f0000001.jpg']})
    with pytest.raises(
            FileNotFoundError, match='gallery folder.*'
            'bounding_box_test'):
        build(root, 'gallery')


def test_empty_folder(tmp_path):
    (tmp_path / 'query').mkdir()
    with pytest.raises(
            ValueError, match='DukeMTMC-reID query folder.*no '
            r'\.jpg or \.png'):
        build(str(tmp_path), 'query')
