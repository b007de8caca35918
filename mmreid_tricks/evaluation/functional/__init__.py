"""Pure torch functions of ReID evaluation."""
from .cuhk03_protocol import rank_metrics_cuhk03
from .ranking import (pairwise_distance, rank_metrics,
                      rank_metrics_from_features)

__all__ = [
    'pairwise_distance', 'rank_metrics', 'rank_metrics_cuhk03',
    'rank_metrics_from_features'
]
