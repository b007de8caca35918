"""Pure torch functions of ReID evaluation."""
from .cuhk03_protocol import rank_metrics_cuhk03
from .distances import DistanceRows, distance_rows_fn, pairwise_distance
from .identity_layout import IdentityLayout
from .query_expansion import average_query_expansion
from .ranked_list import query_scores, ranked_gallery
from .ranking import rank_metrics, rank_metrics_from_features
from .rerank import k_reciprocal_rerank, k_reciprocal_rerank_fn

__all__ = [
    'DistanceRows', 'IdentityLayout', 'average_query_expansion',
    'distance_rows_fn', 'k_reciprocal_rerank', 'k_reciprocal_rerank_fn',
    'pairwise_distance', 'query_scores', 'rank_metrics', 'rank_metrics_cuhk03',
    'rank_metrics_from_features', 'ranked_gallery'
]
