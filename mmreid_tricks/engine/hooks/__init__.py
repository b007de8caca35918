from .check_invalid_loss_hook import CheckInvalidLossHook
from .check_query_gallery_hook import CheckQueryGalleryHook
from .epoch_eta_hook import EpochETAIterTimerHook
from .iteration_seed_hook import IterationSeedHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .sampler_resume_hook import IdentitySamplerResumeHook

__all__ = [
    'CheckInvalidLossHook', 'CheckQueryGalleryHook', 'EpochETAIterTimerHook',
    'IdentitySamplerResumeHook', 'IterationSeedHook', 'SafeCheckpointHook'
]
