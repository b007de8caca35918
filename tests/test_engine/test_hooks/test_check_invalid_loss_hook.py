from types import SimpleNamespace

import pytest
import torch

from mmreid_tricks.registry import HOOKS


def runner(work_dir='work_dirs/x'):
    return SimpleNamespace(epoch=2, iter=41, work_dir=str(work_dir))


def test_finite_loss_passes():
    hook = HOOKS.build(dict(type='CheckInvalidLossHook'))
    hook.after_train_iter(
        runner(),
        0,
        outputs=dict(
            loss=torch.tensor(1.0), accuracy=torch.tensor(float('nan'))))


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_non_finite_loss_names_epoch_iter_and_terms(bad, tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    hook = HOOKS.build(dict(type='CheckInvalidLossHook'))
    outputs = dict(
        loss=torch.tensor(bad),
        loss_id=torch.tensor(bad),
        loss_triplet=torch.tensor(0.5))
    with pytest.raises(FloatingPointError) as err:
        hook.after_train_iter(runner(tmp_path), 0, outputs=outputs)
    msg = str(err.value)
    assert 'epoch 3' in msg and 'iteration 42' in msg
    assert 'loss_id=' in msg and 'loss_triplet=0.5' in msg
    assert '--resume' in msg and str(tmp_path) in msg


def test_no_resume_suggested_before_the_first_checkpoint(tmp_path):
    hook = HOOKS.build(dict(type='CheckInvalidLossHook'))
    outputs = dict(loss=torch.tensor(float('nan')))
    with pytest.raises(FloatingPointError) as err:
        hook.after_train_iter(runner(tmp_path), 0, outputs=outputs)
    msg = str(err.value)
    assert '--resume' not in msg
    assert f'no checkpoint has been saved in {tmp_path}' in msg
