"""ReID evaluation: ranking functions, the metric and CMC pictures."""
from .cmc_plot import plot_cmc  # noqa: F401
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .reid_results import load_reid_results  # noqa: F401
from .reid_results import make_reid_results  # noqa: F401
from .reid_results import results_distance  # noqa: F401
from .reid_results import results_distance_rows  # noqa: F401
from .reid_results import results_rank_metrics  # noqa: F401
