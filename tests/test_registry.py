"""Both ways of reaching our modules: our own scope, and from an mmpretrain
config through custom_imports and qualified names."""
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope, init_default_scope
from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
from mmpretrain.structures import DataSample

from mmreid_tricks.registry import MODELS, build_in_scope

MMPRETRAIN_CONFIG = """
_base_ = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
custom_imports = dict(imports=['mmreid_tricks'], allow_failed_imports=False)
# One trick: label smoothing as in BoT, in mmpretrain's own classifier.
model = dict(
    backbone=dict(type='mmreid_tricks.LastStrideResNet', last_stride=1),
    head=dict(
        num_classes=10,
        loss=dict(
            _delete_=True,
            type='mmreid_tricks.CrossEntropyLabelSmoothLoss',
            epsilon=0.1)))
"""


def batch():
    return dict(
        inputs=[
            torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8)
            for _ in range(4)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in range(4)])


def test_own_scope_reaches_mmpretrain_modules():
    assert MODELS.scope == 'mmreid_tricks'
    assert MODELS.get('ReIDHead') is not None
    # Falls through to the parent registry.
    assert MODELS.get('ImageClassifier') is MMPRETRAIN_MODELS.get(
        'ImageClassifier')
    assert MODELS.get('ReIDHead') is MMPRETRAIN_MODELS.get(
        'mmreid_tricks.ReIDHead')


def test_trick_in_an_mmpretrain_config(tmp_path):
    path = tmp_path / 'resnet18_ls.py'
    path.write_text(MMPRETRAIN_CONFIG)
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'mmpretrain'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        init_default_scope('mmpretrain')
        model = MMPRETRAIN_MODELS.build(cfg.model)
    assert type(model).__name__ == 'ImageClassifier'
    assert type(model.backbone).__name__ == 'LastStrideResNet'
    assert type(model.head.loss_module).__name__ == \
        'CrossEntropyLabelSmoothLoss'
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    log_vars = model.train_step(batch(), wrapper)
    assert torch.isfinite(log_vars['loss'])


def test_build_in_scope_from_mmpretrain_scope():
    cfg = dict(type='BNNeck', in_channels=8)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        neck = build_in_scope(MODELS, cfg)
    assert type(neck).__name__ == 'BNNeck'
    assert cfg == dict(type='BNNeck', in_channels=8)  # not changed
