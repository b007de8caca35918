# The ablation's synthetic set: smaller and easier than the demo's (48 train
# identities, 2 cameras, no occluders), loaded in the main process. The rows
# state their own train pipeline (with or without random erasing).
_base_ = './synthetic_market1501_bs64.py'
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
