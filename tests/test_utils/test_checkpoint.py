"""The allow-list checkpoint loader: genuine mmengine checkpoints load with
no warning, payloads are refused before they run, opting in works, broken
files are named, and importing the package installs nothing."""
import builtins
import os
import os.path as osp
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader

from mmreid_tricks.utils import (UnreadableCheckpointError,
                                 UntrustedCheckpointError,
                                 install_checkpoint_loader,
                                 load_from_local_safe,
                                 restore_checkpoint_loader)
from mmreid_tricks.utils.checkpoint import TRUST_ENV

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class WriteMarker:
    """Unpickling it writes ``marker`` (through ``builtins.exec``)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f'open({self.marker!r}, "w").write("ran")', ))


class OsSystem:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class GetattrEscape:
    """A getattr other than HistoryBuffer's statistics methods."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, 'register_statistics'))


def mmengine_checkpoint(prefix=''):
    """What ``Runner.save_checkpoint`` writes: weights (DDP's ``module.``
    prefix when asked), a message hub with HistoryBuffers of numpy values,
    the optimizer state and meta with numpy data."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.ones(3, 4)).sum().backward()
    optimizer.step()
    hub = MessageHub.get_instance('test_checkpoint_hub')
    for step in range(3):
        hub.update_scalar('train/loss', np.float64(1.5 - step))
        hub.update_scalar('train/lr', 0.1)
        hub.update_scalar('val/reid/mAP', np.float32(50.0))
    hub.update_info('keep_ckpt_ids', [1, 2])
    hub.update_info('best_score', np.float64(50.0))
    state = {prefix + k: v for k, v in model.state_dict().items()}
    return dict(
        meta=dict(
            epoch=2,
            iter=10,
            seed=0,
            dataset_meta=dict(classes=np.arange(3), num_pids=3)),
        state_dict=state,
        message_hub=hub.state_dict(),
        optimizer=optimizer.state_dict(),
        param_schedulers=[dict(last_epoch=2, base_lrs=[0.1])])


def load_quietly(path):
    """Load, and return the checkpoint with every warning raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        checkpoint = load_from_local_safe(str(path), map_location='cpu')
    return checkpoint, [str(w.message) for w in caught]


@pytest.fixture(autouse=True)
def untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


@pytest.mark.parametrize('prefix', ['', 'module.'])
def test_genuine_checkpoint_loads_without_warning(tmp_path, prefix):
    path = tmp_path / 'epoch_2.pth'
    saved = mmengine_checkpoint(prefix)
    torch.save(saved, path)
    loaded, caught = load_quietly(path)
    assert caught == []
    assert loaded['meta']['epoch'] == 2
    assert set(loaded['state_dict']) == {prefix + 'weight', prefix + 'bias'}
    # The message hub resumes: buffers, their statistics, the numpy values.
    hub = MessageHub.get_instance('test_checkpoint_resumed')
    hub.load_state_dict(loaded['message_hub'])
    loss = hub.get_scalar('train/loss')
    assert loss.mean() == pytest.approx(0.5)
    assert loss.min() == pytest.approx(-0.5)
    assert loss.current() == pytest.approx(-0.5)
    assert hub.get_info('keep_ckpt_ids') == [1, 2]
    assert loaded['optimizer']['state'][0]['step'] == 1
    np.testing.assert_array_equal(loaded['meta']['dataset_meta']['classes'],
                                  np.arange(3))


def test_legacy_format(tmp_path):
    """torch's pre-1.6 format (older torchvision weights) loads too."""
    path = tmp_path / 'legacy.pth'
    legacy = dict(_use_new_zipfile_serialization=False)
    torch.save(mmengine_checkpoint(), path, **legacy)
    loaded, caught = load_quietly(path)
    assert caught == [] and loaded['meta']['epoch'] == 2
    marker = tmp_path / 'marker'
    torch.save(dict(x=WriteMarker(str(marker))), path, **legacy)
    with pytest.raises(UntrustedCheckpointError, match='exec'):
        load_from_local_safe(str(path))
    assert not marker.exists()
    torch.save(mmengine_checkpoint(), path, **legacy)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(UnreadableCheckpointError, match='legacy.pth'):
        load_from_local_safe(str(path))


def test_numpy_1_names_load(tmp_path):
    """numpy 1.x pickles ``numpy.core.multiarray``; numpy 2 renamed it."""
    path = tmp_path / 'numpy1.pth'
    torch.save(mmengine_checkpoint(), path)
    old = tmp_path / 'numpy1_names.pth'
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, 'w') as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith('data.pkl'):
                assert b'numpy._core.multiarray\n' in data
                data = data.replace(b'numpy._core.multiarray\n',
                                    b'numpy.core.multiarray\n')
            dst.writestr(item, data)
    loaded, caught = load_quietly(old)
    assert caught == []
    assert loaded['meta']['dataset_meta']['num_pids'] == 3


@pytest.mark.parametrize('payload,name', [(WriteMarker, 'builtins.exec'),
                                          (OsSystem, 'system')])
def test_payload_is_refused_and_does_not_run(tmp_path, payload, name):
    marker = tmp_path / 'marker'
    checkpoint = mmengine_checkpoint()
    checkpoint['meta']['note'] = payload(str(marker))
    path = tmp_path / 'evil.pth'
    torch.save(checkpoint, path)
    with pytest.raises(UntrustedCheckpointError) as err:
        load_from_local_safe(str(path))
    message = str(err.value)
    assert str(path) in message and name in message and TRUST_ENV in message
    assert not marker.exists()


def test_getattr_is_restricted(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save(dict(x=GetattrEscape()), path)
    with pytest.raises(UntrustedCheckpointError, match='register_statistics'):
        load_from_local_safe(str(path))


def test_opt_in_runs_a_trusted_file(tmp_path, monkeypatch):
    marker = tmp_path / 'marker'
    path = tmp_path / 'trusted.pth'
    torch.save(dict(x=WriteMarker(str(marker))), path)
    monkeypatch.setenv(TRUST_ENV, '1')
    load_from_local_safe(str(path))
    assert marker.read_text() == 'ran'


def test_add_safe_globals_opts_in_one_global(tmp_path):
    path = tmp_path / 'own_class.pth'
    torch.save(dict(x=torch.nn.Identity()), path)
    with pytest.raises(UntrustedCheckpointError, match='Identity'):
        load_from_local_safe(str(path))
    with torch.serialization.safe_globals([torch.nn.Identity]):
        assert isinstance(
            load_from_local_safe(str(path))['x'], torch.nn.Identity)


def test_broken_files_are_named(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(mmengine_checkpoint(), good)
    data = good.read_bytes()
    empty, truncated, flipped, cut_pickle = (
        tmp_path / name for name in ('empty.pth', 'truncated.pth',
                                     'flipped.pth', 'cut_pickle.pth'))
    empty.write_bytes(b'')
    truncated.write_bytes(data[:len(data) // 2])
    # One bit of a weight flipped: the zip directory is intact, a CRC not.
    with zipfile.ZipFile(good) as archive:
        record = next(i for i in archive.infolist()
                      if i.filename.endswith('/data/0'))
    # The data follow the local header (30 bytes, name, extra field).
    head = record.header_offset
    name_len = int.from_bytes(data[head + 26:head + 28], 'little')
    extra_len = int.from_bytes(data[head + 28:head + 30], 'little')
    offset = head + 30 + name_len + extra_len
    flipped.write_bytes(data[:offset] + bytes([data[offset] ^ 1]) +
                        data[offset + 1:])
    # A pickle cut short inside a consistent zip.
    with zipfile.ZipFile(good) as src, \
            zipfile.ZipFile(cut_pickle, 'w') as dst:
        for item in src.infolist():
            record = src.read(item)
            if item.filename.endswith('data.pkl'):
                record = record[:len(record) // 2]
            dst.writestr(item, record)
    cases = [(empty, 'empty'), (truncated, 'truncated'), (flipped, 'CRC'),
             (cut_pickle, 'corrupt')]
    for path, why in cases:
        with pytest.raises(UnreadableCheckpointError) as err:
            load_from_local_safe(str(path))
        assert str(path) in str(err.value), why
        assert why in str(err.value)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_from_local_safe(str(tmp_path / 'missing.pth'))


def test_install_and_restore(tmp_path):
    original = CheckpointLoader._get_checkpoint_loader('')
    previous = install_checkpoint_loader()
    try:
        assert previous is original
        assert CheckpointLoader._get_checkpoint_loader('x.pth') is \
            load_from_local_safe
        # URLs keep their own loaders.
        assert CheckpointLoader._get_checkpoint_loader(
            'https://x/y.pth') is not load_from_local_safe
    finally:
        restore_checkpoint_loader(previous)
    assert CheckpointLoader._get_checkpoint_loader('x.pth') is original


def test_import_installs_nothing():
    code = ('from mmengine.runner import CheckpointLoader as C;'
            "before = C._get_checkpoint_loader('');"
            'import mmreid_tricks;'
            "assert C._get_checkpoint_loader('') is before, 'replaced'")
    out = subprocess.run([sys.executable, '-c', code],
                         env=dict(os.environ, PYTHONPATH=REPO),
                         capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-2000:]
