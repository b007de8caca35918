"""Command-line arguments of tools/train.py and tools/test.py."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'strong_baseline_synthetic.py')


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_cfg(monkeypatch, *argv):
    train = load_tool('train')
    monkeypatch.setattr(sys, 'argv', ['train.py', CONFIG, *argv])
    args = train.parse_args()
    return train.merge_args(Config.fromfile(args.config), args)


def data_roots(cfg):
    return [
        cfg.train_dataloader.dataset.data_root,
        *(d.data_root for d in cfg.val_dataloader.dataset.datasets),
        *(d.data_root for d in cfg.test_dataloader.dataset.datasets),
    ]


def test_data_root_sets_every_data_set(monkeypatch):
    cfg = train_cfg(monkeypatch, '--data-root', '/data/synthetic')
    assert data_roots(cfg) == ['/data/synthetic'] * 5


def test_cfg_options_override_data_root(monkeypatch):
    cfg = train_cfg(monkeypatch, '--data-root', '/a', '--cfg-options',
                    'val_dataloader.dataset.datasets.1.data_root=/b')
    # test_dataloader is a copy of val_dataloader: it keeps /a.
    assert data_roots(cfg) == ['/a', '/a', '/b', '/a', '/a']


@pytest.mark.parametrize('launcher, work_dir', [
    ('none', './work_dirs/strong_baseline_synthetic'),
    ('pytorch', './work_dirs/strong_baseline_synthetic_pytorch'),
])
def test_default_work_dir_per_launcher(monkeypatch, launcher, work_dir):
    cfg = train_cfg(monkeypatch, '--launcher', launcher)
    assert cfg.work_dir == work_dir
    collect = [m.get('collect_dir') for m in cfg.test_evaluator]
    if launcher == 'none':
        assert collect == [None, None]
    else:
        assert all(c.startswith(work_dir + '/.dist_collect_') for c in collect)


def test_test_tool_has_data_root(monkeypatch):
    test = load_tool('test')
    monkeypatch.setattr(sys, 'argv',
                        ['test.py', CONFIG, 'ckpt.pth', '--data-root', '/x'])
    assert test.parse_args().data_root == '/x'
