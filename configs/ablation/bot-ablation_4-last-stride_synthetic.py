# Table 1, row "+stride=1": last stride 1 doubles the final feature map
# (8x4 instead of 4x2 at 128x64 input).
_base_ = './bot-ablation_3-label-smoothing_synthetic.py'
model = dict(backbone=dict(last_stride=1))
