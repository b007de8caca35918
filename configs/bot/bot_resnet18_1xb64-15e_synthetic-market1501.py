# The BoT recipe, scaled to run on a CPU in minutes: ResNet-18 from random
# initialisation (no weights can be downloaded here), 128x64 synthetic
# pedestrians, 15 epochs. Every trick of the full recipe is on.
_base_ = [
    '../_base_/models/bot_resnet50.py',
    '../_base_/datasets/synthetic_market1501_bs64.py',
    '../_base_/schedules/bot_adam_120e.py',
    '../_base_/default_runtime.py',
]
num_classes = 64
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=512),
    head=dict(num_classes=num_classes, in_channels=512))
param_scheduler = dict(milestones=[10, 13], warmup_length=2)
train_cfg = dict(max_epochs=15, val_interval=15)
default_hooks = dict(
    logger=dict(interval=5), checkpoint=dict(interval=5, save_best=None))
