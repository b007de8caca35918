# BoT's schedule shortened to 20 epochs for the synthetic ablation, with the
# larger lr of training from scratch (1e-3); decays at epochs 16 and 19. The
# warmup (a trick) is left to the rows.
_base_ = './bot_adam_120e.py'
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(milestones=[16, 19])
train_cfg = dict(max_epochs=20, val_interval=20)
