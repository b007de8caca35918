# BoT's strong baseline on Market-1501, written as an MMPretrain config.
#
# It inherits mmpretrain's ResNet-50 ImageNet recipe and adds the ReID tricks
# from mmreid_tricks through `custom_imports` and qualified type names, so it
# runs in the `mmpretrain` default scope (and with mmpretrain's tools/train.py
# once this package is installed).
#
# Notes on inheriting an mmpretrain config:
# - `_base_ = 'mmpretrain::...'` stamps `_scope_='mmpretrain'` on every
#   inherited dict with a `type`, so each of our modules is named with its
#   `mmreid_tricks.` prefix.
# - Where the structure changes (head, neck, loss, sampler, dataset, metric,
#   optimizer, schedule) `_delete_=True` drops the inherited keys, which our
#   modules do not accept.
_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'

custom_imports = dict(imports=['mmreid_tricks'], allow_failed_imports=False)

# ---------------------------------------------------------------- model ----
num_classes = 751  # training identities of Market-1501
data_preprocessor = dict(num_classes=num_classes)
model = dict(
    type='mmreid_tricks.ReIDModel',
    # Trick: last stride 1 (the other ResNet keys of the base are kept).
    backbone=dict(
        type='mmreid_tricks.LastStrideResNet',
        last_stride=1,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    # Trick: BNNeck.
    neck=dict(_delete_=True, type='mmreid_tricks.BNNeck', in_channels=2048),
    # Tricks: label smoothing, batch-hard triplet loss, center loss.
    head=dict(
        _delete_=True,
        type='mmreid_tricks.ReIDHead',
        num_classes=num_classes,
        in_channels=2048,
        id_loss=dict(
            type='mmreid_tricks.CrossEntropyLabelSmoothLoss', epsilon=0.1),
        triplet_loss=dict(type='mmreid_tricks.TripletLoss', margin=0.3),
        center_loss=dict(
            type='mmreid_tricks.CenterLoss', loss_weight=0.0005,
            center_lr=0.5),
        test_feature='after'))

# ----------------------------------------------------------------- data ----
dataset_type = 'mmreid_tricks.Market1501'
data_root = 'data/market1501'
train_batch_size = 64
num_instances = 4  # P=16 identities x K=4 images

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=(256, 128), padding=10),
    # Trick: random erasing augmentation.
    dict(type='mmreid_tricks.ReIDRandomErasing', prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), interpolation='bilinear'),
    dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=8,
    persistent_workers=True,
    # Trick: P x K identity sampling for the triplet loss.
    sampler=dict(
        _delete_=True,
        type='mmreid_tricks.RandomIdentitySampler',
        batch_size=train_batch_size,
        num_instances=num_instances),
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # Query and gallery differ in their split name and identity count.
        ignore_keys=['split', 'num_pids'],
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                split='query',
                pipeline=test_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                split='gallery',
                pipeline=test_pipeline),
        ]))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='mmreid_tricks.ReIDMetric',
    metric='euclidean',
    normalize_feature=True)
test_evaluator = val_evaluator

# ------------------------------------------------------------- schedule ----
# BoT: Adam, lr 3.5e-4, weight decay 5e-4, linear warmup over 10 epochs,
# x0.1 at epochs 40 and 70, 120 epochs.
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = dict(
    _delete_=True,
    type='mmreid_tricks.WarmupMultiStepLR',
    milestones=[40, 70],
    gamma=0.1,
    warmup_factor=0.01,
    warmup_length=10,
    warmup_method='linear',
    step_offset=1,
    by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=40)
auto_scale_lr = dict(base_batch_size=train_batch_size)

# -------------------------------------------------------------- runtime ----
default_hooks = dict(
    logger=dict(interval=50),
    # Without it, mmengine 0.10 cannot resume under torch >= 2.6.
    checkpoint=dict(
        type='mmreid_tricks.SafeCheckpointHook',
        interval=10,
        max_keep_ckpts=3,
        save_best='reid/mAP',
        rule='greater'))
custom_hooks = [
    dict(type='mmreid_tricks.CheckInvalidLossHook'),
    dict(type='mmreid_tricks.CheckQueryGalleryHook'),
    dict(type='mmreid_tricks.IdentitySamplerResumeHook'),
    dict(type='mmreid_tricks.IterationSeedHook'),
]
randomness = dict(seed=0, deterministic=False)
