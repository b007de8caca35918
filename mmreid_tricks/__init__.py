"""mmreid_tricks: the person ReID bag of tricks as OpenMMLab plugins.

Importing the package registers every module in the ``mmreid_tricks`` scope
and lets mmengine resume its own checkpoints under torch >= 2.6.
"""
from . import apis, datasets, engine, evaluation, models  # noqa: F401
from .utils import register_all_modules, register_checkpoint_loader
from .version import __version__

register_checkpoint_loader()

__all__ = ['__version__', 'register_all_modules']
