"""CMC curves of one or several evaluations on one plot."""
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np


def plot_cmc_curves(curves: Dict[str, Sequence[float]],
                    out_file: str,
                    title: Optional[str] = None,
                    dpi: int = 120) -> None:
    """Draw CMC curves (rank 1..N, in percent) to a PNG.

    Args:
        curves (dict[str, Sequence[float]]): One curve per label, each the
            CMC values at ranks 1..N as fractions in [0, 1].
        out_file (str): The image file written (``.png``, ``.pdf``,
            ``.svg``, as matplotlib's ``savefig``).
        title (str, optional): Plot title. Defaults to None.
        dpi (int): Resolution. Defaults to 120.
    """
    if not curves:
        raise ValueError('no CMC curve to plot')
    import matplotlib
    matplotlib.use('Agg')  # files only, no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    markers = 'osD^vP*X'
    for i, (label, cmc) in enumerate(curves.items()):
        cmc = 100 * np.asarray(cmc, dtype=np.float64)
        if cmc.ndim != 1 or len(cmc) == 0:
            raise ValueError(f'CMC of {label!r} must be a non-empty 1-D '
                             f'sequence, got shape {cmc.shape}')
        ranks = np.arange(1, len(cmc) + 1)
        ax.plot(ranks, cmc, marker=markers[i % len(markers)],
                markevery=[r for r in (0, 4, 9, 19, 49) if r < len(cmc)],
                label=f'{label} (R1 {cmc[0]:.1f}%)')
    ax.set_xlabel('rank')
    ax.set_ylabel('matching rate (%)')
    ax.set_xlim(1, max(len(c) for c in curves.values()))
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    # Below the axes: inside, it would hide the low curves of weak models
    # or the high ones of strong models.
    ax.legend(loc='upper center', bbox_to_anchor=(0.5, -0.14), ncol=2,
              fontsize='small', frameon=False)
    if title:
        ax.set_title(title)
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    fig.savefig(out_file, dpi=dpi, bbox_inches='tight')
    plt.close(fig)
