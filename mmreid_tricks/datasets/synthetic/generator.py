"""Generating the synthetic data set: who appears where, then every image.

The output depends only on the arguments: the same seed gives the same
bytes. A folder is written whole, under a temporary name, and renamed in one
step, so concurrent processes (DDP ranks) never see half a data set.
"""
import json
import os
import os.path as osp
import shutil
import uuid
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from ..folder_dataset import SPLIT_DIRS
from .appearance import sample_camera, sample_identity
from .renderer import render

# Bump when the rendering changes, so that old folders are not mistaken for
# new ones.
GENERATOR_VERSION = 1
MARKER_FILE = '.synthetic_done'


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


Job = Tuple[str, str, int, Optional[dict], str]


def _split_pids(rng: np.random.Generator,
                args: dict) -> Tuple[List[int], List[int]]:
    """Train and test identity numbers, disjoint, scattered over 1..1501
    like Market's."""
    num_ids = args['num_train_ids'] + args['num_test_ids']
    pool = np.arange(1, max(1502, 2 * num_ids))
    pids = rng.choice(pool, num_ids, replace=False)
    train_pids = sorted(int(p) for p in pids[:args['num_train_ids']])
    test_pids = sorted(int(p) for p in pids[args['num_train_ids']:])
    return train_pids, test_pids


def _plan_jobs(rng: np.random.Generator, args: dict, train_pids: List[int],
               test_pids: List[int]) -> List[Job]:
    """Every image to render: (split, name prefix, camera, identity or
    None, kind), identities first, then distractors, then junk."""
    num_cameras = args['num_cameras']
    jobs = []
    for split, split_pids in (('train', train_pids), ('test', test_pids)):
        for pid in split_pids:
            ident = sample_identity(rng)
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
                ('gallery', '0000', cam, sample_identity(rng), 'partial'))
    for _ in range(args['num_junk']):
        cam = int(rng.integers(num_cameras))
        ident = sample_identity(rng) if rng.random() < 0.7 else None
        jobs.append(('gallery', '-1', cam, ident, 'junk'))
    return jobs


def _write_all(out: str, args: dict) -> Dict[str, int]:
    """Render every image of the data set into the folder ``out``."""
    height, width = args['height'], args['width']
    num_cameras = args['num_cameras']
    rng = np.random.default_rng(args['seed'])
    cams = [sample_camera(rng, c, height, width) for c in range(num_cameras)]
    train_pids, test_pids = _split_pids(rng, args)
    jobs = _plan_jobs(rng, args, train_pids, test_pids)

    for folder in SPLIT_DIRS.values():
        os.makedirs(osp.join(out, folder))
    frames = np.zeros(num_cameras, dtype=np.int64)
    counts = dict(train=0, query=0, gallery=0)
    for i, (split, prefix, cam, ident, kind) in enumerate(jobs):
        # One generator per image: an image depends on the seed and its
        # index only.
        img_rng = np.random.default_rng([args['seed'], i])
        img, quality = render(img_rng, cams[cam], height, width, ident,
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
    args = _checked_args(
        num_train_ids=num_train_ids,
        num_test_ids=num_test_ids,
        num_cameras=num_cameras,
        images_per_id=images_per_id,
        num_distractors=num_distractors,
        num_junk=num_junk,
        height=height,
        width=width,
        seed=seed,
        queries_per_camera=queries_per_camera,
        occlusion_prob=occlusion_prob)
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
    return _write_atomically(root, args, replace=exists)


def _checked_args(**kwargs) -> dict:
    """The generator's arguments, checked and in their stored form."""
    if kwargs['num_train_ids'] < 1 or kwargs['num_test_ids'] < 1:
        raise ValueError('num_train_ids and num_test_ids must be positive')
    if kwargs['num_cameras'] < 2:
        raise ValueError('num_cameras must be at least 2: queries are '
                         'matched across cameras')
    if kwargs['images_per_id'] < 1 or kwargs['queries_per_camera'] < 1:
        raise ValueError('images_per_id and queries_per_camera must be '
                         'positive')
    if kwargs['num_distractors'] < 0 or kwargs['num_junk'] < 0:
        raise ValueError('num_distractors and num_junk must be >= 0')
    if kwargs['height'] < 32 or kwargs['width'] < 16:
        raise ValueError('images must be at least 32 x 16 pixels')
    args = {k: int(v) for k, v in kwargs.items() if k != 'occlusion_prob'}
    args['occlusion_prob'] = float(kwargs['occlusion_prob'])
    return _generator_args(**args)


def _write_atomically(root: str, args: dict, replace: bool) -> dict:
    """Render into a temporary sibling of ``root``, then rename it to
    ``root`` in one step; a concurrent winner's data set is used instead.

    Args:
        root (str): The data set folder, absolute.
        args (dict): The stored arguments.
        replace (bool): Whether ``root`` holds an older synthetic data set
            to replace.

    Returns:
        dict: The counts, with ``generated`` 1, or 0 when another process
        wrote the data set first.
    """
    parent, name = osp.split(root)
    os.makedirs(parent, exist_ok=True)
    tmp = osp.join(parent, f'.{name}.tmp-{os.getpid()}-{uuid.uuid4().hex}')
    num_images = ((args['num_train_ids'] + args['num_test_ids']) *
                  args['images_per_id'] + args['num_distractors'] +
                  args['num_junk'])
    print_log(
        f'Generating a synthetic data set of about {num_images} images at '
        f'{root} (once; later runs reuse it)',
        logger='current')
    try:
        counts = _write_all(tmp, args)
        with open(osp.join(tmp, MARKER_FILE), 'w') as f:
            json.dump(dict(args=args, counts=counts), f, indent=2)
        if replace:  # move the old one aside first
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
