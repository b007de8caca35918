# The embedded synthetic data set (Market-1501 layout, 128x64 images),
# generated at data_root on first use; P=16 identities x K=4 images per batch.
dataset_type = 'SyntheticMarket1501'
data_root = 'data/synthetic_market1501'
generate = dict(num_train_ids=64, num_test_ids=50, images_per_id=10, seed=0)
train_batch_size = 64
num_instances = 4

# BoT's pipeline at half resolution (pad 10 at 256x128 -> pad 5 at 128x64).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=(128, 64), padding=5),
    dict(type='ReIDRandomErasing', prob=0.5),
    # Flipping commutes with the symmetric pad, uniform crop and uniform
    # erasing; done last, mmcv's flipped view is never copied by them.
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
]

# One loader process: reading and augmenting a batch of these small images
# takes a few percent of a training step on a CPU, so one worker keeps up and
# the cores are left to torch's threads.
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(
        type='RandomIdentitySampler',
        batch_size=train_batch_size,
        num_instances=num_instances),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        generate=generate,
        split='train',
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=1,
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
                generate=generate,
                split='query',
                pipeline=test_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                generate=generate,
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
