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


def test_always_apply_sets_default_probabilities():
    tool = load_tool('visualization/browse_pipeline.py')
    patch, flip = dict(type='RandomPatch'), dict(type='RandomFlip', prob=0.5)
    resize = dict(type='Resize', scale=(64, 128))
    for cfg in (patch, flip, resize):
        tool._force_apply(cfg)
    # prob_happen is left at its default in the config: set all the same.
    assert patch['prob_happen'] == 1.0 and flip['prob'] == 1.0
    assert 'prob' not in resize
