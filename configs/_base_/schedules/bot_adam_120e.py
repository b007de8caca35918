# BoT's released schedule: Adam, lr 3.5e-4, weight decay 5e-4; linear warmup
# from 0.01 x lr over 10 epochs, x0.1 at epochs 40 and 70, 120 epochs.
optim_wrapper = dict(optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4))
param_scheduler = dict(
    type='WarmupMultiStepLR',
    milestones=[40, 70],
    gamma=0.1,
    warmup_factor=0.01,
    warmup_length=10,
    warmup_method='linear',
    # The released trainer steps its scheduler at the start of each epoch.
    step_offset=1,
    by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=40)
val_cfg = dict()
test_cfg = dict()
# The lr above is for 64 images per step; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=64, enable=False)
