"""Make a config's test loop save its embeddings (``tools/test.py --out``)
for the analysis tools, and read the distance settings of its ReID
metric."""
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.dist import is_main_process

from mmreid_tricks.evaluation.reid_results import DEFAULT_METRIC_SETTINGS


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
