"""Configs that mmpretrain's own inferencers accept."""
from typing import Optional

from mmengine.config import Config, ConfigDict

from .feature_extractor import find_test_pipeline
from .gallery_index import metric_settings
from .model_loading import ConfigType, load_config


def to_mmpretrain_config(config: ConfigType,
                         cfg_options: Optional[dict] = None,
                         retriever: bool = False) -> Config:
    """A copy of a config for ``mmpretrain.apis.FeatureExtractor`` or, with
    ``retriever=True``, ``ImageRetrievalInferencer``.

    mmpretrain's ``get_model`` builds in the ``mmpretrain`` scope, where
    ``ReIDModel`` is unknown (``KeyError: 'ReIDModel is not in the
    mmpretrain::model registry'``), and its inferencers read
    ``test_dataloader.dataset.pipeline``, which a ``ConcatDataset`` of query
    and gallery lacks. The copy builds the model in the config's scope
    (``_scope_``) and names the first test data set, whose ``PackInputs``
    keeps ``sample_idx`` (the retriever's prototype needs it).

    Args:
        config (str | Config): Our config, or an mmpretrain config naming
            our modules.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.
        retriever (bool): Wrap the model in :class:`ReIDRetriever`, with the
            distance of the config's ReID metric. Defaults to False.

    Returns:
        Config: The converted copy.

    Example:
        >>> from mmpretrain.apis import FeatureExtractor
        >>> extractor = FeatureExtractor(
        ...     to_mmpretrain_config('configs/strong_baseline.py'),
        ...     pretrained='epoch_120.pth')
    """
    cfg = load_config(config, cfg_options)
    model = cfg.model
    model.setdefault('_scope_', cfg.get('default_scope', 'mmreid_tricks'))
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg.data_preprocessor)
    if retriever:
        cfg.model = ConfigDict(
            type='ReIDRetriever',
            _scope_='mmreid_tricks',
            model=model,
            **metric_settings(cfg))
    dataset = cfg.get('test_dataloader', {}).get('dataset')
    if dataset is not None:
        cfg.test_dataloader.dataset = ConfigDict(
            _first_dataset(dataset),
            pipeline=_with_sample_idx(find_test_pipeline(dataset)))
    return cfg


def _with_sample_idx(pipeline: list) -> list:
    """The pipeline with ``sample_idx`` among ``PackInputs``' meta keys:
    the retriever files each gallery embedding under it."""
    pipeline = [dict(t) for t in pipeline]
    for transform in pipeline:
        keys = transform.get('meta_keys')
        if str(transform.get('type', '')).endswith('PackInputs') and (
                keys is not None and 'sample_idx' not in keys):
            transform['meta_keys'] = tuple(keys) + ('sample_idx', )
    return pipeline


def _first_dataset(dataset: dict) -> dict:
    if dataset.get('datasets'):
        return _first_dataset(dataset['datasets'][0])
    if 'dataset' in dataset:
        return _first_dataset(dataset['dataset'])
    return dataset
