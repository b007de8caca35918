# Table 1, row "+BNNeck": a BN after pooling; the triplet loss reads the
# feature before it (f_t), a bias-free classifier the feature after it (f_i),
# and f_i is the test embedding.
_base_ = './bot-ablation_4-last-stride_synthetic.py'
model = dict(
    neck=dict(with_bn=True),
    head=dict(classifier_bias=False, test_feature='after'))
