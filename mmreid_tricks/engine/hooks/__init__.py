from .check_invalid_loss_hook import CheckInvalidLossHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .sampler_resume_hook import IdentitySamplerResumeHook

__all__ = [
    'CheckInvalidLossHook', 'IdentitySamplerResumeHook', 'SafeCheckpointHook'
]
