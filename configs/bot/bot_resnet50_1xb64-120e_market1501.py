# The full BoT recipe of Luo et al. (CVPRW 2019) on Market-1501.
_base_ = [
    '../_base_/models/bot_resnet50.py',
    '../_base_/datasets/market1501_bs64.py',
    '../_base_/schedules/bot_adam_120e.py',
    '../_base_/default_runtime.py',
]
