from .checkpoint import load_local_checkpoint, register_checkpoint_loader
from .cli import clear_errors, set_collect_dir, set_data_root
from .dist import init_cpu_distributed, prepare_distributed_cfg
from .setup_env import register_all_modules

__all__ = [
    'clear_errors', 'init_cpu_distributed', 'load_local_checkpoint',
    'prepare_distributed_cfg', 'register_all_modules',
    'register_checkpoint_loader', 'set_collect_dir', 'set_data_root'
]
