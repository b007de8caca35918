from .cuhk03_np import CUHK03NP
from .dukemtmc_reid import DukeMTMCReID
from .list_dataset import ReIDListDataset
from .market1501 import Market1501
from .msmt17 import MSMT17
from .samplers import *  # noqa: F401,F403
from .synthetic import SyntheticMarket1501, generate_synthetic_market1501
from .transforms import *  # noqa: F401,F403

__all__ = [
    'CUHK03NP', 'DukeMTMCReID', 'MSMT17', 'Market1501', 'ReIDListDataset',
    'SyntheticMarket1501', 'generate_synthetic_market1501'
]
