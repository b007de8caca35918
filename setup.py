"""Packaging entry; metadata lives in setup.cfg.

``add_mim_extension`` puts ``tools/``, ``configs/`` and ``model-index.yml``
into ``mmreid_tricks/.mim`` so that ``mim train mmreid_tricks CONFIG`` finds
the training script and configs of an installed package, and
``mim search mmreid_tricks`` its configs and results.
"""
import os
import os.path as osp
import shutil
import sys
from setuptools import setup

MIM_FILES = ('tools', 'configs', 'model-index.yml')


def add_mim_extension() -> None:
    """Copy (wheel, sdist) or link (develop, editable) the mim files."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif {'sdist', 'bdist_wheel', 'build', 'install'} & set(sys.argv):
        mode = 'copy'
    else:
        return
    repo = osp.dirname(osp.abspath(__file__))
    mim_dir = osp.join(repo, 'mmreid_tricks', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(repo, name), osp.join(mim_dir, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup()
