"""A grid of equally sized images with a title above each column."""
from typing import Sequence

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def image_grid(rows: Sequence[Sequence[np.ndarray]],
               column_titles: Sequence[str],
               tile_size=(128, 256),
               gap: int = 6,
               title_height: int = 36) -> np.ndarray:
    """Lay out images in rows, every image resized to ``tile_size``.

    Args:
        rows (Sequence[Sequence[np.ndarray]]): The images, BGR (or grey)
            uint8; every row has one image per column.
        column_titles (Sequence[str]): One title per column; a title with
            ``'\\n'`` takes two lines.
        tile_size (tuple[int]): ``(width, height)`` of each cell.
            Defaults to ``(128, 256)``.
        gap (int): Space between cells. Defaults to 6.
        title_height (int): Height of the title band. Defaults to 36.

    Returns:
        np.ndarray: BGR uint8, of height
        ``title_height + len(rows) * (h + gap)`` and width
        ``len(column_titles) * (w + gap) + gap``.
    """
    width, height = tile_size
    num_cols = len(column_titles)
    if any(len(row) != num_cols for row in rows):
        raise ValueError(f'every row needs {num_cols} images (one per '
                         f'column title), got {[len(r) for r in rows]}')
    canvas = np.full((title_height + len(rows) * (height + gap), num_cols *
                      (width + gap) + gap, 3), 255, np.uint8)
    for c, title in enumerate(column_titles):
        x = gap + c * (width + gap)
        for line_no, line in enumerate(title.split('\n')[:2]):
            scale = 0.42
            text_w = cv2.getTextSize(line, _FONT, scale, 1)[0][0]
            scale *= min(1.0, width / max(text_w, 1))
            cv2.putText(canvas, line, (x, 14 + 16 * line_no), _FONT, scale,
                        (30, 30, 30), 1, cv2.LINE_AA)
    for r, row in enumerate(rows):
        y = title_height + r * (height + gap)
        for c, img in enumerate(row):
            if img.ndim == 2:
                img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
            x = gap + c * (width + gap)
            canvas[y:y + height, x:x + width] = cv2.resize(
                np.ascontiguousarray(img[..., :3]), (width, height),
                interpolation=cv2.INTER_NEAREST)
    return canvas
