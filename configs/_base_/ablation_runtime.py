# Runtime of the synthetic ablation: 3 iterations per epoch, so log every 6;
# the rows keep no checkpoints.
_base_ = './default_runtime.py'
default_hooks = dict(
    logger=dict(interval=6),
    checkpoint=dict(interval=-1, save_last=False, save_best=None))
