# Short name of the full recipe: `mim train mmreid_tricks
# configs/strong_baseline.py` with Market-1501 unpacked at data/market1501.
_base_ = './bot/bot_resnet50_1xb64-120e_market1501.py'
