# The BoT recipe, scaled to run on a CPU in minutes: a half-width ResNet-18
# from random initialisation (no weights can be downloaded here), 128x64
# synthetic pedestrians, 40 epochs. Every trick of the full recipe is on;
# training from scratch takes a larger lr than fine-tuning (1e-3, not 3.5e-4).
_base_ = [
    '../_base_/models/bot_resnet50.py',
    '../_base_/datasets/synthetic_market1501_bs64.py',
    '../_base_/schedules/bot_adam_120e.py',
    '../_base_/default_runtime.py',
]
num_classes = 64
model = dict(
    backbone=dict(depth=18, base_channels=32, stem_channels=32, init_cfg=None),
    neck=dict(in_channels=256),
    head=dict(num_classes=num_classes, in_channels=256))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(milestones=[30, 36], warmup_length=3)
train_cfg = dict(max_epochs=40, val_interval=40)
default_hooks = dict(
    logger=dict(interval=8), checkpoint=dict(interval=10, save_best=None))
