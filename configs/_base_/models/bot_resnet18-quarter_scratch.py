# BoT's model with a quarter-width ResNet-18 trained from random init, for
# the synthetic ablation (configs/ablation/); sized to train one row in about
# a minute on a 2-core CPU. The trick switches (last stride, BNNeck, label
# smoothing, classifier bias, test feature, center loss) are left to the
# rows, which each state all of them.
_base_ = './bot_resnet50.py'
num_classes = 48  # training identities of the ablation's synthetic set
model = dict(
    backbone=dict(depth=18, base_channels=16, stem_channels=16, init_cfg=None),
    neck=dict(in_channels=128),
    head=dict(num_classes=num_classes, in_channels=128))
