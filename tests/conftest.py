import os
import time

# Before torch loads OpenMP, as tools/train.py does: idle OpenMP threads
# spin briefly, then sleep, which keeps the suite from crawling on a busy
# CPU. The trainings the tests start as subprocesses inherit it.
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '10000'

import pytest  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmreid_tricks  # noqa: E402


@pytest.fixture(autouse=True)
def reid_scope():
    """Build modules in the mmreid_tricks scope, as our configs do."""
    mmreid_tricks.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmreid_tricks'):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Say when a slow (training) test starts and how long it took, so a
    long run shows progress between pytest's dots."""
    reporter = item.config.pluginmanager.get_plugin('terminalreporter')
    if item.get_closest_marker('slow') is None or reporter is None:
        yield
        return
    start = time.time()
    reporter.write_line(f'[slow] {item.nodeid} ...')
    yield
    reporter.write_line(
        f'[slow] {item.nodeid} finished in {time.time() - start:.0f} s')
