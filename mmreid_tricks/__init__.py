"""mmreid_tricks: the person ReID bag of tricks as OpenMMLab plugins.

Importing the package registers every module in the ``mmreid_tricks`` scope
and changes nothing else in the process: the safe checkpoint loader is
installed by ``SafeCheckpointHook`` and by our tools (docs/reliability.md).
"""
from . import apis, datasets, engine, evaluation, models  # noqa: F401
from .utils import register_all_modules
from .version import __version__

__all__ = ['__version__', 'register_all_modules']
