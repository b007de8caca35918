"""Build a ReID model from a config and a checkpoint, for inference."""
import copy
import hashlib
import json
import os.path as osp
from typing import List, Optional, Tuple, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint

from mmreid_tricks.registry import MODELS
from mmreid_tricks.utils import (install_checkpoint_loader,
                                 restore_checkpoint_loader)

ConfigType = Union[str, Config]

# Keys listed in an error message before it says "... and N more".
_MAX_KEYS_SHOWN = 10


def load_config(config: ConfigType,
                cfg_options: Optional[dict] = None) -> Config:
    """A config from a path or a Config (copied), with ``cfg_options``
    merged as ``--cfg-options`` would."""
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config} does not exist')
        cfg = Config.fromfile(config)
    else:
        raise TypeError('config must be a path or an mmengine Config, got '
                        f'{type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'config {_config_name(cfg)} has no `model`')
    return cfg


def _config_name(cfg: Config) -> str:
    return cfg.filename or '<Config object>'


def _shown(keys: List[str]) -> str:
    extra = len(keys) - _MAX_KEYS_SHOWN
    text = ', '.join(keys[:_MAX_KEYS_SHOWN])
    return text + (f' ... and {extra} more' if extra > 0 else '')


def check_state_dict_fits(model: torch.nn.Module, state_dict: dict,
                          checkpoint: str, config_name: str) -> None:
    """Raise ValueError naming the checkpoint and every mismatched key
    (missing, unexpected, or of another shape) unless they match."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    shapes = sorted(f'{k} (checkpoint {tuple(state_dict[k].shape)}, model '
                    f'{tuple(own[k].shape)})'
                    for k in set(own) & set(state_dict)
                    if hasattr(state_dict[k], 'shape')
                    and tuple(state_dict[k].shape) != tuple(own[k].shape))
    problems = []
    if missing:
        problems.append(f'missing keys: {_shown(missing)}')
    if unexpected:
        problems.append(f'unexpected keys: {_shown(unexpected)}')
    if shapes:
        problems.append(f'shape mismatch: {_shown(shapes)}')
    if problems:
        raise ValueError(f'checkpoint {checkpoint} does not fit the model of '
                         f'config {config_name}: ' + '; '.join(problems))


def _state_dict_of(checkpoint: dict, filename: str) -> dict:
    if not isinstance(checkpoint, dict):
        raise ValueError(f'checkpoint {filename} holds no state_dict')
    state_dict = checkpoint.get('state_dict', checkpoint)
    # Checkpoints saved from a DDP-wrapped model prefix every key.
    return {
        (k[len('module.'):] if k.startswith('module.') else k): v
        for k, v in state_dict.items()
    }


def build_model(
        config: ConfigType,
        checkpoint: Optional[str] = None,
        device: Optional[Union[str, torch.device]] = None,
        cfg_options: Optional[dict] = None) -> Tuple[BaseModel, Config]:
    """Build the config's model in eval mode and load a checkpoint into it.

    Works for our configs (``default_scope='mmreid_tricks'``) and for
    mmpretrain configs that name our modules (``type='mmreid_tricks.X'``).
    The model's ``init_weights`` is not called, so no pretrained backbone
    is downloaded: the checkpoint gives every weight.

    Args:
        config (str | Config): Config path or object.
        checkpoint (str, optional): Checkpoint path or URL, loaded through
            mmengine's checkpoint loaders. Every key must match the model
            (see :func:`check_state_dict_fits`). None keeps the initial
            weights (for tests). Defaults to None.
        device (str | torch.device, optional): Defaults to ``'cuda'`` when
            available, else ``'cpu'``.
        cfg_options (dict, optional): Overrides, as ``--cfg-options``.

    Returns:
        tuple[BaseModel, Config]: The model on ``device`` and the config.
    """
    cfg = load_config(config, cfg_options)
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    model_cfg = copy.deepcopy(cfg.model)
    # As mmengine's Runner: a top-level data_preprocessor fills the model's.
    is_cfg = isinstance(model_cfg, (dict, ConfigDict))
    if is_cfg and cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmreid_tricks')):
        model = MODELS.build(model_cfg)
    if checkpoint is not None:
        # The package's allow-list loader for local files, for this load
        # only: no code runs from the file (docs/reliability.md).
        previous = install_checkpoint_loader()
        try:
            ckpt = _load_checkpoint(checkpoint, map_location='cpu')
        finally:
            restore_checkpoint_loader(previous)
        state_dict = _state_dict_of(ckpt, checkpoint)
        check_state_dict_fits(model, state_dict, checkpoint, _config_name(cfg))
        model.load_state_dict(state_dict, strict=True)
    model.to(device)
    model.eval()
    return model, cfg


def state_dict_sha256(model: torch.nn.Module) -> str:
    """sha256 of a model's weights: every key and the bytes of its tensor,
    in key order. Equal for two files holding the same weights."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        tensor = value.detach().cpu().contiguous()
        digest.update(str(tensor.dtype).encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


def config_sha256(*parts) -> str:
    """sha256 of config parts (dicts, lists) written as sorted JSON."""
    text = json.dumps(list(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
