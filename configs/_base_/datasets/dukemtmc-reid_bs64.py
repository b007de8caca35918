# DukeMTMC-reID at 256x128, P=16 identities x K=4 images per batch.
# The crops are larger than 256x128 and are shrunk: the pillow backend
# antialiases as the released code's torchvision resize does; cv2's
# bilinear does not (docs/datasets.md, 'Resizing').
dataset_type = 'DukeMTMCReID'
data_root = 'data/dukemtmc-reid/DukeMTMC-reID'
train_batch_size = 64
num_instances = 4

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='Resize',
        scale=(128, 256),
        interpolation='bilinear',
        backend='pillow'),
    dict(type='RandomCrop', crop_size=(256, 128), padding=10),
    dict(type='ReIDRandomErasing', prob=0.5),
    # Flipping commutes with the symmetric pad, uniform crop and uniform
    # erasing; done last, mmcv's flipped view is never copied by them.
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='Resize',
        scale=(128, 256),
        interpolation='bilinear',
        backend='pillow'),
    dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
]

train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(
        type='RandomIdentitySampler',
        batch_size=train_batch_size,
        num_instances=num_instances),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
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
        ]),
)
val_evaluator = dict(
    type='ReIDMetric', metric='euclidean', normalize_feature=True)
test_dataloader = val_dataloader
# Testing reports the metrics with and without k-reciprocal re-ranking.
test_evaluator = [
    val_evaluator,
    dict(
        type='ReIDMetric',
        metric='euclidean',
        normalize_feature=True,
        rerank=True,
        prefix='reid-rerank'),
]
