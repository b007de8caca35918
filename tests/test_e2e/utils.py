import os.path as osp

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO, 'tests', 'data', 'configs', 'tiny_synthetic.py')


def data_root_options(data_root: str) -> dict:
    """``--cfg-options`` that point every data set of the tiny config at
    ``data_root``."""
    return {
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.datasets.0.data_root': data_root,
        'val_dataloader.dataset.datasets.1.data_root': data_root,
        'test_dataloader.dataset.datasets.0.data_root': data_root,
        'test_dataloader.dataset.datasets.1.data_root': data_root,
    }


def tiny_config(data_root: str, work_dir: str, **options) -> Config:
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(data_root_options(data_root))
    cfg.merge_from_dict(options)
    cfg.work_dir = work_dir
    return cfg


def cli_options(data_root: str, **options) -> list:
    """The same options as command-line words for ``--cfg-options``."""
    opts = dict(data_root_options(data_root), **options)
    return [f'{k}={v}' for k, v in opts.items()]
