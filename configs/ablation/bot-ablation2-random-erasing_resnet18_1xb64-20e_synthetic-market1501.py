# Table 1 of Luo et al. (CVPRW 2019), row 2 "+REA":
# random erasing augmentation (p=0.5, ImageNet-mean fill), after the crop and
# before the flip as in the BoT recipe.
# Rows 0-2 switch on the tricks one by one; this file states all six.
_base_ = [
    '../_base_/models/bot_resnet18-quarter_scratch.py',
    '../_base_/datasets/synthetic_market1501-easy_bs64.py',
    '../_base_/schedules/bot_adam_20e.py',
    '../_base_/ablation_runtime.py',
]

# 1. Warmup: on, linear from 0.01 x lr over 2 epochs.
param_scheduler = dict(
    warmup_factor=0.01, warmup_method='linear', warmup_length=2)
# 2. Random erasing: on.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=(128, 64), padding=5),
    dict(type='ReIDRandomErasing', prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# 3. Label smoothing: off (epsilon=0).
# 4. Last stride: 2 (off).
# 5. BNNeck: off; the neck passes the pooled feature f_t through, a
#    classifier with bias reads it, and f_t is the test feature.
# 6. Center loss: off.
model = dict(
    backbone=dict(last_stride=2),
    neck=dict(with_bn=False),
    head=dict(
        id_loss=dict(
            type='CrossEntropyLabelSmoothLoss', epsilon=0.0, loss_weight=1.0),
        triplet_loss=dict(type='TripletLoss', margin=0.3, loss_weight=1.0),
        classifier_bias=True,
        test_feature='before',
        center_loss=None))
