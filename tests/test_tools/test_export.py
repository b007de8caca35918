"""tools/deployment/export.py: ONNX (needs the `deploy` extra) and
TorchScript exports agree with PyTorch on the tiny synthetic test set."""
import importlib.util

import pytest
import torch
from test_e2e.utils import TINY_CONFIG
from test_tools.utils import load_tool

DEPLOY = ('onnx', 'onnxscript', 'onnxruntime')
MISSING = [m for m in DEPLOY if importlib.util.find_spec(m) is None]


@pytest.mark.parametrize('fmt', [
    pytest.param(
        'onnx',
        marks=pytest.mark.skipif(
            bool(MISSING),
            reason=f'{MISSING} not installed: pip install -e ".[deploy]"')),
    'torchscript'
])
def test_export_matches_pytorch(tiny, tmp_path, fmt):
    tool = load_tool('deployment/export.py')
    out = str(tmp_path / f'model.{fmt}')
    report = tool.main([
        TINY_CONFIG, tiny['checkpoint'], '--format', fmt, '--out', out,
        '--cfg-options', *tiny['options']
    ])
    assert report['max_abs_diff'] <= 1e-4
    assert report['same_topk'] == report['num_queries'] > 0
    # The batch axis is dynamic: 3 images, though exported with 2.
    run = tool.load_exported(fmt, out)
    assert run(torch.rand(3, 3, 128, 64).numpy() * 255).shape == (3, 128)


def test_checkpoint_of_another_model_is_refused(tiny, tmp_path):
    tool = load_tool('deployment/export.py')
    state = torch.load(tiny['checkpoint'], weights_only=True)
    state['state_dict']['head.classifier.weight'] = torch.zeros(7, 128)
    bad = str(tmp_path / 'other.pth')
    torch.save(state, bad)
    with pytest.raises(ValueError, match='does not fit the model'):
        tool.main([
            TINY_CONFIG, bad, '--format', 'torchscript', '--out',
            str(tmp_path / 'm.pt'), '--no-check'
        ])
