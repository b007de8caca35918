"""A tiny synthetic test set, an untrained checkpoint and its saved test
results (``tools/test.py --out``), shared by the tool tests."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from test_e2e.utils import TINY_CONFIG, cli_options
from test_tools.utils import run_cli

from mmreid_tricks.registry import MODELS


@pytest.fixture(scope='session')
def tiny(tmp_path_factory):
    """Paths of the data, an untrained checkpoint and its results file."""
    root = tmp_path_factory.mktemp('tiny_tools')
    data, ckpt = str(root / 'data'), str(root / 'untrained.pth')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmreid_tricks'):
        model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    results = str(root / 'results.pth')
    log = run_cli([
        osp.join('tools', 'test.py'), TINY_CONFIG, ckpt, '--work-dir',
        str(root / 'work'), '--out', results, '--cfg-options',
        *cli_options(data)
    ])
    return dict(
        root=root,
        data=data,
        checkpoint=ckpt,
        results=results,
        log=log,
        options=cli_options(data))
