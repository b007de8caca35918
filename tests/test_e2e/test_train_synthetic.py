"""End to end: the real pipeline, sampler, losses, scheduler and metric
train a small model on a tiny synthetic set, and mAP clearly improves."""
import pytest
from mmengine.runner import Runner

from .utils import tiny_config


@pytest.mark.slow
def test_training_improves_map(tmp_path):
    # One checkpoint at the end: saving one every epoch is 1/4 of the time.
    cfg = tiny_config(
        str(tmp_path / 'data'), str(tmp_path / 'work'),
        **{'default_hooks.checkpoint.interval': 20})
    runner = Runner.from_cfg(cfg)
    untrained = runner.val()
    runner.train()
    trained = runner.val()
    print(f'untrained {untrained}\ntrained {trained}')
    before, after = untrained['reid/mAP'], trained['reid/mAP']
    assert after > max(2 * before, before + 8)
    assert trained['reid/R1'] > untrained['reid/R1'] + 5
    # Rank-k is monotone and mINP <= mAP.
    assert trained['reid/R1'] <= trained['reid/R5'] <= trained['reid/R10']
    assert trained['reid/mINP'] <= trained['reid/mAP']
