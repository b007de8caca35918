"""Configs that train from scratch initialise as the released code does."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmreid_tricks.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) +
    glob.glob(osp.join(REPO, 'tests', 'data', 'configs', '*.py')))
MODEL_CONFIGS = [
    p for p in CONFIGS if '_base_' not in p and 'mmpretrain_examples' not in p
]


@pytest.mark.parametrize(
    'path', MODEL_CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_residual_blocks_are_not_zero_initialised(path):
    backbone = Config.fromfile(path).model.backbone
    assert backbone.get('zero_init_residual') is False


def test_from_scratch_blocks_keep_their_last_bn():
    cfg = Config.fromfile(
        osp.join(REPO, 'tests', 'data', 'configs', 'tiny_synthetic.py'))
    assert cfg.model.backbone.init_cfg is None  # trained from scratch
    backbone = MODELS.build(cfg.model.backbone)
    backbone.init_weights()
    for layer_name in backbone.res_layers:
        for block in getattr(backbone, layer_name):
            assert torch.equal(block.norm2.weight,
                               torch.ones_like(block.norm2.weight))
