"""The one reader of a config's ReIDMetric settings, and its apis view."""
from mmengine.config import Config

from mmreid_tricks.apis import metric_settings
from mmreid_tricks.evaluation.reid_results import DEFAULT_METRIC_SETTINGS
from mmreid_tricks.utils.test_results import reid_metric_settings


def test_first_reid_metric_of_test_evaluator_with_defaults_filled():
    cfg = Config(
        dict(
            test_evaluator=[
                dict(type='Accuracy'),
                dict(
                    type='mmreid_tricks.ReIDMetric',
                    metric='cosine',
                    rerank_cfg=dict(k1=10)),
                dict(type='ReIDMetric', metric='euclidean'),
            ],
            val_evaluator=dict(type='ReIDMetric', normalize_feature=False)))
    settings = reid_metric_settings(cfg)
    assert settings['metric'] == 'cosine'
    assert settings['normalize_feature'] is True
    # A partial rerank_cfg keeps the defaults of the keys it leaves out.
    assert settings['rerank_cfg'] == dict(k1=10, k2=6, lambda_value=0.3)
    assert settings['aqe_cfg'] == DEFAULT_METRIC_SETTINGS['aqe_cfg']
    assert metric_settings(cfg) == dict(metric='cosine', normalize=True)


def test_val_evaluator_then_defaults():
    cfg = Config(
        dict(
            val_evaluator=dict(
                type='Evaluator',
                metrics=dict(type='ReIDMetric', normalize_feature=False))))
    assert reid_metric_settings(cfg)['normalize_feature'] is False
    assert metric_settings(cfg) == dict(metric='euclidean', normalize=False)
    assert reid_metric_settings(Config(dict())) == DEFAULT_METRIC_SETTINGS
    assert metric_settings(Config(dict())) == dict(
        metric='euclidean', normalize=True)
