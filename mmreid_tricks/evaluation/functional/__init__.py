"""Pure torch functions of ReID evaluation."""
from .ranking import (pairwise_distance, rank_metrics,
                      rank_metrics_from_features)

__all__ = ['pairwise_distance', 'rank_metrics', 'rank_metrics_from_features']
