"""Drawing primitives and the cameras' backgrounds."""
from typing import Tuple

import numpy as np
from PIL import Image, ImageDraw

Box = Tuple[float, float, float, float]


def jitter_colour(rng: np.random.Generator, colour: np.ndarray,
                  scale: float) -> Tuple[int, int, int]:
    """A palette colour moved a little, as a PIL fill.

    Args:
        rng (np.random.Generator): Source of the jitter.
        colour (np.ndarray): RGB colour, shape (3, ).
        scale (float): Standard deviation of the jitter per channel.

    Returns:
        tuple[int, int, int]: The colour, clipped to [0, 255].
    """
    c = np.clip(colour + rng.normal(0, scale, 3), 0, 255)
    return tuple(int(v) for v in c)


def ordered(box: Box) -> Box:
    """A box with x0 <= x1 and y0 <= y1, as PIL requires.

    Tiny images can flip a computed box.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def rectangle(draw: ImageDraw.ImageDraw, box: Box, fill: tuple) -> None:
    """Fill a rectangle given as (x0, y0, x1, y1) in any corner order."""
    draw.rectangle(ordered(box), fill=fill)


def ellipse(draw: ImageDraw.ImageDraw, box: Box, fill: tuple) -> None:
    """Fill the ellipse inscribed in a box given in any corner order."""
    draw.ellipse(ordered(box), fill=fill)


def _random_fill(rng: np.random.Generator) -> Tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(20, 236, 3))


def _draw_indoor(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                 colours: list, h: int, w: int) -> None:
    """A tiled floor below a wall with doors and windows."""
    horizon = int(h * rng.uniform(0.45, 0.75))
    rectangle(draw, (0, horizon, w, h), fill=colours[1])
    tile = int(rng.integers(6, 16))
    for y in range(horizon, h, tile):
        draw.line((0, y, w, y), fill=colours[2])
    for x in range(0, w, tile * 2):
        draw.line((x, horizon, x + tile, h), fill=colours[2])
    for _ in range(int(rng.integers(2, 5))):  # doors and windows
        x0 = int(rng.integers(0, w - 10))
        y0 = int(rng.integers(0, max(1, horizon - 20)))
        rectangle(
            draw, (x0, y0, x0 + int(rng.integers(8, 30)),
                   y0 + int(rng.integers(10, 40))),
            fill=colours[3])


def _draw_street(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                 colours: list, h: int, w: int) -> None:
    """A pavement and a kerb below shop fronts and poles."""
    kerb = int(h * rng.uniform(0.55, 0.8))
    rectangle(draw, (0, kerb, w, h), fill=colours[1])
    rectangle(draw, (0, kerb, w, kerb + 3), fill=colours[3])
    x = 0
    while x < w:  # shop fronts and poles
        step = int(rng.integers(8, 28))
        fill = _random_fill(rng)
        rectangle(draw, (x, 0, x + step, kerb), fill=fill)
        rectangle(draw, (x, 0, x + 2, kerb), fill=colours[2])
        x += step


def _draw_foliage(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                  colours: list, h: int, w: int) -> None:
    """Sixty leaves of the scene's colours."""
    for _ in range(60):
        cx, cy = rng.integers(0, w), rng.integers(0, h)
        r = int(rng.integers(4, 16))
        base = np.array(colours[1 + int(rng.integers(3))], np.float32)
        ellipse(
            draw, (cx - r, cy - r, cx + r, cy + r),
            fill=jitter_colour(rng, base, 20))


SCENE_PAINTERS = dict(
    indoor=_draw_indoor, street=_draw_street, foliage=_draw_foliage)


def draw_background(rng: np.random.Generator, kind: str, height: int,
                    width: int) -> np.ndarray:
    """Render a camera's scene, a quarter higher and three times wider than
    a crop, so that crops of it vary.

    Args:
        rng (np.random.Generator): Source of the scene.
        kind (str): ``'indoor'``, ``'street'``, ``'foliage'`` or
            ``'gradient'``.
        height (int): Crop height.
        width (int): Crop width.

    Returns:
        np.ndarray: The scene, float32 RGB of shape
        (height + height // 4, 3 * width, 3).
    """
    h, w = height + height // 4, width * 3
    colours = [_random_fill(rng) for _ in range(4)]
    if kind == 'gradient':
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        arr = (1 - t) * np.array(colours[0], np.float32) + t * np.array(
            colours[1], np.float32)
        return np.broadcast_to(arr, (h, w, 3)).astype(np.float32)
    img = Image.new('RGB', (w, h), colours[0])
    SCENE_PAINTERS[kind](ImageDraw.Draw(img), rng, colours, h, w)
    return np.asarray(img, dtype=np.float32)
