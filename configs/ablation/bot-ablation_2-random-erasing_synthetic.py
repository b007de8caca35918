# Table 1, row "+REA": random erasing augmentation (p=0.5, ImageNet-mean
# fill), after the crop and before the flip as in the BoT recipe.
_base_ = './bot-ablation_1-warmup_synthetic.py'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 128), interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=(128, 64), padding=5),
    dict(type='ReIDRandomErasing', prob=0.5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
