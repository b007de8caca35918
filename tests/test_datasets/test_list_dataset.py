import os.path as osp

import pytest
from mmengine.dataset import ConcatDataset
from PIL import Image

from mmreid_tricks.datasets.list_dataset import ReIDListDataset
from mmreid_tricks.registry import DATASETS

TRAIN_LIST = """# path pid camid
images/a.jpg 10 1
images/b.jpg 10 2

images/c.jpg 0 1
images/junk.jpg -1 1
"""


@pytest.fixture
def root(tmp_path):
    (tmp_path / 'images').mkdir()
    for name in ('a.jpg', 'b.jpg', 'c.jpg', 'junk.jpg', 'q.jpg', 'g.jpg'):
        Image.new('RGB', (4, 8)).save(tmp_path / 'images' / name)
    (tmp_path / 'train.txt').write_text(TRAIN_LIST)
    (tmp_path / 'query.txt').write_text('images/q.jpg 10 1\n')
    (tmp_path / 'gallery.txt'
     ).write_text(f'images/g.jpg 10 2\n{tmp_path / "images" / "c.jpg"} 0 1\n')
    return str(tmp_path)


def build(root, ann_file, split='train', **kwargs):
    return DATASETS.build(
        dict(
            type='ReIDListDataset',
            data_root=root,
            ann_file=ann_file,
            split=split,
            **kwargs))


def infos(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_train_list(root):
    ds = build(root, 'train.txt')
    assert isinstance(ds, ReIDListDataset)
    got = [(osp.relpath(d['img_path'], root), d['pid'], d['gt_label'],
            d['camid'], d['is_query']) for d in infos(ds)]
    # File order; pid 0 is an ordinary identity, -1 junk is dropped.
    assert got == [(osp.join('images', 'a.jpg'), 10, 1, 1, False),
                   (osp.join('images', 'b.jpg'), 10, 1, 2, False),
                   (osp.join('images', 'c.jpg'), 0, 0, 1, False)]
    assert ds.metainfo == dict(
        dataset_name='ReIDList', split='train', num_pids=2)
    assert ds.ann_file == osp.join(root, 'train.txt')


def test_camid_start_and_name(root):
    ds = build(
        root, 'train.txt', camid_start=1, metainfo=dict(dataset_name='MyCams'))
    assert [d['camid'] for d in infos(ds)] == [0, 1, 0]
    assert ds.metainfo['dataset_name'] == 'MyCams'
    with pytest.raises(
            ValueError,
            match=r'train.txt, line 2: camid 1 is '
            'below camid_start=2'):
        build(root, 'train.txt', camid_start=2)


def test_query_gallery_and_absolute_paths(root):
    query = build(root, 'query.txt', 'query')
    gallery = build(root, osp.join(root, 'gallery.txt'), 'gallery')
    assert [(d['pid'], d['gt_label'], d['is_query'])
            for d in infos(query)] == [(10, 10, True)]
    assert [(d['pid'], d['camid'], d['is_query'])
            for d in infos(gallery)] == [(10, 2, False), (0, 1, False)]
    assert infos(gallery)[1]['img_path'] == osp.join(root, 'images', 'c.jpg')
    both = ConcatDataset([query, gallery],
                         ignore_keys=ReIDListDataset.SPLIT_META_KEYS)
    assert len(both) == 3


def test_data_prefix_and_pipeline(root, tmp_path):
    (tmp_path / 'short.txt').write_text('a.jpg 3 0\n')
    ds = build(
        root,
        'short.txt',
        data_prefix=dict(img_path='images'),
        pipeline=[dict(type='LoadImageFromFile')])
    assert ds[0]['img'].shape == (8, 4, 3)
    assert ds[0]['gt_label'] == 0 and ds[0]['pid'] == 3


@pytest.mark.parametrize('line, message', [
    ('images/a.jpg 1', 'expected 3 fields'),
    ('images/a.jpg 1 2 3', 'expected 3 fields'),
    ('images/a.jpg x 2', "the pid 'x' is not an integer"),
    ('images/a.jpg 1 c2', "the camid 'c2' is not an integer"),
    ('images/a.jpg -2 1', 'pid -2 is negative'),
])
def test_malformed_line_names_file_and_line(root, tmp_path, line, message):
    (tmp_path / 'bad.txt').write_text(f'# header\nimages/b.jpg 1 1\n{line}\n')
    with pytest.raises(ValueError, match=message) as err:
        build(root, 'bad.txt')
    assert f'{osp.join(root, "bad.txt")}, line 3' in str(err.value)


def test_missing_images_are_listed(root, tmp_path):
    (tmp_path / 'missing.txt').write_text(
        'images/a.jpg 1 0\nimages/gone1.jpg 1 0\nimages/gone2.jpg 2 0\n')
    with pytest.raises(FileNotFoundError) as err:
        build(root, 'missing.txt')
    msg = str(err.value)
    assert '2 of the 3 images' in msg and 'missing.txt' in msg
    assert 'gone1.jpg' in msg and 'gone2.jpg' in msg
    assert len(build(root, 'missing.txt', check_files=False)) == 3


def test_missing_or_empty_list(root, tmp_path):
    with pytest.raises(
            FileNotFoundError,
            match='train list file.*nope.txt.*'
            '<path> <pid> <camid>'):
        build(root, 'nope.txt')
    with pytest.raises(FileNotFoundError, match='data_root.*nowhere'):
        build(str(tmp_path / 'nowhere'), 'train.txt')
    (tmp_path / 'empty.txt').write_text('# nothing\n\n')
    with pytest.raises(ValueError, match='no image line'):
        build(root, 'empty.txt', 'gallery')
    (tmp_path / 'junk.txt').write_text('images/junk.jpg -1 0\n')
    with pytest.raises(ValueError, match='only junk'):
        build(root, 'junk.txt')
    with pytest.raises(ValueError, match='ann_file'):
        build(root, '')
