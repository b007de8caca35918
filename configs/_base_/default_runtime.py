# Modules resolve in the mmreid_tricks scope, and fall back to mmpretrain's,
# mmcv's and mmengine's.
default_scope = 'mmreid_tricks'

default_hooks = dict(
    # mmengine's timer, with an ETA that follows epochs of varying length.
    timer=dict(type='EpochETAIterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Atomic saves, resume falls back past broken files, one run per
    # work dir, and no code runs from checkpoints (docs/reliability.md).
    checkpoint=dict(
        type='SafeCheckpointHook',
        interval=10,
        max_keep_ckpts=3,
        save_best='reid/mAP',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    dict(type='CheckInvalidLossHook'),
    # Fails before the first epoch if no query of the val set can match.
    dict(type='CheckQueryGalleryHook'),
    # Resuming from a by-iteration checkpoint continues the epoch's sampler.
    dict(type='IdentitySamplerResumeHook'),
    # Seeds every step from (seed, iteration): a resume repeats the run.
    dict(type='IterationSeedHook'),
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
