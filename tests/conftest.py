import pytest
from mmengine.registry import DefaultScope

import mmreid_tricks


@pytest.fixture(autouse=True)
def reid_scope():
    """Build modules in the mmreid_tricks scope, as our configs do."""
    mmreid_tricks.register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmreid_tricks'):
        yield
