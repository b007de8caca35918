"""A picture of one or several CMC curves, for visualizer backends and
tools."""
from typing import Mapping, Sequence, Union

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

Curve = Union[Tensor, np.ndarray, Sequence[float]]


def plot_cmc(curves: Mapping[str, Curve],
             title: str = 'CMC',
             size: tuple = (6.4, 4.8),
             dpi: int = 100) -> np.ndarray:
    """Draw CMC curves (matching rate against rank) on one plot.

    Drawn without pyplot, so no global figure state and no display is
    involved.

    Args:
        curves (Mapping[str, Tensor | np.ndarray | Sequence[float]]): A
            legend label and the curve, in percent: ``curve[k - 1]`` is the
            rank-k matching rate (as ``ReIDMetric.last_results['cmc']``).
        title (str): Title of the plot. Defaults to ``'CMC'``.
        size (tuple): Figure size in inches. Defaults to ``(6.4, 4.8)``.
        dpi (int): Pixels per inch. Defaults to 100.

    Returns:
        np.ndarray: The picture, RGB uint8, shape
        ``[size[1] * dpi, size[0] * dpi, 3]``.
    """
    if not curves:
        raise ValueError('plot_cmc needs at least one curve')
    figure = Figure(figsize=size, dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, curve in curves.items():
        values = np.asarray(curve, dtype=np.float64)
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f'CMC curve {label!r} must be a non-empty 1-D '
                             f'sequence, got shape {values.shape}')
        ranks = np.arange(1, len(values) + 1)
        axes.plot(
            ranks,
            values,
            marker='.',
            label=f'{label} '
            f'(R1 {values[0]:.1f})')
    axes.set_xlabel('rank')
    axes.set_ylabel('matching rate (%)')
    axes.set_ylim(top=101)  # room for the markers at 100
    axes.grid(True, alpha=0.3)
    axes.legend(loc='lower right')
    axes.set_title(title)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
