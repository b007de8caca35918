# Table 1, row "Baseline": ID (cross-entropy) + triplet loss, last stride 2,
# classifier with bias on the pooled feature, no warmup / REA / LS / BNNeck /
# center loss. All settings live in the shared base file.
_base_ = './bot-ablation_base_synthetic.py'
