"""Rendering one image: a crop of the camera's scene, clutter, the person,
an occluder, then the camera's optics."""
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .appearance import VIEWS
from .drawing import rectangle
from .person import draw_person


def _random_colour(rng: np.random.Generator) -> Tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _crop_scene(rng: np.random.Generator, cam: dict, height: int,
                width: int) -> Image.Image:
    """A random crop of the camera's scene, its brightness varied."""
    bg = cam['background']
    y0 = int(rng.integers(0, bg.shape[0] - height + 1))
    x0 = int(rng.integers(0, bg.shape[1] - width + 1))
    arr = bg[y0:y0 + height, x0:x0 + width] * rng.uniform(0.85, 1.15)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _draw_clutter(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                  height: int, width: int) -> None:
    """Up to two rectangles behind the person."""
    for _ in range(int(rng.integers(0, 3))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(0.06, 0.3) * width, rng.uniform(0.03, 0.25) * height
        rectangle(draw, (x, y, x + w, y + h), fill=_random_colour(rng))


def _place_person(rng: np.random.Generator, cam: dict, ident: dict,
                  height: int, width: int,
                  kind: str) -> Tuple[float, float, float]:
    """Centre x, top y and height of the person in the crop.

    A ``'partial'`` box misses most of the body, as a bad detection does; a
    ``'junk'`` one shows a small, far-off person.
    """
    hp = height * cam['scale'] * ident['height'] * rng.uniform(0.95, 1.05)
    top = (height - hp) / 2 + rng.normal(0, 0.03 * height)
    cx = width / 2 + rng.normal(0, 0.06 * width)
    if kind == 'partial':
        cx += rng.choice((-1, 1)) * rng.uniform(0.35, 0.6) * width
        top += rng.uniform(-0.4, 0.4) * height
    elif kind == 'junk':
        hp *= rng.uniform(0.3, 0.6)
        top = rng.uniform(0, height - hp)
    return cx, top, hp


def _draw_occluder(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                   height: int, width: int) -> None:
    """Something low in front (a car, a bin), or at one side (a pole, a
    passer-by)."""
    if rng.random() < 0.5:
        h = rng.uniform(0.2, 0.45) * height
        box = (0, height - h, width, height)
    else:
        w = rng.uniform(0.2, 0.4) * width
        x = rng.choice((0.0, width - w))
        box = (x, 0, x + w, height)
    rectangle(draw, box, fill=_random_colour(rng))


def _apply_optics(img: Image.Image, rng: np.random.Generator, cam: dict,
                  kind: str) -> Image.Image:
    """Blur, then the camera's response, cast and haze, then noise; junk is
    blurred more and badly exposed."""
    radius = cam['blur'] + rng.uniform(0, 0.4) + (1.5 if kind == 'junk' else 0)
    if radius > 0.3:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    x = np.asarray(img, dtype=np.float32) / 255
    gain = cam['gain'] * rng.uniform(0.85, 1.15)
    if kind == 'junk':
        gain *= rng.choice((0.3, 2.0))
    x = x**cam['gamma'] * gain * cam['cast'] * rng.uniform(0.95, 1.05, 3)
    x = (1 - cam['haze']) * x * 255 + cam['haze'] * cam['haze_colour']
    x += rng.normal(0, cam['noise'], x.shape)
    return Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))


def render(rng: np.random.Generator,
           cam: dict,
           height: int,
           width: int,
           ident: Optional[dict],
           occlusion_prob: float,
           kind: str = 'person') -> Tuple[Image.Image, int]:
    """Render one image as seen by one camera.

    Args:
        rng (np.random.Generator): Source of every per-image choice.
        cam (dict): Camera from :func:`~.appearance.sample_camera`.
        height (int): Image height.
        width (int): Image width.
        ident (dict, optional): The person to draw; None draws none.
        occlusion_prob (float): Chance of a rectangle hiding part of them.
        kind (str): ``'person'``, ``'partial'`` (a badly placed box that
            cuts the person off, for distractors) or ``'junk'`` (tiny or
            far off, badly exposed).

    Returns:
        tuple: The image and the JPEG quality to save it with.
    """
    img = _crop_scene(rng, cam, height, width)
    draw = ImageDraw.Draw(img)
    _draw_clutter(draw, rng, height, width)
    if ident is not None:
        box = _place_person(rng, cam, ident, height, width, kind)
        view = VIEWS[rng.choice(len(VIEWS), p=cam['views'])]
        draw_person(draw, rng, ident, view, box, width)
        if rng.random() < occlusion_prob:
            _draw_occluder(draw, rng, height, width)
    img = _apply_optics(img, rng, cam, kind)
    return img, int(rng.integers(60, 96))
