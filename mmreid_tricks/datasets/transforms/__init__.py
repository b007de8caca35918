from .cutout import ReIDCutout
from .random_erasing import ReIDRandomErasing
from .random_patch import RandomPatch

__all__ = ['RandomPatch', 'ReIDCutout', 'ReIDRandomErasing']
