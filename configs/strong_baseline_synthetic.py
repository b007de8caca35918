# The embedded demo:
#     mim train mmreid_tricks configs/strong_baseline_synthetic.py
# generates the synthetic data set if missing, trains on the CPU and prints
# Rank-1/5/10, mAP and mINP.
_base_ = './bot/bot_resnet18_1xb64-40e_synthetic-market1501.py'
