from .check_invalid_loss_hook import CheckInvalidLossHook
from .sampler_resume_hook import IdentitySamplerResumeHook

__all__ = ['CheckInvalidLossHook', 'IdentitySamplerResumeHook']
