# Table 1 of Luo et al. (CVPRW 2019), row 6 "+center loss":
# center loss on f_t, weight 0.0005, centers updated by SGD with lr 0.5 -- the
# full BoT strong baseline.
# Rows 0-6 switch on the tricks one by one; this file states all six.
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
# 3. Label smoothing: on (epsilon=0.1).
# 4. Last stride: 1.
# 5. BNNeck: on; bias-free classifier on f_i, f_i is the test feature.
# 6. Center loss: on.
model = dict(
    backbone=dict(last_stride=1),
    neck=dict(with_bn=True),
    head=dict(
        id_loss=dict(
            type='CrossEntropyLabelSmoothLoss', epsilon=0.1, loss_weight=1.0),
        triplet_loss=dict(type='TripletLoss', margin=0.3, loss_weight=1.0),
        classifier_bias=False,
        test_feature='after',
        center_loss=dict(type='CenterLoss', loss_weight=0.0005,
                         center_lr=0.5)))
