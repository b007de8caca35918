"""A synthetic pedestrian data set in the layout of Market-1501.

It lets the whole pipeline (data, sampler, model, metric) run without the
real data. Identities differ by clothing colours and patterns, body
proportions, hair, skin, headwear and carried bags; cameras differ by
background, illumination, colour cast, blur, noise, scale and the viewpoints
they see. Colours are drawn from small shared palettes and the cameras' casts
are strong, so colour statistics alone do not solve it; a CNN has to learn
which cues survive a change of camera.

Modules, in reading order: :mod:`.appearance` (people and cameras),
:mod:`.drawing` (shapes and scenes), :mod:`.person` (one pedestrian),
:mod:`.renderer` (one image), :mod:`.generator` (the folder) and
:mod:`.dataset` (the registered data set).
"""
from .dataset import SyntheticMarket1501
from .generator import (GENERATOR_VERSION, MARKER_FILE,
                        generate_synthetic_market1501, read_marker)

__all__ = [
    'GENERATOR_VERSION', 'MARKER_FILE', 'SyntheticMarket1501',
    'generate_synthetic_market1501', 'read_marker'
]
