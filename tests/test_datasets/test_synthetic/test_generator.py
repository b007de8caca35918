import hashlib
import json
import multiprocessing
import os
import os.path as osp
import runpy
from collections import defaultdict

import pytest
from mmengine.dataset import ConcatDataset
from PIL import Image

from mmreid_tricks.datasets.folder_dataset import SPLIT_DIRS
from mmreid_tricks.datasets.market1501 import Market1501
from mmreid_tricks.datasets.synthetic import (MARKER_FILE, SyntheticMarket1501,
                                              generate_synthetic_market1501)
from mmreid_tricks.registry import DATASETS

# About 70 images of 64 x 32: a fraction of a second.
SMALL = dict(
    num_train_ids=5,
    num_test_ids=4,
    num_cameras=4,
    images_per_id=6,
    num_distractors=4,
    num_junk=2,
    height=64,
    width=32)
TOOL = osp.join(
    osp.dirname(__file__), '..', '..', '..', 'tools',
    'generate_synthetic_data.py')


def listing(root):
    """{split folder: sorted names} of a generated folder."""
    return {
        folder: sorted(os.listdir(osp.join(root, folder)))
        for folder in SPLIT_DIRS.values()
    }


def contents(root):
    return {
        (folder, name): open(osp.join(root, folder, name), 'rb').read()
        for folder, names in listing(root).items()
        for name in names
    }


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('syn') / 'small')
    counts = generate_synthetic_market1501(root, **SMALL)
    return root, counts


def test_same_seed_same_bytes(small, tmp_path):
    root, counts = small
    again = str(tmp_path / 'again')
    assert generate_synthetic_market1501(again, **SMALL) == counts
    assert contents(again) == contents(root)


def test_other_seed_differs(small, tmp_path):
    root, _ = small
    other = str(tmp_path / 'other')
    generate_synthetic_market1501(other, seed=1, **SMALL)
    assert contents(other) != contents(root)
    assert listing(other) != listing(root)


def test_layout_parses_as_market(small):
    root, counts = small
    names = listing(root)
    datasets = {
        split: Market1501(root, split=split)
        for split in ('train', 'query', 'gallery')
    }
    assert len(datasets['train']) == counts['train']
    assert len(datasets['query']) == counts['query']
    # The gallery reader drops the junk.
    assert len(datasets['gallery']) == counts['gallery'] - SMALL['num_junk']
    assert len(names['bounding_box_test']) == counts['gallery']
    assert datasets['train'].metainfo['num_pids'] == SMALL['num_train_ids']
    assert datasets['query'].metainfo['num_pids'] == SMALL['num_test_ids']
    img = Image.open(osp.join(root, 'query', names['query'][0]))
    assert img.format == 'JPEG'
    assert img.size == (SMALL['width'], SMALL['height'])
    camids = {
        d['camid']
        for ds in datasets.values()
        for d in (ds.get_data_info(i) for i in range(len(ds)))
    }
    assert camids <= set(range(SMALL['num_cameras']))


def test_identities_and_queries(small):
    root, _ = small

    def by_pid(split):
        ds = Market1501(root, split=split)
        out = defaultdict(list)
        for i in range(len(ds)):
            out[ds.get_data_info(i)['pid']].append(
                ds.get_data_info(i)['camid'])
        return out

    train, query, gallery = by_pid('train'), by_pid('query'), by_pid('gallery')
    assert not set(train) & (set(query) | set(gallery))
    assert set(query) == set(gallery) - {0}
    for pid, query_cams in query.items():
        # Every query finds its person in another camera.
        for cam in query_cams:
            assert any(g != cam for g in gallery[pid]), (pid, cam)
    assert len(gallery[0]) == SMALL['num_distractors']


def test_distractors_and_junk_only_in_gallery(small):
    root, _ = small
    names = listing(root)
    gallery = names['bounding_box_test']
    assert sum(n.startswith('0000_')
               for n in gallery) == SMALL['num_distractors']
    assert sum(n.startswith('-1_') for n in gallery) == SMALL['num_junk']
    for folder in ('bounding_box_train', 'query'):
        assert not any(n.startswith(('0000_', '-1_')) for n in names[folder])


def test_existing_complete_folder_is_reused(small):
    root, counts = small
    before = {
        (f, n): os.stat(osp.join(root, f, n)).st_mtime_ns
        for f, names in listing(root).items()
        for n in names
    }
    again = generate_synthetic_market1501(root, **SMALL)
    assert again == dict(counts, generated=0)
    after = {
        (f, n): os.stat(osp.join(root, f, n)).st_mtime_ns
        for f, names in listing(root).items()
        for n in names
    }
    assert after == before
    marker = json.load(open(osp.join(root, MARKER_FILE)))
    assert marker['args']['seed'] == 0
    assert marker['args']['num_train_ids'] == SMALL['num_train_ids']


def test_changed_arguments_raise(small):
    root, _ = small
    with pytest.raises(ValueError, match='other arguments') as err:
        generate_synthetic_market1501(root, **dict(SMALL, seed=3))
    assert root in str(err.value)
    assert "'seed': (0, 3)" in str(err.value)


def test_overwrite_replaces(tmp_path):
    root = str(tmp_path / 'syn')
    generate_synthetic_market1501(root, **SMALL)
    counts = generate_synthetic_market1501(
        root, overwrite=True, **dict(SMALL, num_train_ids=2))
    assert counts['generated'] == 1
    assert Market1501(root).metainfo['num_pids'] == 2
    assert os.listdir(tmp_path) == ['syn']


def test_folder_without_marker(tmp_path):
    half = tmp_path / 'half'
    (half / 'query').mkdir(parents=True)
    with pytest.raises(FileExistsError, match=MARKER_FILE):
        generate_synthetic_market1501(str(half), **SMALL)
    # An empty folder, made beforehand, is filled.
    empty = tmp_path / 'empty'
    empty.mkdir()
    counts = generate_synthetic_market1501(str(empty), **SMALL)
    assert counts['generated'] == 1
    assert osp.isfile(empty / MARKER_FILE)
    # No temporary folder is left behind.
    assert sorted(os.listdir(tmp_path)) == ['empty', 'half']


def _race(root, barrier, queue):
    barrier.wait()
    queue.put(generate_synthetic_market1501(root, **SMALL)['generated'])


def test_concurrent_generation(small, tmp_path):
    ctx = multiprocessing.get_context('fork')
    root = str(tmp_path / 'shared')
    barrier, queue = ctx.Barrier(3), ctx.Queue()
    procs = [
        ctx.Process(target=_race, args=(root, barrier, queue))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    generated = sorted(queue.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    # One rename wins; the others use its folder.
    assert generated == [0, 0, 1]
    assert os.listdir(tmp_path) == ['shared']
    assert contents(root) == contents(small[0])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_cameras'):
        generate_synthetic_market1501(str(tmp_path / 'x'), num_cameras=1)
    assert not osp.exists(tmp_path / 'x')


def test_dataset_generates_on_first_use(tmp_path):
    root = str(tmp_path / 'syn')
    query = DATASETS.build(
        dict(
            type='SyntheticMarket1501',
            data_root=root,
            split='query',
            generate=SMALL))
    assert isinstance(query, SyntheticMarket1501)
    assert osp.isfile(osp.join(root, MARKER_FILE))
    gallery = DATASETS.build(
        dict(
            type='SyntheticMarket1501',
            data_root=root,
            split='gallery',
            generate=SMALL))
    both = ConcatDataset([query, gallery],
                         ignore_keys=Market1501.SPLIT_META_KEYS)
    assert len(both) == len(query) + len(gallery)
    assert both.metainfo['dataset_name'] == 'SyntheticMarket1501'
    # Without `generate`, any complete synthetic folder is accepted.
    train = SyntheticMarket1501(root, split='train')
    assert train.metainfo['num_pids'] == SMALL['num_train_ids']
    with pytest.raises(ValueError, match='other arguments'):
        SyntheticMarket1501(
            root, split='train', generate=dict(SMALL, num_junk=0))


def test_cli(tmp_path, capsys):
    main = runpy.run_path(TOOL)['main']
    out = str(tmp_path / 'cli')
    argv = [
        out, '--num-train-ids', '3', '--num-test-ids', '2', '--num-cameras',
        '3', '--images-per-id', '4', '--num-distractors', '2', '--num-junk',
        '1', '--height', '48', '--width', '24'
    ]
    counts = main(argv)
    printed = capsys.readouterr().out
    assert 'Generated' in printed
    assert f"train   {counts['train']:6d} images, 3 identities" in printed
    assert Market1501(out, split='query').metainfo['num_pids'] == 2
    main(argv)
    assert 'Already complete' in capsys.readouterr().out


def test_overwrite_never_deletes_foreign_folder(tmp_path):
    real = tmp_path / 'Market-1501'
    write = real / 'query' / '0001_c1s1_000001_01.jpg'
    write.parent.mkdir(parents=True)
    write.write_bytes(b'x')
    with pytest.raises(FileExistsError, match='no .synthetic_done marker'):
        generate_synthetic_market1501(str(real), overwrite=True, **SMALL)
    assert write.read_bytes() == b'x'


def test_pinned_bytes(small):
    """The files of SMALL, as generated before the generator was split into
    modules; a change of the rendering must bump GENERATOR_VERSION and this
    hash together. (JPEG bytes also depend on Pillow's libjpeg; the pixels
    are pinned apart in test_renderer.py.)"""
    root, _ = small
    digest = hashlib.sha256()
    for folder, names in listing(root).items():
        for name in names:
            digest.update(f'{folder}/{name}\n'.encode())
            with open(osp.join(root, folder, name), 'rb') as f:
                digest.update(f.read())
    assert digest.hexdigest() == (
        '1f64592cdd0a64a3e3adcea13338b764e8e90789796a00ef4c9b115f98c6a0ed')
