import os.path as osp

import pytest

from mmreid_tricks.datasets.cuhk03_np import CUHK03NP
from mmreid_tricks.registry import DATASETS

# Names as released: pid, camera 1..2 of the pair, image number.
SPLITS = {
    'bounding_box_train': ['0001_c1_1.png', '0001_c2_6.png', '0002_c1_1.png'],
    'query': ['0003_c1_22.png', '0003_c2_27.png'],
    'bounding_box_test': ['0003_c1_21.png', '0003_c2_28.png', '0004_c1_1.png'],
}


def write_tree(root, subsets=('detected', 'labeled'), splits=SPLITS):
    for subset in subsets:
        for folder, names in splits.items():
            path = root / subset / folder
            path.mkdir(parents=True, exist_ok=True)
            for name in names:
                (path / name).write_bytes(b'')
    # Only the labeled train split has this extra image.
    if 'labeled' in subsets and 'bounding_box_train' in splits:
        (root / 'labeled' / 'bounding_box_train' /
         '0002_c2_3.png').write_bytes(b'')
    return str(root)


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='CUHK03NP', data_root=root, split=split, **kwargs))


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


@pytest.fixture
def root(tmp_path):
    return write_tree(tmp_path / 'cuhk03-np')


def test_detected_is_default(root):
    ds = build(root, 'train')
    assert isinstance(ds, CUHK03NP) and ds.subset == 'detected'
    got = [(osp.relpath(d['img_path'], root), d['pid'], d['gt_label'],
            d['camid'], d['is_query']) for d in infos(ds)]
    assert got == [
        (osp.join('detected', 'bounding_box_train',
                  '0001_c1_1.png'), 1, 0, 0, False),
        (osp.join('detected', 'bounding_box_train',
                  '0001_c2_6.png'), 1, 0, 1, False),
        (osp.join('detected', 'bounding_box_train',
                  '0002_c1_1.png'), 2, 1, 0, False),
    ]
    assert ds.metainfo == dict(
        dataset_name='CUHK03-NP', split='train', num_pids=2)


def test_labeled_subset(root):
    ds = build(root, 'train', subset='labeled')
    assert len(ds) == 4
    assert all(f'{osp.sep}labeled{osp.sep}' in d['img_path']
               for d in infos(ds))


def test_query_gallery(root):
    query = build(root, 'query', subset='labeled')
    assert [(d['pid'], d['gt_label'], d['camid'], d['is_query'])
            for d in infos(query)] == [(3, 3, 0, True), (3, 3, 1, True)]
    assert query.metainfo['num_pids'] == 1
    gallery = build(root, 'gallery')
    assert [d['pid'] for d in infos(gallery)] == [3, 3, 4]
    assert gallery.metainfo['num_pids'] == 2


def test_bad_subset_and_camera(tmp_path, root):
    with pytest.raises(ValueError, match='subset'):
        build(root, 'train', subset='manual')
    bad = write_tree(tmp_path / 'bad', ('detected', ),
                     {'query': ['0003_c3_22.png']})
    with pytest.raises(ValueError, match=r'0003_c3_22\.png.*PPPP_cC_N\.png'):
        build(bad, 'query')


def test_missing_subset_names_layout(tmp_path):
    root = write_tree(tmp_path, ('labeled', ))
    with pytest.raises(FileNotFoundError) as err:
        build(root, 'train')
    msg = str(err.value)
    for part in (osp.join('detected', 'bounding_box_train'), 'detected/',
                 'labeled/', 'query/', 'bounding_box_test/'):
        assert part in msg
