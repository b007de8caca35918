"""Pictures for people: ranked lists, CMC curves, pipeline grids.

Nothing here is imported by training or evaluation; matplotlib is imported
only when a plot is drawn.
"""
from .cmc_plot import plot_cmc_curves
from .image_grid import image_grid
from .ranked_list import COLORS, RankedListLayout, draw_ranked_list
from .ranked_results import (draw_query_result, rank_all_queries,
                             select_queries)

__all__ = [
    'COLORS', 'RankedListLayout', 'draw_query_result', 'draw_ranked_list',
    'image_grid', 'plot_cmc_curves', 'rank_all_queries', 'select_queries'
]
