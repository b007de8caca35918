"""Registry nodes of mmreid_tricks.

Each node is a child of mmpretrain's node of the same kind, in the scope
``mmreid_tricks``. Our configs set ``default_scope='mmreid_tricks'`` and still
reach every module of mmpretrain, mmcv and mmengine through the parents. An
mmpretrain config reaches ours with
``custom_imports=dict(imports=['mmreid_tricks'])`` and qualified names such as
``type='mmreid_tricks.BNNeck'``.

A lookup that falls through to the parent does not import the parent's
``locations``, so every node lists mmpretrain's module too.
"""
from typing import Any

from mmengine.registry import Registry
from mmpretrain import registry as mmpretrain_registry

SCOPE = 'mmreid_tricks'


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    return Registry(
        name, parent=parent, scope=SCOPE, locations=list(locations))


# Runners, loops and runner constructors.
RUNNERS = _child('runner', mmpretrain_registry.RUNNERS, 'mmpretrain.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor',
                             mmpretrain_registry.RUNNER_CONSTRUCTORS,
                             'mmpretrain.engine')
LOOPS = _child('loop', mmpretrain_registry.LOOPS, 'mmreid_tricks.engine',
               'mmpretrain.engine')
# Hooks, such as the center-loss and sampler checks.
HOOKS = _child('hook', mmpretrain_registry.HOOKS, 'mmreid_tricks.engine',
               'mmpretrain.engine')
LOG_PROCESSORS = _child('log processor', mmpretrain_registry.LOG_PROCESSORS,
                        'mmpretrain.engine')
# Optimizers, optimizer wrappers (bf16 on CPU) and their constructors.
OPTIMIZERS = _child('optimizer', mmpretrain_registry.OPTIMIZERS,
                    'mmreid_tricks.engine', 'mmpretrain.engine')
OPTIM_WRAPPERS = _child('optimizer_wrapper',
                        mmpretrain_registry.OPTIM_WRAPPERS,
                        'mmreid_tricks.engine', 'mmpretrain.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer wrapper constructor',
    mmpretrain_registry.OPTIM_WRAPPER_CONSTRUCTORS, 'mmreid_tricks.engine',
    'mmpretrain.engine')
# Learning-rate schedules (warmup multi-step, gradual warmup).
PARAM_SCHEDULERS = _child('parameter scheduler',
                          mmpretrain_registry.PARAM_SCHEDULERS,
                          'mmreid_tricks.engine', 'mmpretrain.engine')
# ReID data sets and the identity (P x K) sampler.
DATASETS = _child('dataset', mmpretrain_registry.DATASETS,
                  'mmreid_tricks.datasets', 'mmpretrain.datasets')
DATA_SAMPLERS = _child('data sampler', mmpretrain_registry.DATA_SAMPLERS,
                       'mmreid_tricks.datasets', 'mmpretrain.datasets')
# Image transforms (random erasing, cutout, random patch).
TRANSFORMS = _child('transform', mmpretrain_registry.TRANSFORMS,
                    'mmreid_tricks.datasets', 'mmpretrain.datasets')
# Backbones, necks, heads, losses and the ReID model.
MODELS = _child('model', mmpretrain_registry.MODELS, 'mmreid_tricks.models',
                'mmpretrain.models')
MODEL_WRAPPERS = _child('model_wrapper', mmpretrain_registry.MODEL_WRAPPERS,
                        'mmpretrain.models')
WEIGHT_INITIALIZERS = _child('weight initializer',
                             mmpretrain_registry.WEIGHT_INITIALIZERS,
                             'mmpretrain.models')
# Batch augmentations run inside the data preprocessor.
BATCH_AUGMENTS = _child('batch augment', mmpretrain_registry.BATCH_AUGMENTS,
                        'mmreid_tricks.models', 'mmpretrain.models')
TASK_UTILS = _child('task util', mmpretrain_registry.TASK_UTILS,
                    'mmpretrain.models')
# The ReID metric.
METRICS = _child('metric', mmpretrain_registry.METRICS,
                 'mmreid_tricks.evaluation', 'mmpretrain.evaluation')
EVALUATORS = _child('evaluator', mmpretrain_registry.EVALUATORS,
                    'mmpretrain.evaluation')
VISUALIZERS = _child('visualizer', mmpretrain_registry.VISUALIZERS,
                     'mmpretrain.visualization')
VISBACKENDS = _child('vis_backend', mmpretrain_registry.VISBACKENDS,
                     'mmpretrain.visualization')


def build_in_scope(registry: Registry, cfg: dict) -> Any:
    """Build ``cfg`` with ``registry``, its ``type`` looked up in our scope
    unless ``cfg`` names a ``_scope_``, even when the caller's default
    scope is mmpretrain's (as in an mmpretrain config that uses one of our
    heads or preprocessors).

    Args:
        registry (Registry): One of the nodes above.
        cfg (dict): The config; it is not changed.

    Returns:
        The built object.
    """
    cfg = dict(cfg)
    cfg.setdefault('_scope_', SCOPE)
    return registry.build(cfg)
