from .feature_export import ReIDFeatureExporter
from .reid_model import ReIDModel

__all__ = ['ReIDFeatureExporter', 'ReIDModel']
