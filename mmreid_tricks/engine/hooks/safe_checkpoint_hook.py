"""A CheckpointHook after which a crash at any moment loses nothing saved."""
import os
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import (broadcast_object_list, is_distributed,
                           is_main_process)
from mmengine.hooks import CheckpointHook

from mmreid_tricks.registry import HOOKS
from mmreid_tricks.utils.atomic_file import ATOMIC_BACKEND, TEMP_SUFFIX
from mmreid_tricks.utils.checkpoint import (install_checkpoint_loader,
                                            restore_checkpoint_loader)
from mmreid_tricks.utils.last_checkpoint import (NoResumableCheckpointError,
                                                 find_resumable_checkpoint,
                                                 write_last_checkpoint)
from mmreid_tricks.utils.work_dir_lock import WorkDirLock


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, crash-safe and loading safely.

    What it changes, for checkpoints in a local folder:

    - Each file is written to a hidden temporary file, flushed to disk and
      renamed into place, so it exists complete or not at all.
    - ``last_checkpoint`` is rewritten (also atomically) only once the
      checkpoint is complete, holds a path relative to the work dir, and
      outdated checkpoints (``max_keep_ckpts``, the previous best) are
      removed only after both. mmengine removes them first.
    - ``--resume`` without a path skips an empty ``last_checkpoint`` or an
      empty, truncated or corrupt checkpoint with a warning naming it and
      resumes from the newest complete one; if checkpoints exist but none is
      complete it stops with an error instead of starting from scratch.
    - Training takes a lock on the work dir (rank 0), so a second run into
      the same folder stops with an error naming the first.
    - During the run, local checkpoints load through
      :func:`mmreid_tricks.utils.load_from_local_safe`, which refuses files
      that would run code (see ``docs/reliability.md``).

    Checkpoints on other storage (``out_dir='s3://...'`` or custom
    ``backend_args``) keep mmengine's behaviour.

    Args:
        lock_work_dir (bool): Refuse a second training run into the same
            work dir. Defaults to True.
        **kwargs: Those of :class:`mmengine.hooks.CheckpointHook`.
    """

    def __init__(self, lock_work_dir: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lock_work_dir = lock_work_dir
        self._out_dir_arg = self.out_dir
        self._local = (
            self.backend_args is None and self.file_client_args is None
            and '://' not in str(self.out_dir or ''))
        if self._local:
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        self._lock: Optional[WorkDirLock] = None
        self._previous_loader = None

    def before_run(self, runner) -> None:
        self._previous_loader = install_checkpoint_loader()
        # --resume without a path: mmengine would load what last_checkpoint
        # names, broken or not. (The runner keeps these two private.)
        if self._local and runner._resume and runner._load_from is None:
            runner._load_from = self._find_resume_checkpoint(runner)

    def before_train(self, runner) -> None:
        if self.lock_work_dir and is_main_process():
            self._lock = WorkDirLock(runner.work_dir)
            self._lock.acquire()
        super().before_train(runner)
        if self._local and is_main_process():
            self._remove_partial_files(runner)

    def after_run(self, runner) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._previous_loader is not None:
            restore_checkpoint_loader(self._previous_loader)
            self._previous_loader = None

    def _checkpoint_dir(self, runner) -> str:
        """Where checkpoints go, as ``CheckpointHook.before_train`` says."""
        if self._out_dir_arg is None:
            return runner.work_dir
        return osp.join(self._out_dir_arg,
                        osp.basename(runner.work_dir.rstrip(osp.sep)))

    def _find_resume_checkpoint(self, runner) -> Optional[str]:
        """Rank 0 picks the checkpoint; every rank gets its choice."""
        found = [None, [], None]  # path, warnings, error
        if is_main_process():
            try:
                found[:2] = find_resumable_checkpoint(
                    runner.work_dir, self._checkpoint_dir(runner),
                    self.filename_tmpl)
            except NoResumableCheckpointError as err:
                found[2] = str(err)
        if is_distributed():
            broadcast_object_list(found)
        path, warnings, error = found
        if error is not None:
            raise NoResumableCheckpointError(error)
        for warning in warnings:
            runner.logger.warning(f'{warning}; skipped')
        if warnings and path is not None:
            runner.logger.warning(
                f'resuming from {path}, the newest complete checkpoint')
        return path

    def _remove_partial_files(self, runner) -> None:
        """Drop temporary files a killed run left behind (we hold the
        lock, so no other run is writing them)."""
        folder = self.out_dir
        if not osp.isdir(folder):
            return
        for name in os.listdir(folder):
            if name.startswith('.') and name.endswith(TEMP_SUFFIX):
                os.remove(osp.join(folder, name))
                runner.logger.info(
                    f'removed {name}, left unfinished by an earlier run')

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves folders
            self.file_backend.rmtree(path)

    def _keep(self, runner, step: int) -> Optional[int]:
        """Count ``step`` among the kept checkpoints (``max_keep_ckpts``);
        return the step that falls out, if any."""
        if self.max_keep_ckpts <= 0 or (self.keep_ckpt_ids
                                        and self.keep_ckpt_ids[-1] == step):
            return None  # the best-checkpoint path re-saves the same step
        outdated = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return outdated

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not self._local:
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        # Order matters: file complete, then last_checkpoint, then removal.
        write_last_checkpoint(runner.work_dir, self.last_ckpt)
        if outdated is not None:
            self._remove(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(outdated)))

    def _best_paths(self) -> Dict[str, Optional[str]]:
        # One indicator: a fixed key, as 'auto' becomes the metric's name.
        if len(self.key_indicators) == 1:
            return {'': self.best_ckpt_path}
        return dict(self.best_ckpt_path_dict)

    def _set_best_paths(self, paths: Dict[str, Optional[str]]) -> None:
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = paths['']
        else:
            self.best_ckpt_path_dict.update(paths)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self._local or not self.save_best:
            return super()._save_best_checkpoint(runner, metrics)
        # mmengine removes the previous best before writing the new one;
        # hide it from mmengine and remove it once the new one is complete.
        previous = self._best_paths()
        self._set_best_paths({key: None for key in previous})
        super()._save_best_checkpoint(runner, metrics)
        current = self._best_paths()
        for key, old in previous.items():
            if current[key] is None:  # not improved: keep the old one
                current[key] = old
            elif old is not None and old != current[key] and \
                    is_main_process():
                self._remove(old)
                runner.logger.info(f'removed the previous best {old}')
        self._set_best_paths(current)
