from .check_invalid_loss_hook import CheckInvalidLossHook
from .epoch_eta_hook import EpochETAIterTimerHook
from .sampler_resume_hook import IdentitySamplerResumeHook

__all__ = [
    'CheckInvalidLossHook', 'EpochETAIterTimerHook',
    'IdentitySamplerResumeHook'
]
