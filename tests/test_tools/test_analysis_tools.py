"""tools/test.py --out, the ranked-list pictures (also through `mim run`,
which needs the package installed: `pip install -e .`) and the CMC plot, on
the tiny synthetic set with an untrained model."""
import os
import os.path as osp

import mmcv
import pytest
import torch
from test_e2e.utils import TINY_CONFIG
from test_tools.utils import load_tool, run_cli

from mmreid_tricks.evaluation import load_reid_results, results_rank_metrics
from mmreid_tricks.visualization import COLORS, RankedListLayout


def test_test_out_round_trips_features_and_metrics(tiny):
    raw = torch.load(tiny['results'], weights_only=True)
    results = load_reid_results(tiny['results'])
    assert raw['metrics'] == results['metrics']
    q, g = results['query'], results['gallery']
    # tiny_synthetic: 30 test identities, 2 cameras, 40 distractors.
    assert q['features'].shape == (len(q['img_paths']), 128)
    assert all(osp.isfile(p) for p in q['img_paths'] + g['img_paths'])
    assert results['meta']['checkpoint'] == tiny['checkpoint']
    # The saved features give back the logged metrics.
    again = results_rank_metrics(results, max_rank=10)
    metrics = results['metrics']
    assert 100 * again['mAP'] == pytest.approx(metrics['reid/mAP'])
    assert 100 * again['cmc'][0].item() == pytest.approx(metrics['reid/R1'])
    assert 100 * again['cmc'][9].item() == pytest.approx(metrics['reid/R10'])
    rerank = results_rank_metrics(results, rerank=True, max_rank=10)
    assert 100 * rerank['mAP'] == pytest.approx(metrics['reid-rerank/mAP'])


@pytest.mark.parametrize('rerank', [False, True])
def test_ranked_pictures_from_results(tiny, tmp_path, rerank):
    tool = load_tool('analysis_tools/visualize_ranked_results.py')
    out_dir = str(tmp_path / 'vis')
    tool.main([
        '--from-results', tiny['results'], '--out-dir', out_dir,
        '--num-queries', '3', '--topk', '4', '--tile-size', '32', '64'
    ] + (['--rerank'] if rerank else []))
    files = sorted(os.listdir(out_dir))
    assert len(files) == 3 and all(f.startswith('worst_') for f in files)
    layout = RankedListLayout(tile_size=(32, 64))
    results = load_reid_results(tiny['results'])
    g_pids = results['gallery']['pids']
    for name in files:
        picture = mmcv.imread(osp.join(out_dir, name))
        assert picture.shape[:2] == layout.canvas_size(4)
        # Each frame is green or red, green exactly for the query's id.
        query = int(name.split('_query')[1].split('_')[0])
        colours = [
            tuple(int(v) for v in picture[y + layout.tile_h // 2, x + 2])
            for x, y in map(layout.tile_origin, range(1, 5))
        ]
        assert set(colours) <= {COLORS['match'], COLORS['wrong']}
        pid = int(results['query']['pids'][query])
        if pid not in g_pids.tolist():
            assert COLORS['match'] not in colours


def test_ranked_pictures_from_config_and_checkpoint(tiny, tmp_path):
    tool = load_tool('analysis_tools/visualize_ranked_results.py')
    out_dir = str(tmp_path / 'vis')
    tool.main([
        TINY_CONFIG, tiny['checkpoint'], '--out-dir', out_dir, '--num-queries',
        '2', '--mode', 'best', '--topk', '3', '--show-ignored',
        '--cfg-options', *tiny['options']
    ])
    assert sorted(os.listdir(out_dir))[0].startswith('best_000_query')
    assert len(os.listdir(out_dir)) == 2


def test_ranked_pictures_through_mim_run(tiny, tmp_path):
    out_dir = str(tmp_path / 'vis')
    log = run_cli([
        '-m', 'mim', 'run', 'mmreid_tricks', 'visualize_ranked_results',
        '--from-results', tiny['results'], '--out-dir', out_dir,
        '--num-queries', '2', '--mode', 'random', '--topk', '3'
    ])
    assert '2 ranked lists (random queries, top-3)' in log
    assert len(os.listdir(out_dir)) == 2


def test_plot_cmc_of_two_results(tiny, tmp_path):
    tool = load_tool('analysis_tools/plot_cmc.py')
    out = tmp_path / 'cmc.png'
    tool.main([
        tiny['results'], tiny['results'], '--labels', 'a', 'b', '--rerank',
        '--out',
        str(out), '--cfg-options', 'rerank_cfg.k1=10'
    ])
    assert mmcv.imread(str(out)).shape == (480, 640, 3)
    with pytest.raises(SystemExit):
        tool.main([tiny['results'], '--labels', 'a', 'b', '--out', str(out)])


def test_config_path_embeds_what_test_out_saved(tiny):
    tool = load_tool('analysis_tools/visualize_ranked_results.py')
    embedded = tool.embed_test_set(
        TINY_CONFIG, tiny['checkpoint'],
        {o.split('=')[0]: o.split('=')[1]
         for o in tiny['options']})
    saved = load_reid_results(tiny['results'])
    for part in ('query', 'gallery'):
        assert embedded[part]['img_paths'] == saved[part]['img_paths']
        assert torch.equal(embedded[part]['pids'], saved[part]['pids'])
        assert torch.allclose(
            embedded[part]['features'], saved[part]['features'], atol=1e-6)
    assert embedded['meta']['metric'] == saved['meta']['metric']
