from types import SimpleNamespace

import pytest
import torch

from mmreid_tricks.registry import HOOKS


def runner():
    return SimpleNamespace(epoch=2, iter=41, work_dir='work_dirs/x')


def test_finite_loss_passes():
    hook = HOOKS.build(dict(type='CheckInvalidLossHook'))
    hook.after_train_iter(
        runner(), 0, outputs=dict(loss=torch.tensor(1.0),
                                  accuracy=torch.tensor(float('nan'))))


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_loss_names_epoch_iter_and_terms(bad):
    hook = HOOKS.build(dict(type='CheckInvalidLossHook'))
    outputs = dict(loss=torch.tensor(bad), loss_id=torch.tensor(bad),
                   loss_triplet=torch.tensor(0.5))
    with pytest.raises(FloatingPointError) as err:
        hook.after_train_iter(runner(), 0, outputs=outputs)
    msg = str(err.value)
    assert 'epoch 3' in msg and 'iteration 42' in msg
    assert 'loss_id=' in msg and 'loss_triplet=0.5' in msg
    assert '--resume' in msg and 'work_dirs/x' in msg
