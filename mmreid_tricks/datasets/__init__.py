from .market1501 import Market1501
from .samplers import *  # noqa: F401,F403
from .synthetic import SyntheticMarket1501, generate_synthetic_market1501
from .transforms import *  # noqa: F401,F403

__all__ = [
    'Market1501', 'SyntheticMarket1501', 'generate_synthetic_market1501'
]
