import hashlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmreid_tricks.datasets.synthetic.appearance import (VIEWS, sample_camera,
                                                         sample_identity)
from mmreid_tricks.datasets.synthetic.person import draw_person, lay_out_body
from mmreid_tricks.datasets.synthetic.renderer import render


def test_pinned_pixels():
    """24 rendered images of every kind, as rendered before the generator
    was split into modules (pixels and JPEG quality, before encoding)."""
    rng = np.random.default_rng(0)
    cams = [sample_camera(rng, c, 64, 32) for c in range(4)]
    idents = [sample_identity(rng) for _ in range(3)]
    digest = hashlib.sha256()
    for i in range(24):
        img, quality = render(
            np.random.default_rng([0, i]), cams[i % 4], 64, 32,
            idents[i % 3] if i % 5 else None, 0.5,
            ('person', 'partial', 'junk')[i % 3])
        assert img.size == (32, 64) and 60 <= quality < 96
        digest.update(np.asarray(img).tobytes())
        digest.update(bytes([quality]))
    assert digest.hexdigest() == (
        '6b1276f21662ec74a40868d8e8eadd8e08b669534d0ce58014a72efc62d7ca97')


def test_body_layout_proportions():
    ident = sample_identity(np.random.default_rng(1))
    body = lay_out_body(
        np.random.default_rng(2), ident, 'left', (16., 4., 50.), 32)
    assert body.side and body.facing == -1 and -1 <= body.phase <= 1
    assert body.head_h == pytest.approx(0.14 * 50)
    assert body.top < body.shoulder_y < body.hip_y < body.knee_y < body.foot_y
    assert body.foot_y == pytest.approx(54.)
    # A side view is narrower than a front view.
    assert body.sw == pytest.approx(ident['width'] * 32 * 0.55)


@pytest.mark.parametrize('view', VIEWS)
def test_person_stays_near_its_box(view):
    """Every view draws the person inside its box, wider only by the
    arms, bags and hair."""
    ident = sample_identity(np.random.default_rng(3))
    img = Image.new('RGB', (64, 128), (0, 0, 0))
    draw_person(
        ImageDraw.Draw(img), np.random.default_rng(4), ident, view,
        (32., 20., 90.), 64)
    drawn = np.asarray(img).any(axis=2)
    rows = np.flatnonzero(drawn.any(axis=1))
    assert rows.min() >= 20 - 0.02 * 90 - 1 and rows.max() <= 110
    assert drawn[60, 32]  # the torso covers the centre
