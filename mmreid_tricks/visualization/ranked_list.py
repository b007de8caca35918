"""Draw one query and its ranked gallery images as a single picture.

Layout (all sizes in pixels, images in BGR as OpenCV reads them)::

    +------------------------------------------------------------+
    | title line                                                 |
    | [query]  ||  [#1] [#2] ... [#k]     each tile framed       |
    |  caption ||  caption lines under every tile                |
    +------------------------------------------------------------+

Frames: green for a correct match (same identity, other camera), red for a
wrong one, grey for an image the protocol ignores (same identity and same
camera), blue for the query. Captions repeat it in words ("match",
"wrong", "ignored") so the picture does not rely on colour alone.
"""
from typing import List, Sequence, Tuple

import cv2
import numpy as np

# BGR colours of the frames.
COLORS = dict(
    match=(40, 160, 40),
    wrong=(40, 40, 220),
    ignored=(150, 150, 150),
    query=(200, 120, 20))
KINDS = ('match', 'wrong', 'ignored')
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_TEXT = (30, 30, 30)
_BACKGROUND = 255


class RankedListLayout:
    """Sizes of a ranked-list picture.

    Args:
        tile_size (tuple[int]): ``(width, height)`` every image is resized
            to. Defaults to ``(128, 256)``.
        border (int): Frame width. Defaults to 6.
        gap (int): Space between tiles. Defaults to 8.
        line_height (int): Height of one caption line. Defaults to 18.
        caption_lines (int): Caption lines under each tile. Defaults to 3.
    """

    def __init__(self,
                 tile_size: Tuple[int, int] = (128, 256),
                 border: int = 6,
                 gap: int = 8,
                 line_height: int = 18,
                 caption_lines: int = 3) -> None:
        if min(tile_size) < 8 or border < 1 or gap < 0:
            raise ValueError('tile_size must be at least 8x8 and border '
                             f'positive, got {tile_size} and {border}')
        self.tile_w, self.tile_h = tile_size
        self.border = border
        self.gap = gap
        self.line_height = line_height
        self.caption_lines = caption_lines
        # The query is set apart from the ranked list by a wider gap.
        self.separator = 4 * gap

    @property
    def cell_w(self) -> int:
        return self.tile_w + 2 * self.border

    def tile_origin(self, index: int) -> Tuple[int, int]:
        """``(x, y)`` of the frame's top-left corner of tile ``index``;
        0 is the query, ``i >= 1`` the ``i``-th gallery tile."""
        x = self.gap + index * (self.cell_w + self.gap)
        if index > 0:
            x += self.separator
        return x, self.line_height + self.gap

    def canvas_size(self, num_gallery: int) -> Tuple[int, int]:
        """``(height, width)`` of the picture of ``num_gallery`` tiles."""
        x, y = self.tile_origin(num_gallery)
        width = x + self.cell_w + self.gap
        height = (
            y + self.tile_h + 2 * self.border +
            self.caption_lines * self.line_height + self.gap)
        return height, width


def _put_text(canvas: np.ndarray,
              text: str,
              x: int,
              y: int,
              color=_TEXT,
              max_width: int = 0) -> None:
    scale = 0.45
    if max_width:  # shrink long text to fit under its tile
        width = cv2.getTextSize(text, _FONT, scale, 1)[0][0]
        scale *= min(1.0, max_width / max(width, 1))
    cv2.putText(canvas, text, (x, y), _FONT, scale, color, 1, cv2.LINE_AA)


def _tile(img: np.ndarray, layout: RankedListLayout, kind: str) -> np.ndarray:
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    img = cv2.resize(
        img, (layout.tile_w, layout.tile_h), interpolation=cv2.INTER_LINEAR)
    if kind == 'ignored':  # greyed out: grey levels faded towards white
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        img = cv2.cvtColor(gray // 2 + 128, cv2.COLOR_GRAY2BGR)
    b = layout.border
    return cv2.copyMakeBorder(
        img, b, b, b, b, cv2.BORDER_CONSTANT, value=COLORS[kind])


def draw_ranked_list(query_img: np.ndarray,
                     query_caption: Sequence[str],
                     gallery_imgs: Sequence[np.ndarray],
                     kinds: Sequence[str],
                     captions: Sequence[Sequence[str]],
                     title: str = '',
                     layout: RankedListLayout = None) -> np.ndarray:
    """Compose the picture of one query and its ranked gallery.

    Args:
        query_img (np.ndarray): The query image, BGR ``[H, W, 3]`` (or
            grey ``[H, W]``).
        query_caption (Sequence[str]): Lines under the query.
        gallery_imgs (Sequence[np.ndarray]): The gallery images in ranked
            order, as the query image.
        kinds (Sequence[str]): ``'match'``, ``'wrong'`` or ``'ignored'``
            for each gallery image; sets the frame colour.
        captions (Sequence[Sequence[str]]): Lines under each gallery image.
        title (str): The line above the tiles. Defaults to ''.
        layout (RankedListLayout, optional): Sizes; the defaults of
            :class:`RankedListLayout` when None.

    Returns:
        np.ndarray: The picture, BGR uint8, of size
        ``layout.canvas_size(len(gallery_imgs))``.
    """
    layout = layout or RankedListLayout()
    if not len(gallery_imgs) == len(kinds) == len(captions):
        raise ValueError(f'got {len(gallery_imgs)} gallery images, '
                         f'{len(kinds)} kinds and {len(captions)} captions')
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f'kinds must be in {KINDS}, got {bad}')
    height, width = layout.canvas_size(len(gallery_imgs))
    canvas = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    if title:
        _put_text(
            canvas,
            title,
            layout.gap,
            layout.line_height - 4,
            max_width=width - 2 * layout.gap)
    tiles: List[Tuple[np.ndarray, str, Sequence[str]]] = [
        (query_img, 'query', query_caption)
    ] + list(zip(gallery_imgs, kinds, captions))
    for index, (img, kind, lines) in enumerate(tiles):
        x, y = layout.tile_origin(index)
        framed = _tile(img, layout, kind)
        canvas[y:y + framed.shape[0], x:x + framed.shape[1]] = framed
        text_y = y + framed.shape[0]
        for line in list(lines)[:layout.caption_lines]:
            text_y += layout.line_height
            color = COLORS[kind] if kind != 'ignored' else _TEXT
            _put_text(canvas, line, x, text_y - 5, color, layout.cell_w)
    # A vertical rule between the query and its ranked list.
    x0 = layout.tile_origin(0)[0] + layout.cell_w
    x = x0 + (layout.tile_origin(1)[0] - x0) // 2
    y = layout.tile_origin(0)[1]
    cv2.line(canvas, (x, y), (x, y + layout.tile_h + 2 * layout.border),
             (180, 180, 180), 2)
    return canvas
