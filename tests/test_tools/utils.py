import importlib.util
import os
import os.path as osp
import subprocess
import sys

from test_e2e.utils import REPO


def load_tool(relative_path: str):
    """Import a script of tools/ as a module (to call its ``main``)."""
    path = osp.join(REPO, 'tools', relative_path)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(args):
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, *args],
                         cwd=REPO,
                         env=env,
                         capture_output=True,
                         text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr
