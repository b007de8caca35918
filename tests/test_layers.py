"""The package's layers import each other only downwards.

``datasets/`` and ``models/`` never import each other, and ``evaluation/``
reads features, identities and cameras, never a network or a data set. The
imports are read from the source (absolute and relative alike), so a lazy
import inside a function counts too.
"""
import ast
import os.path as osp
from pathlib import Path

import pytest

import mmreid_tricks

PACKAGE_DIR = Path(osp.dirname(mmreid_tricks.__file__))
# (layer, layers it must not import)
FORBIDDEN = [
    ('models', ('datasets', 'evaluation')),
    ('datasets', ('models', 'evaluation')),
    ('evaluation', ('models', 'datasets')),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imported_modules(path: Path):
    """Yield the absolute name of every module that ``path`` imports."""
    name = module_name(path)
    is_package = path.name == '__init__.py'
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module
            else:
                parts = name.split('.')
                # A package's own module counts as level 1's anchor.
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = '.'.join(parts[:keep] +
                                ([node.module] if node.module else []))
            yield base
            for alias in node.names:
                yield f'{base}.{alias.name}'


def layer_of(module: str):
    parts = module.split('.')
    if len(parts) > 1 and parts[0] == 'mmreid_tricks':
        return parts[1]
    return None


@pytest.mark.parametrize('layer,forbidden', FORBIDDEN)
def test_layer_imports_no_forbidden_layer(layer, forbidden):
    files = sorted((PACKAGE_DIR / layer).rglob('*.py'))
    assert files, f'no module under mmreid_tricks/{layer}/'
    offending = [
        f'{path.relative_to(PACKAGE_DIR.parent)} imports {module}'
        for path in files for module in imported_modules(path)
        if layer_of(module) in forbidden
    ]
    assert not offending, '\n'.join(offending)


def test_relative_imports_are_resolved():
    """The checker itself: a relative import of the other layer is seen."""
    src = PACKAGE_DIR / 'models' / 'utils' / 'batch_cutout.py'
    modules = set(imported_modules(src))
    assert 'mmreid_tricks.models.utils.batch_image_augment' in modules
    assert 'mmreid_tricks.utils.erasing_args' in modules
