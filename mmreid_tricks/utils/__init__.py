from .checkpoint import load_local_checkpoint, register_checkpoint_loader
from .setup_env import register_all_modules

__all__ = [
    'load_local_checkpoint', 'register_all_modules',
    'register_checkpoint_loader'
]
