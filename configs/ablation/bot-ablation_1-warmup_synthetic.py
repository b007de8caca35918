# Table 1, row "+warmup": linear warmup from 0.01 x lr. BoT warms up for 10
# of 120 epochs; 2 of this 20-epoch schedule keeps the same proportion.
_base_ = './bot-ablation_0-baseline_synthetic.py'
param_scheduler = dict(
    warmup_factor=0.01, warmup_method='linear', warmup_length=2)
