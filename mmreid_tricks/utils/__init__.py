from .atomic_file import AtomicLocalBackend, atomic_write
from .checkpoint import (UnreadableCheckpointError, UntrustedCheckpointError,
                         install_checkpoint_loader, load_from_local_safe,
                         restore_checkpoint_loader)
from .cli import check_data_roots, clear_errors, set_collect_dir, set_data_root
from .dist import init_cpu_distributed, prepare_distributed_cfg
from .last_checkpoint import (NoResumableCheckpointError,
                              find_resumable_checkpoint, read_last_checkpoint,
                              write_last_checkpoint)
from .setup_env import register_all_modules
from .work_dir_lock import WorkDirInUseError, WorkDirLock

__all__ = [
    'AtomicLocalBackend', 'NoResumableCheckpointError',
    'UnreadableCheckpointError', 'UntrustedCheckpointError',
    'WorkDirInUseError', 'WorkDirLock', 'atomic_write', 'check_data_roots',
    'clear_errors', 'find_resumable_checkpoint', 'init_cpu_distributed',
    'install_checkpoint_loader', 'load_from_local_safe',
    'prepare_distributed_cfg', 'read_last_checkpoint', 'register_all_modules',
    'restore_checkpoint_loader', 'set_collect_dir', 'set_data_root',
    'write_last_checkpoint'
]
