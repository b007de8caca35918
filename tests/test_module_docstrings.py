"""Every module of the package and every tool opens with a docstring saying
what it holds (package ``__init__`` files only gather names)."""
import ast
import glob
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODULES = sorted(
    p for p in
    glob.glob(osp.join(REPO, 'mmreid_tricks', '**', '*.py'), recursive=True) +
    glob.glob(osp.join(REPO, 'tools', '*.py'))
    if osp.basename(p) != '__init__.py' and '.mim' not in p)


@pytest.mark.parametrize('path', MODULES, ids=lambda p: osp.relpath(p, REPO))
def test_module_has_a_docstring(path):
    with open(path) as f:
        tree = ast.parse(f.read(), filename=path)
    assert ast.get_docstring(tree), f'{path}: add a module docstring'
