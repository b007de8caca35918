"""mmreid_tricks: the person ReID bag of tricks as OpenMMLab plugins."""
from .version import __version__

__all__ = ['__version__']
