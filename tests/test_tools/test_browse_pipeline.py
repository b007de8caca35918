import mmcv

from test_e2e.utils import TINY_CONFIG
from test_tools.utils import load_tool


def test_browse_pipeline_grid(tiny, tmp_path):
    tool = load_tool('visualization/browse_pipeline.py')
    out = str(tmp_path / 'pipeline.png')
    tool.main([
        TINY_CONFIG, '--out', out, '--num-images', '3', '--always-apply',
        '--tile-size', '32', '64', '--cfg-options', *tiny['options']
    ])
    grid = mmcv.imread(out)
    # Load, Resize, RandomCrop, ReIDRandomErasing, RandomFlip (not Pack).
    assert grid.shape == (36 + 3 * (64 + 6), 5 * (32 + 6) + 6, 3)
