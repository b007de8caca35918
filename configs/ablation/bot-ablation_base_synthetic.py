# Shared settings of the synthetic BoT ablation (Table 1 of Luo et al.,
# "Bag of Tricks and A Strong Baseline for Deep Person Re-identification").
#
# This is the paper's *baseline* row: ResNet with last stride 2, global
# average pooling, a linear ID classifier with bias on the pooled feature,
# plain cross-entropy (epsilon=0) plus batch-hard triplet loss, no warmup,
# no random erasing, no BNNeck, no center loss. The row configs next to this
# file switch the tricks on one by one, each inheriting the previous row.
#
# Sized to train one row in about a minute on a 2-core CPU: a quarter-width
# ResNet-18 from scratch, an easy synthetic set (48 train ids, 2 cameras,
# no occluders), P=16 x K=4, 20 epochs.
_base_ = '../bot/bot_resnet18_1xb64-40e_synthetic-market1501.py'

data_root = 'data/ablation_synthetic'
generate = dict(
    num_train_ids=48,
    num_test_ids=30,
    images_per_id=8,
    num_distractors=40,
    num_junk=5,
    num_cameras=2,
    occlusion_prob=0.0,
    seed=1)
dataset = dict(
    type='SyntheticMarket1501', data_root=data_root, generate=generate)

# No random erasing (row 2 adds it back).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=(128, 64), padding=5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(datasets=[
        dict(dataset, split='query', pipeline=test_pipeline),
        dict(dataset, split='gallery', pipeline=test_pipeline),
    ]))
test_dataloader = val_dataloader

num_classes = 48
model = dict(
    backbone=dict(base_channels=16, stem_channels=16, last_stride=2),
    # with_bn=False: the neck passes the pooled feature f_t through as is.
    neck=dict(in_channels=128, with_bn=False),
    head=dict(
        num_classes=num_classes,
        in_channels=128,
        id_loss=dict(
            type='CrossEntropyLabelSmoothLoss', epsilon=0.0, loss_weight=1.0),
        triplet_loss=dict(type='TripletLoss', margin=0.3, loss_weight=1.0),
        center_loss=None,
        classifier_bias=True,
        test_feature='before'))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
# warmup_length=0: constant lr until the first milestone.
param_scheduler = dict(milestones=[16, 19], warmup_length=0)
train_cfg = dict(max_epochs=20, val_interval=20)
default_hooks = dict(
    logger=dict(interval=6),
    # Ablation runs keep no checkpoints.
    checkpoint=dict(interval=-1, save_last=False, save_best=None))
