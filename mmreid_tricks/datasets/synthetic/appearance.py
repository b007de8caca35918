"""What the generator draws from: people's looks and cameras' optics.

Colours come from small shared palettes, so many identities wear the same
colours, as people do, and colour statistics alone do not solve the task.
"""
import numpy as np

from .drawing import draw_background, jitter_colour

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


def sample_identity(rng: np.random.Generator) -> dict:
    """Draw the appearance of one person.

    Args:
        rng (np.random.Generator): Source of every choice.

    Returns:
        dict: Colours (PIL fills), styles, carried things and body
        proportions, as :func:`~.person.draw_person` reads them.
    """
    upper = int(rng.integers(len(UPPER_COLOURS)))
    return dict(
        upper=jitter_colour(rng, UPPER_COLOURS[upper], 12),
        upper2=jitter_colour(rng,
                             UPPER_COLOURS[(upper + rng.integers(1, 16)) % 16],
                             12),
        upper_style=UPPER_STYLES[rng.choice(
            len(UPPER_STYLES), p=[0.4, 0.2, 0.1, 0.15, 0.15])],
        stripe_period=int(rng.integers(4, 8)),
        long_sleeves=bool(rng.random() < 0.6),
        lower=jitter_colour(rng,
                            LOWER_COLOURS[rng.integers(len(LOWER_COLOURS))],
                            12),
        lower_style=LOWER_STYLES[rng.choice(3, p=[0.7, 0.15, 0.15])],
        shoes=jitter_colour(rng,
                            LOWER_COLOURS[rng.integers(len(LOWER_COLOURS))],
                            20),
        hair=jitter_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))],
                           10),
        long_hair=bool(rng.random() < 0.35),
        skin=jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 8),
        hat=(jitter_colour(rng, UPPER_COLOURS[rng.integers(
            len(UPPER_COLOURS))], 12) if rng.random() < 0.15 else None),
        carried=CARRIED[rng.choice(3, p=[0.4, 0.3, 0.3])],
        # +1: the bag hangs on the person's right side.
        bag_side=int(rng.choice((-1, 1))),
        bag=jitter_colour(rng, UPPER_COLOURS[rng.integers(len(UPPER_COLOURS))],
                          15),
        height=float(rng.uniform(0.78, 0.95)),
        width=float(rng.uniform(0.36, 0.56)),
        waist=float(rng.uniform(0.75, 0.95)),
        leg_ratio=float(rng.uniform(0.42, 0.52)),
    )


def sample_camera(rng: np.random.Generator, index: int, height: int,
                  width: int) -> dict:
    """Draw the scene, optics and typical viewpoints of one camera.

    Args:
        rng (np.random.Generator): Source of every choice.
        index (int): The camera's index, which varies its scene kind.
        height (int): Crop height.
        width (int): Crop width.

    Returns:
        dict: ``background`` (see :func:`draw_background`), the optics
        (``gain``, ``cast``, ``gamma``, ``haze``, ``haze_colour``, ``blur``,
        ``noise``, ``scale``) and ``views``, the probability of each of
        :data:`VIEWS`.
    """
    kind = BACKGROUNDS[(index + int(rng.integers(4))) % len(BACKGROUNDS)]
    return dict(
        background=draw_background(rng, kind, height, width),
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
