import os.path as osp

import pytest
from mmengine.dataset import ConcatDataset

from mmreid_tricks.datasets.msmt17 import MSMT17
from mmreid_tricks.registry import DATASETS

# Relative path and pid of each list; camera is the name's third field.
LISTS = {
    'list_train.txt': [('0000/0000_000_01_0303morning_0015_0.jpg', 0),
                       ('0000/0000_001_07_0303morning_0036_1.jpg', 0),
                       ('0005/0005_000_15_0303noon_0101_0.jpg', 5)],
    'list_val.txt': [('0000/0000_002_02_0303afternoon_0200_0.jpg', 0),
                     ('0009/0009_000_03_0303noon_0004_2.jpg', 9)],
    'list_query.txt': [('0001/0001_000_04_0113morning_0001_0.jpg', 1)],
    'list_gallery.txt': [('0001/0001_001_05_0113morning_0009_0.jpg', 1),
                         ('0000/0000_000_12_0113noon_0007_1.jpg', 0)],
}
DIRS = dict(v1=('train', 'test'), v2=('mask_train_v2', 'mask_test_v2'))


def write_tree(root, version='v1', lists=LISTS, images=True):
    train_dir, test_dir = DIRS[version]
    for list_name, lines in lists.items():
        root.mkdir(parents=True, exist_ok=True)
        (root / list_name).write_text(''.join(f'{p} {pid}\n'
                                              for p, pid in lines))
        img_dir = train_dir if list_name in ('list_train.txt',
                                             'list_val.txt') else test_dir
        (root / img_dir).mkdir(exist_ok=True)
        for path, _ in lines if images else ():
            (root / img_dir / path).parent.mkdir(exist_ok=True)
            (root / img_dir / path).write_bytes(b'')
    return str(root)


def build(root, split, **kwargs):
    return DATASETS.build(
        dict(type='MSMT17', data_root=root, split=split, **kwargs))


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


@pytest.mark.parametrize('version', ['v1', 'v2'])
def test_version_is_detected(tmp_path, version):
    root = write_tree(tmp_path / 'MSMT17', version)
    ds = build(root, 'train')
    assert isinstance(ds, MSMT17) and ds.version == version
    assert osp.isfile(infos(ds)[0]['img_path'])
    assert osp.dirname(infos(ds)[0]['img_path']) == osp.join(
        root, DIRS[version][0], '0000')
    gallery = build(root, 'gallery', check_files=True)
    assert gallery.version == version
    assert osp.isfile(infos(gallery)[0]['img_path'])


def test_train_combines_val_and_relabels(tmp_path):
    root = write_tree(tmp_path)
    ds = build(root, 'train')
    got = [(d['pid'], d['gt_label'], d['camid'], d['is_query'])
           for d in infos(ds)]
    # list_train then list_val, in list order; pids 0, 5, 9 -> 0, 1, 2.
    assert got == [(0, 0, 0, False), (0, 0, 6, False), (5, 1, 14, False),
                   (0, 0, 1, False), (9, 2, 2, False)]
    assert ds.metainfo == dict(
        dataset_name='MSMT17', split='train', num_pids=3)
    only_train = build(root, 'train', combine_trainval=False)
    assert len(only_train) == 3 and only_train.metainfo['num_pids'] == 2


def test_query_gallery_keep_listed_pids(tmp_path):
    root = write_tree(tmp_path)
    query, gallery = build(root, 'query'), build(root, 'gallery')
    assert [(d['pid'], d['gt_label'], d['camid'], d['is_query'])
            for d in infos(query)] == [(1, 1, 3, True)]
    assert [(d['pid'], d['camid'], d['is_query'])
            for d in infos(gallery)] == [(1, 4, False), (0, 11, False)]
    assert gallery.metainfo['num_pids'] == 2
    both = ConcatDataset([query, gallery], ignore_keys=MSMT17.SPLIT_META_KEYS)
    assert len(both) == 3


def test_version_choice(tmp_path):
    root = write_tree(tmp_path, 'v1')
    write_tree(tmp_path, 'v2')
    with pytest.raises(ValueError, match="both versions.*version='v1'"):
        build(root, 'query')
    assert build(root, 'query', version='v2').version == 'v2'
    with pytest.raises(ValueError, match='version'):
        build(root, 'query', version='v3')


def test_missing_layout(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere.*list_train.txt'):
        build(missing, 'train')
    # data_root is the parent of the release: say where to point it.
    write_tree(tmp_path / 'MSMT17_V2', 'v2')
    with pytest.raises(FileNotFoundError) as err:
        build(str(tmp_path), 'train')
    for part in ('train/ (v1)', 'mask_train_v2/ (v2)', 'MSMT17_V2/',
                 'list_val.txt'):
        assert part in str(err.value)
    # The explicit version's folder is missing.
    root = str(tmp_path / 'MSMT17_V2')
    with pytest.raises(FileNotFoundError, match='test image folder.*test'):
        build(root, 'query', version='v1')


def test_missing_list_file(tmp_path):
    root = write_tree(
        tmp_path, lists={'list_train.txt': LISTS['list_train.txt']})
    with pytest.raises(FileNotFoundError, match='list file.*list_val.txt'):
        build(root, 'train')
    assert len(build(root, 'train', combine_trainval=False)) == 3


@pytest.mark.parametrize('line, message', [
    ('0000/0000_000_01_x_0015_0.jpg', r'line 2: expected 2 fields'),
    ('0000/0000_000_01_x_0015_0.jpg zero', "line 2: the pid 'zero'"),
    ('0000/0000_000_01_x_0015_0.jpg -1', 'line 2: .*0 or more'),
    ('0000/0000_000_16_x_0015_0.jpg 0', 'line 2: .*cameras 1 to 15'),
    ('0000/0000.jpg 0', 'line 2: Cannot read the camera'),
])
def test_malformed_list_line(tmp_path, line, message):
    lists = {'list_query.txt': [('0001/0001_000_04_x_0001_0.jpg', 1)]}
    root = write_tree(tmp_path, lists=lists)
    with open(osp.join(root, 'list_query.txt'), 'a') as f:
        f.write(line + '\n')
    with pytest.raises(ValueError, match=message) as err:
        build(root, 'query')
    assert 'list_query.txt' in str(err.value)


def test_check_files_lists_missing_images(tmp_path):
    root = write_tree(tmp_path, images=False)
    assert len(build(root, 'gallery')) == 2  # not checked by default
    with pytest.raises(FileNotFoundError) as err:
        build(root, 'gallery', check_files=True)
    msg = str(err.value)
    assert '2 of the 2 images listed in list_gallery.txt' in msg
    assert '0000_000_12_0113noon_0007_1.jpg' in msg


def test_lazy_init_reads_nothing(tmp_path):
    ds = build(str(tmp_path / 'nowhere'), 'query', lazy_init=True)
    assert ds.version is None and ds.metainfo['split'] == 'query'


def test_ann_file_is_refused(tmp_path):
    with pytest.raises(TypeError, match='list files'):
        build(str(tmp_path), 'train', ann_file='list_train.txt')
