"""The model index lists every config with its results, and ``mim search``
reads it; our figures match the pages that report them."""
import glob
import os.path as osp
import re
import subprocess
import sys

import pytest
from modelindex.load_model_index import load

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OURS = 'SyntheticMarket1501 (ours)'


def models():
    return {m.name: m for m in load(osp.join(REPO, 'model-index.yml')).models}


def ours(model):
    (result, ) = [r for r in model.results if r.dataset == OURS]
    return result.metrics


def test_every_config_is_listed_once_with_results():
    listed = models()
    expected = sorted(
        glob.glob(osp.join(REPO, 'configs', 'bot', '*.py')) +
        glob.glob(osp.join(REPO, 'configs', 'ablation', '*.py')))
    assert sorted(osp.join(REPO, m.config) for m in listed.values()) == \
        expected
    for name, model in listed.items():
        assert osp.basename(model.config) == name + '.py'
        assert model.results, name
        # The paper's numbers are never shown as ours.
        for result in model.results:
            assert result.dataset == OURS or '(paper' in result.dataset


def test_demo_figures_are_the_readme_run():
    text = open(osp.join(REPO, 'README.md')).read()
    line = re.search(r'Epoch\(val\) \[40\].*', text).group(0)
    readme = {
        k: float(v)
        for k, v in re.findall(r'reid/(\w+): ([\d.]+)', line)
    }
    metrics = ours(models()['bot_resnet18_1xb64-40e_synthetic-market1501'])
    names = dict(
        R1='Rank-1', R5='Rank-5', R10='Rank-10', mAP='mAP', mINP='mINP')
    assert {names[k]: round(v, 2) for k, v in readme.items()} == metrics


def test_ablation_figures_are_the_ablation_page():
    page = open(osp.join(REPO, 'docs', 'ablation', 'ablation.md')).read()
    rows = re.findall(
        r'\| (\d) \| [^|]+ \| ([\d.]+) ± [\d.]+ \| ([\d.]+) ± [\d.]+ '
        r'\| ([\d.]+) ± [\d.]+ \| ([\d.]+) / ([\d.]+) \|', page)
    listed = models()
    assert len(rows) == 7
    for index, r1, mean_ap, minp, paper_r1, paper_map in rows:
        (name, ) = [n for n in listed if n.startswith(f'bot-ablation{index}-')]
        model = listed[name]
        assert ours(model) == {
            'Rank-1': float(r1),
            'mAP': float(mean_ap),
            'mINP': float(minp)
        }
        (paper, ) = [r for r in model.results if r.dataset != OURS]
        assert paper.metrics == {
            'Rank-1': float(paper_r1),
            'mAP': float(paper_map)
        }


def test_mim_search_lists_the_configs():
    index = osp.join(REPO, 'mmreid_tricks', '.mim', 'model-index.yml')
    if not osp.isfile(index):
        pytest.fail(f'{index} is missing: reinstall the package '
                    '(pip install -e .) so setup.py links it into .mim')
    # From the repository root, an editable install is found there.
    out = subprocess.run(
        [sys.executable, '-m', 'mim', 'search', 'mmreid_tricks'],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in models():
        assert f'config id: {name}' in out.stdout
    assert 'market-1501 (paper)/rank-1' in out.stdout
    assert 'syntheticmarket1501 (ours)/map' in out.stdout
