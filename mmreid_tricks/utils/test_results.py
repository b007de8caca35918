"""Run a config's test loop and keep its embeddings: the one place where the
analysis tools (``tools/test.py --out``, ranked-list pictures, CMC curves)
get the query and gallery features the ReID metric sees."""
import os.path as osp
import tempfile
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from mmreid_tricks.evaluation import load_reid_results
from mmreid_tricks.evaluation.reid_results import DEFAULT_METRIC_SETTINGS
from mmreid_tricks.registry import RUNNERS


def _evaluators(cfg: Config) -> list:
    evaluator = cfg.get('test_evaluator')
    if evaluator is None:
        raise KeyError(f'config {cfg.filename!r} has no test_evaluator')
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']  # an Evaluator config
    return list(evaluator) if isinstance(evaluator,
                                         (list, tuple)) else [evaluator]


def reid_metric_settings(cfg: Config) -> dict:
    """Distance settings of the first ``ReIDMetric`` of ``test_evaluator``.

    Args:
        cfg (Config): A test config.

    Returns:
        dict: ``metric``, ``normalize_feature``, ``rerank_cfg``, ``aqe`` and
        ``aqe_cfg``, with ReIDMetric's defaults where the config is silent.
    """
    for metric in _evaluators(cfg):
        if str(metric.get('type', '')).split('.')[-1] == 'ReIDMetric':
            settings = dict(DEFAULT_METRIC_SETTINGS)
            for key in settings:
                if key in metric:
                    value = metric[key]
                    settings[key] = dict(settings[key], **value) if isinstance(
                        settings[key], dict) else value
            return settings
    return dict(DEFAULT_METRIC_SETTINGS)


def add_results_dump(cfg: Config,
                     out_file: str,
                     checkpoint: Optional[str] = None) -> None:
    """Make the test loop also save its embeddings to ``out_file``.

    Appends a :class:`DumpReIDFeatures` metric to ``cfg.test_evaluator``;
    the saved ``meta`` names the config, checkpoint and distance settings.

    Args:
        cfg (Config): The test config, changed in place.
        out_file (str): The results file (``.pth``).
        checkpoint (str, optional): The checkpoint, recorded in ``meta``.
            Defaults to None.
    """
    meta = dict(
        config=cfg.filename,
        checkpoint=checkpoint,
        metric=reid_metric_settings(cfg))
    evaluators = _evaluators(cfg)
    evaluators.append(
        dict(
            type='mmreid_tricks.DumpReIDFeatures',
            out_file=out_file,
            meta=meta))
    cfg.test_evaluator = evaluators


def save_metrics_to_results(out_file: str, metrics: dict) -> None:
    """Add the test metrics to a results file (main process only)."""
    if not is_main_process():
        return
    data = torch.load(out_file, map_location='cpu', weights_only=True)
    data['metrics'] = {k: float(v) for k, v in metrics.items()}
    torch.save(data, out_file)


def collect_test_results(config: str,
                         checkpoint: str,
                         cfg_options: Optional[dict] = None,
                         work_dir: Optional[str] = None) -> dict:
    """Test a checkpoint on its config's test set; return the results.

    The runner is built as ``tools/test.py`` builds it (one process).

    Args:
        config (str): The config file.
        checkpoint (str): The checkpoint file.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.
            Defaults to None.
        work_dir (str, optional): The runner's work directory; a temporary
            one when None.

    Returns:
        dict: As :func:`load_reid_results`, with ``'metrics'``.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.load_from = checkpoint
    cfg.launcher = 'none'
    loader = cfg.test_dataloader
    if loader.get('num_workers', 0) == 0:
        loader['persistent_workers'] = False
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = work_dir or tmp
        out_file = osp.join(tmp, 'results.pth')
        add_results_dump(cfg, out_file, checkpoint)
        runner = (
            RUNNERS.build(cfg)
            if 'runner_type' in cfg else Runner.from_cfg(cfg))
        metrics = runner.test()
        save_metrics_to_results(out_file, metrics)
        return load_reid_results(out_file)
