"""tools/analysis_tools/search_gallery.py builds an index from a folder or
the test set, and queries it with the ranking of GalleryIndex."""
import importlib.util
import json
import os.path as osp

import pytest
from test_e2e.utils import REPO, TINY_CONFIG, cli_options

from mmreid_tricks.apis import GalleryIndex, ReIDFeatureExtractor, list_images


def load_tool():
    path = osp.join(REPO, 'tools', 'analysis_tools', 'search_gallery.py')
    spec = importlib.util.spec_from_file_location('search_gallery', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_and_query(tiny, tmp_path):
    tool = load_tool()
    options = ['--cfg-options', *cli_options(tiny['data'])]
    index_path = str(tmp_path / 'test_gallery.npz')
    tool.main([
        'build', TINY_CONFIG, tiny['ckpt'], '--test-set', '--out', index_path,
        *options
    ])
    query = list_images(osp.join(tiny['data'], 'query'))[0]
    out = str(tmp_path / 'ranked.json')
    tool.main([
        'query', TINY_CONFIG, tiny['ckpt'], index_path, query, '-k', '3',
        '--out', out, *options
    ])
    with open(out) as f:
        ranked = json.load(f)
    extractor = ReIDFeatureExtractor(tiny['cfg'], tiny['ckpt'])
    expected = GalleryIndex.load(index_path).search_images(
        extractor, query, k=3)
    assert [hit['path'] for hit in ranked[0]['results']] == expected.paths[0]
    # Another model's checkpoint is refused.
    with pytest.raises(ValueError, match='rebuild the index'):
        tool.main([
            'query', TINY_CONFIG, tiny['other_ckpt'], index_path, query,
            *options
        ])


def test_build_needs_one_source(tiny):
    with pytest.raises(SystemExit):
        load_tool().parse_args(
            ['build', TINY_CONFIG, tiny['ckpt'], '--out', 'x.npz'])
