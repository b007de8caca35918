"""The example config that inherits an MMPretrain config trains for one
epoch with a real runner, shrunk to a ResNet-18 on a tiny synthetic set."""
import math
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from mmreid_tricks.datasets import generate_synthetic_market1501

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'mmpretrain_examples',
                  'bot_resnet50_1xb64-120e_market1501_mmpretrain-base.py')

NUM_TRAIN_IDS = 8


def test_config_inherits_mmpretrain_and_names_our_modules():
    cfg = Config.fromfile(CONFIG)
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports.imports == ['mmreid_tricks']
    assert cfg.model.type == 'mmreid_tricks.ReIDModel'
    # The ResNet keys of the base are kept, its head and neck replaced.
    assert cfg.model.backbone.type == 'mmreid_tricks.LastStrideResNet'
    assert cfg.model.backbone.style == 'pytorch'
    assert set(cfg.model.head) >= {'id_loss', 'triplet_loss', 'center_loss'}
    assert 'loss' not in cfg.model.head and 'topk' not in cfg.model.head
    assert 'shuffle' not in cfg.train_dataloader.sampler
    assert 'topk' not in cfg.val_evaluator
    assert 'momentum' not in cfg.optim_wrapper.optimizer
    types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert 'mmreid_tricks.ReIDRandomErasing' in types


def shrink(cfg, data_root, work_dir):
    """Tiny model, tiny images, one epoch, no worker processes."""
    cfg.work_dir = work_dir
    cfg.num_classes = NUM_TRAIN_IDS
    cfg.data_preprocessor.num_classes = NUM_TRAIN_IDS
    cfg.model.backbone.update(
        depth=18, base_channels=16, stem_channels=16, init_cfg=None)
    cfg.model.neck.in_channels = 128
    cfg.model.head.update(num_classes=NUM_TRAIN_IDS, in_channels=128)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(32, 64), interpolation='bilinear'),
        dict(type='RandomCrop', crop_size=(64, 32), padding=2),
        dict(type='mmreid_tricks.ReIDRandomErasing', prob=0.5),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(32, 64), interpolation='bilinear'),
        dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
    ]
    train = cfg.train_dataloader
    train.update(batch_size=16, num_workers=0, persistent_workers=False)
    train.sampler.update(batch_size=16, num_instances=4)
    train.dataset.update(data_root=data_root, pipeline=train_pipeline)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        loader.update(batch_size=16, num_workers=0, persistent_workers=False)
        for dataset in loader.dataset.datasets:
            dataset.update(data_root=data_root, pipeline=test_pipeline)
    cfg.param_scheduler.update(milestones=[1], warmup_length=1)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    # No checkpoints: saving them is the slowest part of such a short run.
    cfg.default_hooks.checkpoint = None
    return cfg


def test_one_epoch_with_a_runner(tmp_path):
    data_root = str(tmp_path / 'market1501')
    generate_synthetic_market1501(
        data_root,
        num_train_ids=NUM_TRAIN_IDS,
        num_test_ids=4,
        images_per_id=4,
        num_distractors=2,
        num_junk=1,
        height=64,
        width=32)
    cfg = shrink(
        Config.fromfile(CONFIG), data_root, str(tmp_path / 'work_dir'))

    runner = Runner.from_cfg(cfg)
    assert type(runner.model).__name__ == 'ReIDModel'
    assert type(runner.model.backbone).__name__ == 'LastStrideResNet'
    assert runner.model.backbone.last_stride == 1
    runner.train()

    assert runner.epoch == 1 and runner.iter >= 2
    hub = runner.message_hub
    for key in ('loss', 'loss_id', 'loss_triplet', 'loss_center'):
        assert math.isfinite(hub.get_scalar(f'train/{key}').current()), key
    # Validation ran through ReIDMetric at the end of the epoch.
    assert 0 <= hub.get_scalar('val/reid/mAP').current() <= 100
