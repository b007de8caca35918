from .dump_features import DumpReIDFeatures
from .reid_metric import ReIDMetric

__all__ = ['DumpReIDFeatures', 'ReIDMetric']
