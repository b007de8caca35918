"""mmreid_tricks: the person ReID bag of tricks as OpenMMLab plugins.

Importing the package registers every module in the ``mmreid_tricks`` scope
and changes nothing else in the process: the safe checkpoint loader is
installed by ``SafeCheckpointHook`` and by our tools (docs/reliability.md).
"""
import warnings

# mmcv-lite lacks the compiled ops; mmpretrain's import of mmcv's transformer
# bricks warns about one that nothing here uses. Only that message is muted.
warnings.filterwarnings(
    'ignore',
    message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)

from . import apis, datasets, engine, evaluation, models  # noqa: E402,F401
from .utils import register_all_modules  # noqa: E402
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'register_all_modules']
