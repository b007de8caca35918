from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, build_optim_wrapper

# Imported for its registration, whatever the package's __init__ imports.
from mmreid_tricks.engine.optimizers.cpu_bf16_optim_wrapper import \
    CPUBF16OptimWrapper
from mmreid_tricks.registry import OPTIM_WRAPPERS


def tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def test_build_from_registry_and_builder():
    model = tiny_model()
    wrapper = OPTIM_WRAPPERS.build(
        dict(
            type='CPUBF16OptimWrapper',
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, CPUBF16OptimWrapper)
    assert isinstance(wrapper, OptimWrapper)

    wrapper = build_optim_wrapper(
        model,
        dict(type='CPUBF16OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)))
    assert isinstance(wrapper, CPUBF16OptimWrapper)
    assert isinstance(wrapper.optimizer, torch.optim.Adam)


def test_forward_runs_in_bf16_inside_context_only():
    model = tiny_model()
    wrapper = CPUBF16OptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    inputs = torch.randn(4, 8)
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        out = model(inputs)
    assert out.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled('cpu')
    assert model(inputs).dtype == torch.float32


def test_update_params_keeps_float32_weights():
    model = tiny_model()
    wrapper = build_optim_wrapper(
        model,
        dict(type='CPUBF16OptimWrapper', optimizer=dict(type='Adam', lr=1e-2)))
    inputs, targets = torch.randn(16, 8), torch.randint(0, 2, (16, ))
    before = [p.detach().clone() for p in model.parameters()]
    losses = []
    for _ in range(20):
        with wrapper.optim_context(model):
            loss = nn.functional.cross_entropy(model(inputs), targets)
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for old, new in zip(before, model.parameters()):
        assert new.dtype == torch.float32
        assert not torch.equal(old, new)
        assert new.grad is None or not new.grad.any()


class NoSyncModel(nn.Sequential):
    """A model with DDP's ``no_sync``, recording when it is entered."""

    def __init__(self):
        super().__init__(nn.Linear(8, 2))
        self.no_sync_calls = 0

    @contextmanager
    def no_sync(self):
        self.no_sync_calls += 1
        yield


def test_parent_context_blocks_sync_while_accumulating():
    model = NoSyncModel()
    wrapper = CPUBF16OptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 4)
    with wrapper.optim_context(model):
        assert model(torch.randn(2, 8)).dtype == torch.bfloat16
    assert model.no_sync_calls == 1
