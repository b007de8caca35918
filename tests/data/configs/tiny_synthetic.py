# The demo config shrunk for tests: a ResNet-18 of 1/4 width on a small,
# easier synthetic set (two cameras, no occluders), P=16 x K=4, 20 epochs.
_base_ = '../../../configs/strong_baseline_synthetic.py'
data_root = 'data/tiny_synthetic'  # tests override it with a temporary path
generate = dict(
    num_train_ids=48,
    num_test_ids=30,
    images_per_id=8,
    num_distractors=40,
    num_junk=5,
    num_cameras=2,
    occlusion_prob=0.0,
    seed=1)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
]
dataset = dict(
    type='SyntheticMarket1501', data_root=data_root, generate=generate)
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(dataset, split='train'))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(datasets=[
        dict(dataset, split='query', pipeline=test_pipeline),
        dict(dataset, split='gallery', pipeline=test_pipeline),
    ]))
test_dataloader = val_dataloader
model = dict(
    backbone=dict(base_channels=16, stem_channels=16),
    neck=dict(in_channels=128),
    head=dict(num_classes=48, in_channels=128))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(milestones=[16, 19], warmup_length=2)
train_cfg = dict(max_epochs=20, val_interval=20)
default_hooks = dict(
    logger=dict(interval=6), checkpoint=dict(interval=1, max_keep_ckpts=2))
