from .batch_cutout import BatchCutout
from .batch_random_erasing import BatchRandomErasing
from .data_preprocessor import ReIDDataPreprocessor

__all__ = ['BatchCutout', 'BatchRandomErasing', 'ReIDDataPreprocessor']
