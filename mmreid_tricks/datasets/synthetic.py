"""A synthetic pedestrian data set in the layout of Market-1501.

It lets the whole pipeline (data, sampler, model, metric) run without the
real data. Identities differ by clothing colours and patterns, body
proportions, hair, skin, headwear and carried bags; cameras differ by
background, illumination, colour cast, blur, noise, scale and the viewpoints
they see. Colours are drawn from small shared palettes and the cameras' casts
are strong, so colour statistics alone do not solve it; a CNN has to learn
which cues survive a change of camera.
"""
import json
import os
import os.path as osp
import shutil
import uuid
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log
from PIL import Image, ImageDraw, ImageFilter

from mmreid_tricks.registry import DATASETS
from .market1501 import SPLIT_DIRS, Market1501

# Bump when the rendering changes, so that old folders are not mistaken for
# new ones.
GENERATOR_VERSION = 1
MARKER_FILE = '.synthetic_done'

# Shared palettes: many identities wear the same colours, as people do.
UPPER_COLOURS = np.array([(25, 25, 28), (235, 235, 230), (128, 128, 128),
                          (30, 40, 90), (50, 90, 170), (170, 30, 35),
                          (100, 20, 30), (40, 110, 50), (110, 110, 50),
                          (200, 180, 140), (110, 70, 40), (220, 200, 50),
                          (220, 140, 170), (100, 50, 130), (230, 120, 40),
                          (30, 120, 120)],
                         dtype=np.float32)
LOWER_COLOURS = np.array([(25, 25, 28), (30, 40, 80), (60, 90, 150),
                          (110, 110, 115), (190, 170, 130), (100, 70, 45),
                          (225, 225, 220), (70, 80, 50)],
                         dtype=np.float32)
HAIR_COLOURS = np.array([(20, 15, 10), (60, 40, 25), (120, 80, 40),
                         (200, 170, 100), (150, 150, 150)],
                        dtype=np.float32)
SKIN_TONES = np.array([(240, 200, 170), (220, 175, 135), (180, 130, 90),
                       (120, 80, 55), (80, 55, 40)],
                      dtype=np.float32)
UPPER_STYLES = ('plain', 'stripes', 'checks', 'logo', 'open_jacket')
LOWER_STYLES = ('trousers', 'shorts', 'skirt')
CARRIED = ('none', 'backpack', 'shoulder_bag')
VIEWS = ('front', 'back', 'left', 'right')
BACKGROUNDS = ('indoor', 'street', 'foliage', 'gradient')


def _jitter_colour(rng: np.random.Generator, colour: np.ndarray,
                   scale: float) -> Tuple[int, int, int]:
    """A palette colour moved a little, as a PIL fill."""
    c = np.clip(colour + rng.normal(0, scale, 3), 0, 255)
    return tuple(int(v) for v in c)


def _sample_identity(rng: np.random.Generator) -> dict:
    """Draw the appearance of one person."""
    upper = int(rng.integers(len(UPPER_COLOURS)))
    return dict(
        upper=_jitter_colour(rng, UPPER_COLOURS[upper], 12),
        upper2=_jitter_colour(
            rng, UPPER_COLOURS[(upper + rng.integers(1, 16)) % 16], 12),
        upper_style=UPPER_STYLES[rng.choice(
            len(UPPER_STYLES), p=[0.4, 0.2, 0.1, 0.15, 0.15])],
        stripe_period=int(rng.integers(4, 8)),
        long_sleeves=bool(rng.random() < 0.6),
        lower=_jitter_colour(rng,
                             LOWER_COLOURS[rng.integers(len(LOWER_COLOURS))],
                             12),
        lower_style=LOWER_STYLES[rng.choice(3, p=[0.7, 0.15, 0.15])],
        shoes=_jitter_colour(rng,
                             LOWER_COLOURS[rng.integers(len(LOWER_COLOURS))],
                             20),
        hair=_jitter_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
                            10),
        long_hair=bool(rng.random() < 0.35),
        skin=_jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 8),
        hat=(_jitter_colour(rng, UPPER_COLOURS[rng.integers(
            len(UPPER_COLOURS))], 12) if rng.random() < 0.15 else None),
        carried=CARRIED[rng.choice(3, p=[0.4, 0.3, 0.3])],
        # +1: the bag hangs on the person's right side.
        bag_side=int(rng.choice((-1, 1))),
        bag=_jitter_colour(rng,
                           UPPER_COLOURS[rng.integers(len(UPPER_COLOURS))],
                           15),
        height=float(rng.uniform(0.78, 0.95)),
        width=float(rng.uniform(0.36, 0.56)),
        waist=float(rng.uniform(0.75, 0.95)),
        leg_ratio=float(rng.uniform(0.42, 0.52)),
    )


def _ordered(box: Tuple[float, float, float, float]) -> tuple:
    """A box with x0 <= x1 and y0 <= y1, as PIL requires; tiny images can
    flip a computed box."""
    x0, y0, x1, y1 = (float(v) for v in box)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _rectangle(draw: ImageDraw.ImageDraw, box: tuple, fill: tuple) -> None:
    draw.rectangle(_ordered(box), fill=fill)


def _ellipse(draw: ImageDraw.ImageDraw, box: tuple, fill: tuple) -> None:
    draw.ellipse(_ordered(box), fill=fill)


def _draw_background(rng: np.random.Generator, kind: str, height: int,
                     width: int) -> np.ndarray:
    """Render a camera's scene, three times wider than a crop."""
    h, w = height + height // 4, width * 3
    colours = [
        tuple(int(v) for v in rng.integers(20, 236, 3)) for _ in range(4)
    ]
    img = Image.new('RGB', (w, h), colours[0])
    draw = ImageDraw.Draw(img)
    if kind == 'indoor':
        horizon = int(h * rng.uniform(0.45, 0.75))
        _rectangle(draw, (0, horizon, w, h), fill=colours[1])
        tile = int(rng.integers(6, 16))
        for y in range(horizon, h, tile):
            draw.line((0, y, w, y), fill=colours[2])
        for x in range(0, w, tile * 2):
            draw.line((x, horizon, x + tile, h), fill=colours[2])
        for _ in range(int(rng.integers(2, 5))):  # doors and windows
            x0 = int(rng.integers(0, w - 10))
            y0 = int(rng.integers(0, max(1, horizon - 20)))
            _rectangle(
                draw, (x0, y0, x0 + int(rng.integers(8, 30)),
                       y0 + int(rng.integers(10, 40))),
                fill=colours[3])
    elif kind == 'street':
        kerb = int(h * rng.uniform(0.55, 0.8))
        _rectangle(draw, (0, kerb, w, h), fill=colours[1])
        _rectangle(draw, (0, kerb, w, kerb + 3), fill=colours[3])
        x = 0
        while x < w:  # shop fronts and poles
            step = int(rng.integers(8, 28))
            fill = tuple(int(v) for v in rng.integers(20, 236, 3))
            _rectangle(draw, (x, 0, x + step, kerb), fill=fill)
            _rectangle(draw, (x, 0, x + 2, kerb), fill=colours[2])
            x += step
    elif kind == 'foliage':
        for _ in range(60):
            cx, cy = rng.integers(0, w), rng.integers(0, h)
            r = int(rng.integers(4, 16))
            base = np.array(colours[1 + int(rng.integers(3))], np.float32)
            _ellipse(
                draw, (cx - r, cy - r, cx + r, cy + r),
                fill=_jitter_colour(rng, base, 20))
    else:  # gradient
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        arr = (1 - t) * np.array(colours[0], np.float32) + t * np.array(
            colours[1], np.float32)
        return np.broadcast_to(arr, (h, w, 3)).astype(np.float32)
    return np.asarray(img, dtype=np.float32)


def _sample_camera(rng: np.random.Generator, index: int, height: int,
                   width: int) -> dict:
    """Draw the scene, optics and typical viewpoints of one camera."""
    kind = BACKGROUNDS[(index + int(rng.integers(4))) % len(BACKGROUNDS)]
    return dict(
        background=_draw_background(rng, kind, height, width),
        gain=float(rng.uniform(0.6, 1.35)),
        cast=rng.uniform(0.65, 1.35, 3).astype(np.float32),
        gamma=float(rng.uniform(0.7, 1.4)),
        haze=float(rng.uniform(0.0, 0.3)),
        haze_colour=rng.uniform(100, 230, 3).astype(np.float32),
        blur=float(rng.uniform(0.0, 1.2)),
        noise=float(rng.uniform(2.0, 8.0)),
        scale=float(rng.uniform(0.8, 1.0)),
        # Each camera sees people mostly from some sides.
        views=rng.dirichlet(np.full(len(VIEWS), 0.8)),
    )


def _draw_person(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                 ident: dict, view: str, box: Tuple[float, float, float],
                 img_width: int) -> None:
    """Draw one pedestrian.

    Args:
        draw (ImageDraw.ImageDraw): Canvas to draw on.
        rng (np.random.Generator): Source of the pose.
        ident (dict): Appearance from :func:`_sample_identity`.
        view (str): One of :data:`VIEWS`; ``'left'``/``'right'`` are side
            views facing that way.
        box (tuple): Centre x, top y and height of the person in pixels.
        img_width (int): Width of the image, which sets the body width.
    """
    cx, top, hp = box
    side = view in ('left', 'right')
    facing = {'left': -1, 'right': 1}.get(view, 0)
    phase = float(rng.uniform(-1, 1))  # walking phase
    head_h = 0.14 * hp
    head_w = head_h * 0.8
    shoulder_y = top + head_h + 0.02 * hp
    hip_y = top + hp * (1 - ident['leg_ratio'])
    foot_y = top + hp
    sw = ident['width'] * img_width * (0.55 if side else 1.0)
    ww = sw * ident['waist']
    leg_len = foot_y - hip_y
    knee_y = hip_y + 0.5 * leg_len
    shoe_h = max(2.0, 0.04 * hp)
    # The bag's side in the image: a person facing us has their right on
    # our left; a side view shows the right side when facing right.
    bag_x = {'front': -1, 'back': 1}.get(view, 0) * ident['bag_side']
    bag_visible = not side or ident['bag_side'] == facing

    if ident['carried'] == 'backpack' and side:  # behind the body
        bw = 0.3 * ident['width'] * img_width
        x = cx - facing * (sw / 2 + bw / 2)
        _rectangle(
            draw, (x - bw / 2, shoulder_y + 0.03 * hp, x + bw / 2,
                   hip_y - 0.05 * hp),
            fill=ident['bag'])

    # Legs, then the lower garment over them.
    leg_w = ww * (0.8 if side else 0.45)
    if side:
        stride = 0.22 * leg_len * phase
        legs = [(cx, cx + stride), (cx, cx - stride)]
    else:
        gap = 0.04 * sw
        legs = [(cx - ww / 4 - gap, cx - ww / 4 - gap + 0.03 * sw * phase),
                (cx + ww / 4 + gap, cx + ww / 4 + gap - 0.03 * sw * phase)]
    lower_end = {
        'trousers': foot_y - shoe_h,
        'shorts': knee_y,
        'skirt': hip_y
    }[ident['lower_style']]
    for x_hip, x_foot in legs:
        draw.line((x_hip, hip_y, x_foot, foot_y - shoe_h),
                  fill=ident['skin'],
                  width=max(2, int(leg_w * 0.8)))
        t = (lower_end - hip_y) / leg_len
        if t > 0:
            draw.line((x_hip, hip_y, x_hip + t * (x_foot - x_hip), lower_end),
                      fill=ident['lower'],
                      width=max(2, int(leg_w)))
        _rectangle(
            draw, (x_foot - leg_w / 2 + facing * 2, foot_y - shoe_h,
                   x_foot + leg_w / 2 + facing * 2, foot_y),
            fill=ident['shoes'])
    if ident['lower_style'] == 'skirt':
        draw.polygon([(cx - ww / 2, hip_y), (cx + ww / 2, hip_y),
                      (cx + ww * 0.7, knee_y), (cx - ww * 0.7, knee_y)],
                     fill=ident['lower'])

    # Torso and its pattern.
    draw.polygon([(cx - sw / 2, shoulder_y), (cx + sw / 2, shoulder_y),
                  (cx + ww / 2, hip_y), (cx - ww / 2, hip_y)],
                 fill=ident['upper'])
    style, period = ident['upper_style'], ident['stripe_period']
    if style in ('stripes', 'checks'):
        for y in np.arange(shoulder_y + period / 2, hip_y, period):
            half = (sw + (ww - sw) * (y - shoulder_y) /
                    (hip_y - shoulder_y)) / 2
            draw.line((cx - half, y, cx + half, y),
                      fill=ident['upper2'],
                      width=max(1, period // 2))
    if style == 'checks':
        for x in np.arange(cx - ww / 2 + period / 2, cx + ww / 2, period):
            draw.line((x, shoulder_y, x, hip_y),
                      fill=ident['upper2'],
                      width=max(1, period // 3))
    elif style == 'logo' and view == 'front':
        s = 0.25 * sw
        y = shoulder_y + 0.3 * (hip_y - shoulder_y)
        _rectangle(
            draw, (cx - s, y, cx + s, y + 1.5 * s), fill=ident['upper2'])
    elif style == 'open_jacket' and view != 'back':
        s = 0.18 * sw
        x = cx + facing * 0.25 * sw
        _rectangle(
            draw, (x - s, shoulder_y, x + s, hip_y), fill=ident['upper2'])

    # Arms: both at the sides from front or back, one swinging from a side.
    arm_w = max(2, int(0.2 * ident['width'] * img_width))
    arm_end_y = hip_y + 0.06 * hp
    if side:
        arms = [(cx, shoulder_y + arm_w / 2, cx + 0.25 * leg_len * phase,
                 arm_end_y)]
    else:
        arms = [(cx + s * (sw / 2 + arm_w / 2 - 1), shoulder_y + arm_w / 2,
                 cx + s * (sw / 2 + arm_w / 2) + 0.02 * sw * phase, arm_end_y)
                for s in (-1, 1)]
    for x0, y0, x1, y1 in arms:
        draw.line((x0, y0, x1, y1), fill=ident['skin'], width=arm_w)
        t = 1.0 if ident['long_sleeves'] else 0.4
        draw.line((x0, y0, x0 + t * (x1 - x0), y0 + t * (y1 - y0)),
                  fill=ident['upper'],
                  width=arm_w)

    # Carried things in front of the torso.
    if ident['carried'] == 'backpack' and view == 'back':
        bw = 0.75 * sw
        _rectangle(
            draw, (cx - bw / 2, shoulder_y + 0.03 * hp, cx + bw / 2,
                   hip_y - 0.04 * hp),
            fill=ident['bag'])
    elif ident['carried'] == 'backpack' and view == 'front':
        for s in (-1, 1):  # the straps only
            draw.line((cx + s * sw * 0.3, shoulder_y, cx + s * sw * 0.32,
                       shoulder_y + 0.5 * (hip_y - shoulder_y)),
                      fill=ident['bag'],
                      width=2)
    elif ident['carried'] == 'shoulder_bag' and bag_visible:
        bw, bh = 0.3 * ident['width'] * img_width, 0.12 * hp
        x = cx + bag_x * (sw / 2 + bw / 3) if not side else cx
        draw.line((cx - bag_x * sw * 0.35, shoulder_y, x, hip_y - bh / 2),
                  fill=ident['bag'],
                  width=2)
        _rectangle(
            draw, (x - bw / 2, hip_y - bh, x + bw / 2, hip_y + 0.3 * bh),
            fill=ident['bag'])

    # Head: hair from behind, a face from the front, both from the side.
    head = (cx - head_w / 2, top, cx + head_w / 2, top + head_h)
    hair_end = shoulder_y + 0.1 * hp
    if ident['long_hair'] and view == 'back':
        _rectangle(
            draw, (head[0], top + head_h / 2, head[2], hair_end),
            fill=ident['hair'])
    elif ident['long_hair'] and side:  # behind the neck
        x = cx - facing * head_w / 4
        _rectangle(
            draw, (x - head_w / 4, top + head_h / 2, x + head_w / 4, hair_end),
            fill=ident['hair'])
    elif ident['long_hair']:  # over the shoulders
        for x in (head[0], head[2] - 2):
            _rectangle(
                draw, (x, top + head_h / 2, x + 2, hair_end),
                fill=ident['hair'])
    _ellipse(draw, head, fill=ident['hair'])
    face_top = top + 0.3 * head_h
    if view == 'front':
        _ellipse(
            draw, (head[0] + 1, face_top, head[2] - 1, head[3]),
            fill=ident['skin'])
    elif facing > 0:
        _ellipse(
            draw, (cx - 0.1 * head_w, face_top, head[2], head[3]),
            fill=ident['skin'])
    elif facing < 0:
        _ellipse(
            draw, (head[0], face_top, cx + 0.1 * head_w, head[3]),
            fill=ident['skin'])
    if ident['hat'] is not None:
        _rectangle(
            draw,
            (head[0] - 1, top - 0.02 * hp, head[2] + 1, top + 0.35 * head_h),
            fill=ident['hat'])


def _render(rng: np.random.Generator,
            cam: dict,
            height: int,
            width: int,
            ident: Optional[dict],
            occlusion_prob: float,
            kind: str = 'person') -> Tuple[Image.Image, int]:
    """Render one image as seen by one camera.

    Args:
        rng (np.random.Generator): Source of every per-image choice.
        cam (dict): Camera from :func:`_sample_camera`.
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
    bg = cam['background']
    y0 = int(rng.integers(0, bg.shape[0] - height + 1))
    x0 = int(rng.integers(0, bg.shape[1] - width + 1))
    arr = bg[y0:y0 + height, x0:x0 + width] * rng.uniform(0.85, 1.15)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 3))):  # clutter behind the person
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        w, h = rng.uniform(0.06, 0.3) * width, rng.uniform(0.03, 0.25) * height
        _rectangle(
            draw, (x, y, x + w, y + h),
            fill=tuple(int(v) for v in rng.integers(0, 256, 3)))

    if ident is not None:
        hp = height * cam['scale'] * ident['height'] * rng.uniform(0.95, 1.05)
        top = (height - hp) / 2 + rng.normal(0, 0.03 * height)
        cx = width / 2 + rng.normal(0, 0.06 * width)
        if kind == 'partial':  # the detector box misses most of the body
            cx += rng.choice((-1, 1)) * rng.uniform(0.35, 0.6) * width
            top += rng.uniform(-0.4, 0.4) * height
        elif kind == 'junk':
            hp *= rng.uniform(0.3, 0.6)
            top = rng.uniform(0, height - hp)
        view = VIEWS[rng.choice(len(VIEWS), p=cam['views'])]
        _draw_person(draw, rng, ident, view, (cx, top, hp), width)
        if rng.random() < occlusion_prob:
            if rng.random() < 0.5:  # something low in front: a car, a bin
                h = rng.uniform(0.2, 0.45) * height
                box = (0, height - h, width, height)
            else:  # a pole or a passer-by at one side
                w = rng.uniform(0.2, 0.4) * width
                x = rng.choice((0.0, width - w))
                box = (x, 0, x + w, height)
            _rectangle(
                draw, box, fill=tuple(int(v) for v in rng.integers(0, 256, 3)))

    # Optics: blur, then the camera's response, cast and haze, then noise.
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
    img = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    return img, int(rng.integers(60, 96))


def _plan_identity(rng: np.random.Generator, num_cameras: int,
                   images_per_id: int, min_per_camera: int) -> List[int]:
    """Cameras of one person's images: at least two cameras, each with at
    least ``min_per_camera`` images."""
    most = max(2, min(num_cameras, images_per_id // min_per_camera))
    k = int(rng.integers(2, most + 1))
    cams = np.sort(rng.choice(num_cameras, k, replace=False))
    n = max(k * min_per_camera,
            int(round(images_per_id * rng.uniform(0.75, 1.25))))
    counts = np.full(k, min_per_camera) + rng.multinomial(
        n - k * min_per_camera, np.full(k, 1 / k))
    return [int(c) for c, m in zip(cams, counts) for _ in range(m)]


def _generator_args(**kwargs) -> dict:
    """The arguments that define a generated data set, as stored on disk."""
    return dict(kwargs, generator_version=GENERATOR_VERSION)


def read_marker(root: str) -> Optional[dict]:
    """Read the marker of a complete synthetic data set.

    Args:
        root (str): The data set folder.

    Returns:
        dict, optional: ``args`` and ``counts`` of the data set, or None when
        the folder holds no marker.
    """
    path = osp.join(root, MARKER_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _check_existing(root: str, args: dict) -> dict:
    """Return the counts of a complete data set made with ``args``."""
    marker = read_marker(root)
    if marker is None:
        raise FileExistsError(
            f'{root!r} exists but has no {MARKER_FILE} marker, so it is not a '
            'complete synthetic data set (a real data set, or one whose '
            'generation was interrupted). Delete it, or choose another '
            'folder, to generate the synthetic data there.')
    if marker['args'] != args:
        changed = {
            k: (marker['args'].get(k), v)
            for k, v in args.items() if marker['args'].get(k) != v
        }
        raise ValueError(
            f'The synthetic data set in {root!r} was generated with other '
            f'arguments (stored, requested): {changed}. Delete the folder '
            'to regenerate it, or point data_root elsewhere.')
    return marker['counts']


def _write_all(out: str, args: dict) -> Dict[str, int]:
    """Render every image of the data set into the folder ``out``."""
    height, width = args['height'], args['width']
    num_cameras = args['num_cameras']
    rng = np.random.default_rng(args['seed'])
    cams = [_sample_camera(rng, c, height, width) for c in range(num_cameras)]
    num_ids = args['num_train_ids'] + args['num_test_ids']
    # Identity numbers are scattered over 1..1501 like Market's, train and
    # test disjoint.
    pool = np.arange(1, max(1502, 2 * num_ids))
    pids = rng.choice(pool, num_ids, replace=False)
    train_pids = sorted(int(p) for p in pids[:args['num_train_ids']])
    test_pids = sorted(int(p) for p in pids[args['num_train_ids']:])

    jobs = []  # (split, name prefix, camera, identity or None, kind)
    for split, split_pids in (('train', train_pids), ('test', test_pids)):
        for pid in split_pids:
            ident = _sample_identity(rng)
            cam_list = _plan_identity(rng, num_cameras, args['images_per_id'],
                                      1 if split == 'train' else 2)
            seen: Dict[int, int] = {}
            for cam in cam_list:
                seen[cam] = seen.get(cam, 0) + 1
                if split == 'train':
                    target = 'train'
                else:  # Market's query: a few images per camera of a person.
                    target = ('query' if seen[cam] <= min(
                        args['queries_per_camera'],
                        cam_list.count(cam) - 1) else 'gallery')
                jobs.append((target, f'{pid:04d}', cam, ident, 'person'))
    for i in range(args['num_distractors']):
        cam = int(rng.integers(num_cameras))
        if i % 2:  # a box on the background
            jobs.append(('gallery', '0000', cam, None, 'person'))
        else:  # a box that cuts an unknown person off
            jobs.append(
                ('gallery', '0000', cam, _sample_identity(rng), 'partial'))
    for _ in range(args['num_junk']):
        cam = int(rng.integers(num_cameras))
        ident = _sample_identity(rng) if rng.random() < 0.7 else None
        jobs.append(('gallery', '-1', cam, ident, 'junk'))

    for folder in SPLIT_DIRS.values():
        os.makedirs(osp.join(out, folder))
    frames = np.zeros(num_cameras, dtype=np.int64)
    counts = dict(train=0, query=0, gallery=0)
    for i, (split, prefix, cam, ident, kind) in enumerate(jobs):
        img_rng = np.random.default_rng([args['seed'], i])
        img, quality = _render(img_rng, cams[cam], height, width, ident,
                               args['occlusion_prob'], kind)
        # Frame numbers grow per camera, which keeps every name unique.
        frames[cam] += 1 + img_rng.integers(0, 50)
        name = (f'{prefix}_c{cam + 1}s{1 + img_rng.integers(6)}_'
                f'{frames[cam]:06d}_{1 + img_rng.integers(3):02d}.jpg')
        img.save(osp.join(out, SPLIT_DIRS[split], name), quality=quality)
        counts[split] += 1
    counts.update(
        num_train_ids=len(train_pids),
        num_test_ids=len(test_pids),
        num_distractors=args['num_distractors'],
        num_junk=args['num_junk'])
    return counts


def generate_synthetic_market1501(root: str,
                                  num_train_ids: int = 64,
                                  num_test_ids: int = 50,
                                  num_cameras: int = 6,
                                  images_per_id: int = 10,
                                  num_distractors: int = 100,
                                  num_junk: int = 20,
                                  height: int = 128,
                                  width: int = 64,
                                  seed: int = 0,
                                  queries_per_camera: int = 1,
                                  occlusion_prob: float = 0.2,
                                  overwrite: bool = False) -> Dict[str, int]:
    """Write a synthetic pedestrian data set in the Market-1501 layout.

    The folder gets ``bounding_box_train/``, ``query/`` and
    ``bounding_box_test/`` with names such as ``0002_c1s1_000451_01.jpg``.
    Train and test identities are disjoint. Each test identity appears in at
    least two cameras with at least two images in each; up to
    ``queries_per_camera`` images per camera go to ``query/`` and the rest to
    the gallery, so every query has a match in another camera. The gallery
    also holds distractors (``0000_...``: background boxes and boxes that cut
    a stranger off) and junk (``-1_...``: tiny, blurred, badly exposed).
    The output depends only on the arguments: the same seed gives the same
    bytes.

    Several processes (DDP ranks) may call this at once: each renders into a
    temporary sibling folder that holds a ``.synthetic_done`` marker with the
    arguments, then renames it to ``root`` in one atomic step. The losers of
    the race delete theirs and use the winner's. An existing ``root`` made
    with the same arguments is used as it is.

    Args:
        root (str): Folder to create.
        num_train_ids (int): Identities of the training split. Defaults
            to 64.
        num_test_ids (int): Identities of query and gallery. Defaults to 50.
        num_cameras (int): Cameras, at least 2. Defaults to 6.
        images_per_id (int): Mean number of images of an identity (each
            varies by up to 25%, and a test identity has at least 4).
            Defaults to 10.
        num_distractors (int): Distractor images in the gallery. Defaults
            to 100.
        num_junk (int): Junk images in the gallery. Defaults to 20.
        height (int): Image height. Defaults to 128.
        width (int): Image width. Defaults to 64.
        seed (int): Seed of every random choice. Defaults to 0.
        queries_per_camera (int): Query images per test identity and camera.
            Defaults to 1.
        occlusion_prob (float): Chance that a rectangle hides part of a
            person. Defaults to 0.2.
        overwrite (bool): Replace a synthetic data set in ``root`` made with
            other arguments instead of raising. A folder without the marker
            is never replaced. Defaults to False.

    Returns:
        dict: Image counts per split (``train``, ``query``, ``gallery``),
        ``num_train_ids``, ``num_test_ids``, ``num_distractors``,
        ``num_junk``, and ``generated`` (0 when ``root`` already held the
        data set).

    Raises:
        ValueError: If an argument is out of range, or ``root`` holds a data
            set made with other arguments (and ``overwrite`` is off).
        FileExistsError: If ``root`` is a non-empty folder without the
            marker (a real data set, or an interrupted foreign write).
    """
    if num_train_ids < 1 or num_test_ids < 1:
        raise ValueError('num_train_ids and num_test_ids must be positive')
    if num_cameras < 2:
        raise ValueError('num_cameras must be at least 2: queries are '
                         'matched across cameras')
    if images_per_id < 1 or queries_per_camera < 1:
        raise ValueError('images_per_id and queries_per_camera must be '
                         'positive')
    if num_distractors < 0 or num_junk < 0:
        raise ValueError('num_distractors and num_junk must be >= 0')
    if height < 32 or width < 16:
        raise ValueError('images must be at least 32 x 16 pixels')
    args = _generator_args(
        num_train_ids=int(num_train_ids),
        num_test_ids=int(num_test_ids),
        num_cameras=int(num_cameras),
        images_per_id=int(images_per_id),
        num_distractors=int(num_distractors),
        num_junk=int(num_junk),
        height=int(height),
        width=int(width),
        seed=int(seed),
        queries_per_camera=int(queries_per_camera),
        occlusion_prob=float(occlusion_prob))

    root = osp.abspath(root)
    exists = osp.isdir(root) and bool(os.listdir(root))
    if exists and not overwrite:
        return dict(_check_existing(root, args), generated=0)
    if exists:
        marker = read_marker(root)
        if marker is None:  # never delete what this function did not write
            _check_existing(root, args)
        if marker['args'] == args:
            return dict(marker['counts'], generated=0)

    parent, name = osp.split(root)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{name}.tmp-{os.getpid()}-{uuid.uuid4().hex}')
    print_log(f'Generating a synthetic data set of about {(num_train_ids + num_test_ids) * images_per_id + num_distractors + num_junk} images at {root} (once; later runs reuse it)', logger='current')  # noqa: E501
    try:
        counts = _write_all(tmp, args)
        with open(osp.join(tmp, MARKER_FILE), 'w') as f:
            json.dump(dict(args=args, counts=counts), f, indent=2)
        if exists:  # overwrite: move the old one aside first
            old = f'{tmp}.old'
            os.rename(root, old)
            shutil.rmtree(old)
        try:
            # Atomic; replaces only a missing or empty folder.
            os.rename(tmp, root)
        except OSError:
            if read_marker(root) is None:
                raise
            # Another process won the race: use its data set.
            return dict(_check_existing(root, args), generated=0)
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return dict(counts, generated=1)


@DATASETS.register_module()
class SyntheticMarket1501(Market1501):
    """:class:`Market1501` on synthetic pedestrians, generated on first use.

    If ``data_root`` holds no data set, it is generated there by
    :func:`generate_synthetic_market1501` (safe when several processes build
    the data set at once). If it holds one, the stored generator arguments
    are checked against ``generate``.

    Args:
        data_root (str): Folder of the data set, created when missing.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``. Defaults to
            ``'train'``.
        generate (dict, optional): Keyword arguments of
            :func:`generate_synthetic_market1501` (other than ``root``),
            e.g. ``dict(num_train_ids=64, seed=0)``. An existing data set made
            with other arguments raises a ValueError. None generates with the
            defaults when the folder is missing, and accepts any complete
            synthetic data set that is there. Defaults to None.
        **kwargs: Other arguments of :class:`Market1501`.
    """

    METAINFO = dict(dataset_name='SyntheticMarket1501')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 generate: Optional[dict] = None,
                 **kwargs) -> None:
        if generate is not None and 'root' in generate:
            raise TypeError('generate must not hold root: data_root is used')
        self.generate = None if generate is None else dict(generate)
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Generate the data set if needed, then read the split."""
        if not self.data_root:
            raise ValueError('SyntheticMarket1501 needs a data_root to '
                             'generate into')
        if self.generate is not None or read_marker(self.data_root) is None:
            generate_synthetic_market1501(self.data_root,
                                          **(self.generate or {}))
        elif read_marker(self.data_root)['args'].get(
                'generator_version') != GENERATOR_VERSION:
            warnings.warn(f'{self.data_root!r} was made by another version '
                          'of the synthetic generator; delete it to '
                          'regenerate.')
        return super().load_data_list()
