"""Pictures for people: ranked lists and pipeline grids (CMC curves are
drawn by ``mmreid_tricks.evaluation.plot_cmc``).

Nothing here is imported by training or evaluation.
"""
from .image_grid import image_grid
from .ranked_list import COLORS, RankedListLayout, draw_ranked_list
from .ranked_results import draw_query_result, rank_all_queries, select_queries

__all__ = [
    'COLORS', 'RankedListLayout', 'draw_query_result', 'draw_ranked_list',
    'image_grid', 'rank_all_queries', 'select_queries'
]
