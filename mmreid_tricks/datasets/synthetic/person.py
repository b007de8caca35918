"""Drawing one pedestrian, back to front: bag behind, legs, torso, arms,
carried things, head."""
from dataclasses import dataclass
from typing import Tuple

import numpy as np
from PIL import ImageDraw

from .drawing import ellipse, rectangle


@dataclass
class Body:
    """Where the parts of one drawn person are, in pixels.

    Attributes:
        cx (float): Centre x.
        top (float): Top of the head.
        hp (float): Height of the person.
        view (str): One of ``VIEWS``.
        side (bool): Whether the view is from a side.
        facing (int): -1 facing left, 1 facing right, 0 front or back.
        phase (float): Walking phase in [-1, 1].
        head_h (float): Head height.
        head_w (float): Head width.
        shoulder_y (float): Shoulder line.
        hip_y (float): Hip line.
        foot_y (float): Sole line.
        knee_y (float): Knee line.
        leg_len (float): Hip to sole.
        shoe_h (float): Shoe height.
        sw (float): Shoulder width as seen.
        ww (float): Waist width as seen.
        img_width (int): Width of the image; arms and bags scale with
            ``ident['width'] * img_width``.
    """
    cx: float
    top: float
    hp: float
    view: str
    side: bool
    facing: int
    phase: float
    head_h: float
    head_w: float
    shoulder_y: float
    hip_y: float
    foot_y: float
    knee_y: float
    leg_len: float
    shoe_h: float
    sw: float
    ww: float
    img_width: int


def lay_out_body(rng: np.random.Generator, ident: dict, view: str,
                 box: Tuple[float, float, float], img_width: int) -> Body:
    """Place the parts of a person; draws only the walking phase.

    Args:
        rng (np.random.Generator): Source of the walking phase.
        ident (dict): Appearance from :func:`~.appearance.sample_identity`.
        view (str): One of ``VIEWS``.
        box (tuple): Centre x, top y and height of the person in pixels.
        img_width (int): Width of the image, which sets the body width.

    Returns:
        Body: The layout.
    """
    cx, top, hp = box
    side = view in ('left', 'right')
    facing = {'left': -1, 'right': 1}.get(view, 0)
    phase = float(rng.uniform(-1, 1))
    head_h = 0.14 * hp
    hip_y = top + hp * (1 - ident['leg_ratio'])
    foot_y = top + hp
    sw = ident['width'] * img_width * (0.55 if side else 1.0)
    leg_len = foot_y - hip_y
    return Body(
        cx=cx,
        top=top,
        hp=hp,
        view=view,
        side=side,
        facing=facing,
        phase=phase,
        head_h=head_h,
        head_w=head_h * 0.8,
        shoulder_y=top + head_h + 0.02 * hp,
        hip_y=hip_y,
        foot_y=foot_y,
        knee_y=hip_y + 0.5 * leg_len,
        leg_len=leg_len,
        shoe_h=max(2.0, 0.04 * hp),
        sw=sw,
        ww=sw * ident['waist'],
        img_width=img_width)


def draw_backpack_behind(draw: ImageDraw.ImageDraw, ident: dict,
                         b: Body) -> None:
    """A backpack seen from the side sticks out behind the body."""
    if ident['carried'] != 'backpack' or not b.side:
        return
    bw = 0.3 * ident['width'] * b.img_width
    x = b.cx - b.facing * (b.sw / 2 + bw / 2)
    rectangle(
        draw, (x - bw / 2, b.shoulder_y + 0.03 * b.hp, x + bw / 2,
               b.hip_y - 0.05 * b.hp),
        fill=ident['bag'])


def draw_legs(draw: ImageDraw.ImageDraw, ident: dict, b: Body) -> None:
    """Legs and shoes, then the lower garment over them."""
    leg_w = b.ww * (0.8 if b.side else 0.45)
    cx = b.cx
    if b.side:
        stride = 0.22 * b.leg_len * b.phase
        legs = [(cx, cx + stride), (cx, cx - stride)]
    else:
        gap = 0.04 * b.sw
        sway = 0.03 * b.sw * b.phase
        legs = [(cx - b.ww / 4 - gap, cx - b.ww / 4 - gap + sway),
                (cx + b.ww / 4 + gap, cx + b.ww / 4 + gap - sway)]
    lower_end = {
        'trousers': b.foot_y - b.shoe_h,
        'shorts': b.knee_y,
        'skirt': b.hip_y
    }[ident['lower_style']]
    for x_hip, x_foot in legs:
        draw.line((x_hip, b.hip_y, x_foot, b.foot_y - b.shoe_h),
                  fill=ident['skin'],
                  width=max(2, int(leg_w * 0.8)))
        t = (lower_end - b.hip_y) / b.leg_len
        if t > 0:
            draw.line(
                (x_hip, b.hip_y, x_hip + t * (x_foot - x_hip), lower_end),
                fill=ident['lower'],
                width=max(2, int(leg_w)))
        rectangle(
            draw, (x_foot - leg_w / 2 + b.facing * 2, b.foot_y - b.shoe_h,
                   x_foot + leg_w / 2 + b.facing * 2, b.foot_y),
            fill=ident['shoes'])
    if ident['lower_style'] == 'skirt':
        draw.polygon([(cx - b.ww / 2, b.hip_y), (cx + b.ww / 2, b.hip_y),
                      (cx + b.ww * 0.7, b.knee_y),
                      (cx - b.ww * 0.7, b.knee_y)],
                     fill=ident['lower'])


def draw_torso(draw: ImageDraw.ImageDraw, ident: dict, b: Body) -> None:
    """The torso, a trapezoid from shoulders to hips, and its pattern."""
    cx, sw, ww = b.cx, b.sw, b.ww
    shoulder_y, hip_y = b.shoulder_y, b.hip_y
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
    elif style == 'logo' and b.view == 'front':
        s = 0.25 * sw
        y = shoulder_y + 0.3 * (hip_y - shoulder_y)
        rectangle(draw, (cx - s, y, cx + s, y + 1.5 * s), fill=ident['upper2'])
    elif style == 'open_jacket' and b.view != 'back':
        s = 0.18 * sw
        x = cx + b.facing * 0.25 * sw
        rectangle(
            draw, (x - s, shoulder_y, x + s, hip_y), fill=ident['upper2'])


def draw_arms(draw: ImageDraw.ImageDraw, ident: dict, b: Body) -> None:
    """Both arms at the sides from front or back, one swinging from a side;
    skin, then the sleeve over it."""
    arm_w = max(2, int(0.2 * ident['width'] * b.img_width))
    arm_end_y = b.hip_y + 0.06 * b.hp
    cx, sw = b.cx, b.sw
    if b.side:
        arms = [(cx, b.shoulder_y + arm_w / 2, cx + 0.25 * b.leg_len * b.phase,
                 arm_end_y)]
    else:
        arms = [
            (cx + s * (sw / 2 + arm_w / 2 - 1), b.shoulder_y + arm_w / 2,
             cx + s * (sw / 2 + arm_w / 2) + 0.02 * sw * b.phase, arm_end_y)
            for s in (-1, 1)
        ]
    sleeve = 1.0 if ident['long_sleeves'] else 0.4
    for x0, y0, x1, y1 in arms:
        draw.line((x0, y0, x1, y1), fill=ident['skin'], width=arm_w)
        draw.line((x0, y0, x0 + sleeve * (x1 - x0), y0 + sleeve * (y1 - y0)),
                  fill=ident['upper'],
                  width=arm_w)


def draw_carried_in_front(draw: ImageDraw.ImageDraw, ident: dict,
                          b: Body) -> None:
    """A backpack from behind, its straps from the front, or a shoulder bag
    on the side it hangs, when that side is seen."""
    cx, sw = b.cx, b.sw
    shoulder_y, hip_y = b.shoulder_y, b.hip_y
    if ident['carried'] == 'backpack' and b.view == 'back':
        bw = 0.75 * sw
        rectangle(
            draw, (cx - bw / 2, shoulder_y + 0.03 * b.hp, cx + bw / 2,
                   hip_y - 0.04 * b.hp),
            fill=ident['bag'])
    elif ident['carried'] == 'backpack' and b.view == 'front':
        for s in (-1, 1):  # the straps only
            draw.line((cx + s * sw * 0.3, shoulder_y, cx + s * sw * 0.32,
                       shoulder_y + 0.5 * (hip_y - shoulder_y)),
                      fill=ident['bag'],
                      width=2)
    elif ident['carried'] == 'shoulder_bag' and bag_visible(ident, b):
        # The bag's side in the image: a person facing us has their right
        # on our left.
        bag_x = {'front': -1, 'back': 1}.get(b.view, 0) * ident['bag_side']
        bw, bh = 0.3 * ident['width'] * b.img_width, 0.12 * b.hp
        x = cx + bag_x * (sw / 2 + bw / 3) if not b.side else cx
        draw.line((cx - bag_x * sw * 0.35, shoulder_y, x, hip_y - bh / 2),
                  fill=ident['bag'],
                  width=2)
        rectangle(
            draw, (x - bw / 2, hip_y - bh, x + bw / 2, hip_y + 0.3 * bh),
            fill=ident['bag'])


def bag_visible(ident: dict, b: Body) -> bool:
    """A shoulder bag shows from front and back, and from the side it hangs
    on (a side view facing right shows the right side)."""
    return not b.side or ident['bag_side'] == b.facing


def draw_head(draw: ImageDraw.ImageDraw, ident: dict, b: Body) -> None:
    """Long hair, the head, the face as far as it is seen, and a hat."""
    cx, top, head_h, head_w = b.cx, b.top, b.head_h, b.head_w
    head = (cx - head_w / 2, top, cx + head_w / 2, top + head_h)
    hair_end = b.shoulder_y + 0.1 * b.hp
    if ident['long_hair'] and b.view == 'back':
        rectangle(
            draw, (head[0], top + head_h / 2, head[2], hair_end),
            fill=ident['hair'])
    elif ident['long_hair'] and b.side:  # behind the neck
        x = cx - b.facing * head_w / 4
        rectangle(
            draw, (x - head_w / 4, top + head_h / 2, x + head_w / 4, hair_end),
            fill=ident['hair'])
    elif ident['long_hair']:  # over the shoulders
        for x in (head[0], head[2] - 2):
            rectangle(
                draw, (x, top + head_h / 2, x + 2, hair_end),
                fill=ident['hair'])
    ellipse(draw, head, fill=ident['hair'])
    face_top = top + 0.3 * head_h
    if b.view == 'front':
        ellipse(
            draw, (head[0] + 1, face_top, head[2] - 1, head[3]),
            fill=ident['skin'])
    elif b.facing > 0:
        ellipse(
            draw, (cx - 0.1 * head_w, face_top, head[2], head[3]),
            fill=ident['skin'])
    elif b.facing < 0:
        ellipse(
            draw, (head[0], face_top, cx + 0.1 * head_w, head[3]),
            fill=ident['skin'])
    if ident['hat'] is not None:
        rectangle(
            draw,
            (head[0] - 1, top - 0.02 * b.hp, head[2] + 1, top + 0.35 * head_h),
            fill=ident['hat'])


def draw_person(draw: ImageDraw.ImageDraw, rng: np.random.Generator,
                ident: dict, view: str, box: Tuple[float, float, float],
                img_width: int) -> None:
    """Draw one pedestrian, back to front.

    Args:
        draw (ImageDraw.ImageDraw): Canvas to draw on.
        rng (np.random.Generator): Source of the pose.
        ident (dict): Appearance from :func:`~.appearance.sample_identity`.
        view (str): One of ``VIEWS``; ``'left'``/``'right'`` are side
            views facing that way.
        box (tuple): Centre x, top y and height of the person in pixels.
        img_width (int): Width of the image, which sets the body width.
    """
    body = lay_out_body(rng, ident, view, box, img_width)
    for part in (draw_backpack_behind, draw_legs, draw_torso, draw_arms,
                 draw_carried_in_front, draw_head):
        part(draw, ident, body)
