from .gradual_warmup import GradualWarmupLR, GradualWarmupParamScheduler
from .warmup_multistep import WarmupMultiStepLR, WarmupMultiStepParamScheduler

__all__ = [
    'GradualWarmupLR', 'GradualWarmupParamScheduler', 'WarmupMultiStepLR',
    'WarmupMultiStepParamScheduler'
]
