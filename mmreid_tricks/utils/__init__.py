from .checkpoint import load_local_checkpoint, register_checkpoint_loader
from .dist import init_cpu_distributed, prepare_distributed_cfg
from .setup_env import register_all_modules

__all__ = [
    'init_cpu_distributed', 'load_local_checkpoint', 'prepare_distributed_cfg',
    'register_all_modules', 'register_checkpoint_loader'
]
