"""Config edits and error reporting of the entry points."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmreid_tricks.utils import (check_data_roots, clear_errors,
                                 set_collect_dir, set_data_root)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'strong_baseline_synthetic.py')
MARKET = osp.join(REPO, 'configs', 'strong_baseline.py')


def leaf_roots(cfg):
    return [
        cfg.train_dataloader.dataset.data_root,
        *(d.data_root for d in cfg.val_dataloader.dataset.datasets),
        *(d.data_root for d in cfg.test_dataloader.dataset.datasets),
    ]


def test_set_data_root_reaches_every_data_set():
    cfg = Config.fromfile(DEMO)
    # The top-level variable alone changes nothing the runner reads.
    cfg.merge_from_dict(dict(data_root='/elsewhere'))
    assert set(leaf_roots(cfg)) == {'data/synthetic_market1501'}

    changed = set_data_root(cfg, '/data/x')
    assert leaf_roots(cfg) == ['/data/x'] * 5
    assert cfg.data_root == '/data/x'
    assert changed == ['train_dataloader'
                       ] + ['val_dataloader'] * 2 + ['test_dataloader'] * 2


def test_set_data_root_inside_nested_wrappers():
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    times=2,
                    dataset=dict(
                        type='ConcatDataset',
                        datasets=[
                            dict(type='Market1501', data_root='a'),
                            dict(type='MSMT17', data_root='b')
                        ]))),
            val_dataloader=None))
    assert set_data_root(cfg, 'c') == ['train_dataloader'] * 2
    inner = cfg.train_dataloader.dataset.dataset.datasets
    assert [d.data_root for d in inner] == ['c', 'c']
    assert 'data_root' not in cfg.train_dataloader.dataset


def test_set_collect_dir_gives_each_metric_its_folder():
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = 'work'
    cfg.val_evaluator.collect_dir = 'mine'  # the user's own is kept
    set_collect_dir(cfg)
    assert cfg.val_evaluator.collect_dir == 'mine'
    assert [m.collect_dir for m in cfg.test_evaluator] == [
        'work/.dist_collect_test_evaluator_0',
        'work/.dist_collect_test_evaluator_1'
    ]


def test_clear_errors_ends_with_the_message(capsys, monkeypatch):
    monkeypatch.delenv('MMREID_TRICKS_TRACEBACK', raising=False)
    with pytest.raises(SystemExit) as exit_info:
        with clear_errors():
            raise FileNotFoundError('data/market1501 does not exist; see X')
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    assert err.strip().splitlines()[-2] == (
        'Error: data/market1501 does not exist; see X')


def test_clear_errors_keeps_the_traceback_on_request(capsys, monkeypatch):
    monkeypatch.setenv('MMREID_TRICKS_TRACEBACK', '1')
    with pytest.raises(SystemExit):
        with clear_errors():
            raise FileNotFoundError('gone')
    assert 'Traceback' in capsys.readouterr().err


def test_clear_errors_lets_other_errors_through():
    with pytest.raises(KeyError):
        with clear_errors():
            raise KeyError('a bug keeps its traceback')


def test_check_data_roots_names_a_missing_data_set(tmp_path):
    cfg = Config.fromfile(MARKET)
    set_data_root(cfg, str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError) as err:
        check_data_roots(cfg)
    # The data set's own message: the folder, the layout, where to get it.
    assert str(tmp_path / 'nowhere') in str(err.value)
    assert 'bounding_box_train' in str(err.value)
    assert 'strong_baseline_synthetic.py' in str(err.value)
    # Only the dataloaders asked for are checked.
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    check_data_roots(cfg, ('train_dataloader', ))
    with pytest.raises(FileNotFoundError, match='Market-1501 data_root'):
        check_data_roots(cfg, ('train_dataloader', 'val_dataloader'))


def test_check_data_roots_skips_what_it_cannot_check(tmp_path):
    # The synthetic set is generated where it is missing.
    cfg = Config.fromfile(DEMO)
    set_data_root(cfg, str(tmp_path / 'not_yet'))
    check_data_roots(cfg)
    # A type of another registry, or none, is left to the Runner.
    cfg = Config(
        dict(
            train_dataloader=dict(
                dataset=dict(type='ImageNet', data_root='/nowhere')),
            val_dataloader=None))
    check_data_roots(cfg)
