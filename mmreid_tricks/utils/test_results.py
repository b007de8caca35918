"""Make a config's test loop save its embeddings (``tools/test.py --out``)
for the analysis tools, and read the distance settings of its ReID
metric."""
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dist import is_main_process

from mmreid_tricks.evaluation.reid_results import DEFAULT_METRIC_SETTINGS


def _metric_list(evaluator) -> list:
    """The metric configs of an evaluator config (a metric, a list of them
    or an Evaluator config with ``metrics``)."""
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']  # an Evaluator config
    return list(evaluator) if isinstance(evaluator,
                                         (list, tuple)) else [evaluator]


def _evaluators(cfg: Config) -> list:
    evaluator = cfg.get('test_evaluator')
    if evaluator is None:
        raise KeyError(f'config {cfg.filename!r} has no test_evaluator')
    return _metric_list(evaluator)


def reid_metric_settings(cfg: Config) -> dict:
    """Distance settings of the config's first ``ReIDMetric``.

    It is looked for in ``test_evaluator``, then in ``val_evaluator``.

    Args:
        cfg (Config): A test or train config.

    Returns:
        dict: ``metric``, ``normalize_feature``, ``rerank_cfg``, ``aqe`` and
        ``aqe_cfg``, with ReIDMetric's defaults where the config is silent
        (all of them if it has no ReIDMetric).
    """
    for key in ('test_evaluator', 'val_evaluator'):
        for metric in _metric_list(cfg.get(key) or []):
            if str(metric.get('type', '')).split('.')[-1] == 'ReIDMetric':
                settings = dict(DEFAULT_METRIC_SETTINGS)
                for name, default in settings.items():
                    if name in metric:
                        value = metric[name]
                        settings[name] = dict(default, **value) if isinstance(
                            default, dict) else value
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
