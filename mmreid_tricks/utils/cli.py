"""Config edits and error reporting shared by ``tools/train.py`` and
``tools/test.py``."""
import os
import os.path as osp
import sys
import traceback
from contextlib import contextmanager
from typing import Iterator, List, Sequence

from mmengine.config import Config, ConfigDict

from mmreid_tricks.registry import DATASETS

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')
# Errors whose message alone tells the user what to fix (a missing data set
# or config file, a folder in the way); anything else keeps its traceback.
CLEAR_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError,
                PermissionError)
TRACEBACK_ENV = 'MMREID_TRICKS_TRACEBACK'


def _leaf_datasets(dataset: dict) -> Iterator[dict]:
    """Yield the data sets of a dataset config, inside any wrappers
    (``ConcatDataset.datasets``, ``RepeatDataset.dataset``, ...)."""
    if isinstance(dataset.get('datasets'), (list, tuple)):
        for child in dataset['datasets']:
            yield from _leaf_datasets(child)
    elif isinstance(dataset.get('dataset'), dict):
        yield from _leaf_datasets(dataset['dataset'])
    else:
        yield dataset


def set_data_root(cfg: Config, data_root: str) -> List[str]:
    """Point every data set of the train, val and test dataloaders at
    ``data_root``.

    ``--cfg-options data_root=X`` only changes the config's top-level
    variable: the data sets were built from it when the file was read, and
    keep their own copy. This sets each data set's ``data_root``, including
    the children of ``ConcatDataset`` and other wrappers.

    Args:
        cfg (Config): The full config; modified in place.
        data_root (str): The folder of the data set.

    Returns:
        list[str]: For each data set that was set, its dataloader's key
        (``'val_dataloader'`` twice for a query and gallery pair).
    """
    if 'data_root' in cfg:
        cfg.data_root = data_root
    changed = []
    for key in DATALOADERS:
        loader = cfg.get(key)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for dataset in _leaf_datasets(loader['dataset']):
            dataset['data_root'] = data_root
            changed.append(key)
    return changed


def check_data_roots(cfg: Config, keys: Sequence[str] = DATALOADERS) -> None:
    """Raise a data set's own error for a missing ``data_root`` before the
    Runner starts, so that the error is not preceded by the whole config
    (which the Runner prints first).

    Every data set of the dataloaders ``keys`` (inside any wrappers) whose
    class has a ``check_data_root`` classmethod (ours: it names the folder,
    the layout and where to get the data) is checked; others are left to
    the Runner.

    Args:
        cfg (Config): The full config.
        keys (Sequence[str]): The dataloaders the run will use.
    """
    for key in keys:
        loader = cfg.get(key)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for dataset in _leaf_datasets(loader['dataset']):
            cls = dataset.get('type')
            if isinstance(cls, str):
                cls = DATASETS.get(cls)
            check = getattr(cls, 'check_data_root', None)
            if check is not None:
                check(dataset.get('data_root'))


def set_collect_dir(cfg: Config) -> None:
    """Collect distributed evaluation results inside the work dir.

    Without ``collect_dir`` mmengine gathers the ranks' results through a
    temporary folder under ``./.dist_test`` and leaves that folder behind in
    the current directory. Each metric gets its own folder,
    ``work_dir/.dist_collect_KEY_INDEX``, which mmengine removes after
    collecting.

    Args:
        cfg (Config): The full config, with ``work_dir`` set; modified in
            place.
    """
    for key in EVALUATORS:
        evaluator = cfg.get(key)
        if isinstance(evaluator, dict) and 'metrics' in evaluator:
            evaluator = evaluator['metrics']
        metrics = evaluator if isinstance(evaluator,
                                          (list, tuple)) else [evaluator]
        for index, metric in enumerate(metrics):
            if isinstance(metric, (dict, ConfigDict)):
                metric.setdefault(
                    'collect_dir',
                    osp.join(cfg.work_dir, f'.dist_collect_{key}_{index}'))


@contextmanager
def clear_errors() -> Iterator[None]:
    """End with a short message, not a traceback, on an error the message
    alone explains (see :data:`CLEAR_ERRORS`), and exit with status 1.

    Set the environment variable ``MMREID_TRICKS_TRACEBACK=1`` to get the
    traceback as well.
    """
    try:
        yield
    except CLEAR_ERRORS as error:
        if os.environ.get(TRACEBACK_ENV):
            traceback.print_exc()
        print(
            f'\nError: {error}\n({type(error).__name__}; set '
            f'{TRACEBACK_ENV}=1 for the traceback)',
            file=sys.stderr,
            flush=True)
        sys.exit(1)
