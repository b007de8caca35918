import pytest
import torch
from test_e2e.utils import tiny_config

from mmreid_tricks.apis import build_model
from mmreid_tricks.datasets import generate_synthetic_market1501


def _save_initialised(cfg, path, seed):
    """A checkpoint of a freshly initialised model: no training needed."""
    torch.manual_seed(seed)
    model, _ = build_model(cfg, device='cpu')
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path)


@pytest.fixture(scope='session')
def tiny(tmp_path_factory):
    """The tiny synthetic set, its config and two different checkpoints."""
    root = tmp_path_factory.mktemp('apis')
    cfg = tiny_config(str(root / 'data'), str(root / 'work'))
    # One metric, no re-ranking: faster, and the features are the same.
    cfg.test_evaluator = dict(type='ReIDMetric')
    generate_synthetic_market1501(str(root / 'data'), **cfg.generate)
    return dict(
        cfg=cfg,
        root=root,
        data=str(root / 'data'),
        ckpt=_save_initialised(cfg, root / 'a.pth', 0),
        other_ckpt=_save_initialised(cfg, root / 'b.pth', 1))
