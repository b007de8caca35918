# BoT's strong baseline: ResNet-50 with last stride 1, BNNeck, ID loss with
# label smoothing, batch-hard triplet loss and center loss.
num_classes = 751  # training identities of Market-1501
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='LastStrideResNet',
        depth=50,
        last_stride=1,
        out_indices=(3, ),
        # torchvision's ResNet (the released code) does not zero the last BN
        # of each residual block; mmpretrain's default does. Matters only
        # from scratch: a Pretrained init_cfg skips it.
        zero_init_residual=False,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='BNNeck', in_channels=2048),
    head=dict(
        type='ReIDHead',
        num_classes=num_classes,
        in_channels=2048,
        id_loss=dict(
            type='CrossEntropyLabelSmoothLoss', epsilon=0.1, loss_weight=1.0),
        triplet_loss=dict(type='TripletLoss', margin=0.3, loss_weight=1.0),
        center_loss=dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5),
        test_feature='after'),
)
