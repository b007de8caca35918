"""Random patch: paste a patch cut from an earlier image (torchreid)."""
import math
from collections import deque
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmreid_tricks.registry import TRANSFORMS

# torchreid's argument names, which mean the chance of NOT flipping or
# rotating there (it acts when a uniform draw exceeds them), and ours.
TORCHREID_ARGS = dict(
    prob_flip_leftright='flip_prob', prob_rotate='rotate_prob')


def reject_torchreid_args(kwargs: dict) -> None:
    """Raise a TypeError for torchreid's flip and rotate arguments, and for
    any other unknown argument.

    torchreid's ``RandomPatch`` flips when ``uniform(0, 1) >
    prob_flip_leftright``, that is with probability ``1 -
    prob_flip_leftright`` (rotation likewise); read with the usual meaning,
    a ported value other than 0.5 would silently do the opposite.

    Args:
        kwargs (dict): The arguments :class:`RandomPatch` did not take.
    """
    for name, value in kwargs.items():
        if name in TORCHREID_ARGS:
            ours = TORCHREID_ARGS[name]
            raise TypeError(
                f'RandomPatch takes {ours}, the probability of the '
                f'operation, not torchreid\'s {name}={value!r}, which is '
                'the probability of skipping it (torchreid acts when a '
                f'uniform draw exceeds it): use {ours}=1 - {name}.')
    if kwargs:
        raise TypeError('RandomPatch got unexpected arguments '
                        f'{sorted(kwargs)}')


@TRANSFORMS.register_module()
class RandomPatch(BaseTransform):
    """Occlude the image with a patch cut from an earlier image.

    Each call cuts a random patch out of the current image and adds it to a
    pool (a deque that forgets the oldest patch when full). Once the pool
    holds ``min_sample_size`` patches, with probability ``prob_happen`` a
    random patch of the pool is flipped and rotated at random and pasted at a
    uniform position of the image, imitating occlusion by other people or
    objects. This follows the ``RandomPatch`` of torchreid (Zhou et al., OSNet,
    ICCV 2019).

    ``flip_prob`` and ``rotate_prob`` are the probabilities of flipping and
    rotating. torchreid's ``prob_flip_leftright`` and ``prob_rotate`` are
    the probabilities of *not* doing so; they are refused with a message
    (their defaults, 0.5, agree), so that no ported config silently flips.
    Convert as ``flip_prob = 1 - prob_flip_leftright``.

    The patch is drawn like a random-erasing box: up to 100 times, an area
    fraction uniform in [``patch_min_area``, ``patch_max_area``] and an aspect
    ratio (height / width) uniform in [``patch_min_ratio``,
    ``1 / patch_min_ratio``], accepted if strictly smaller than the image.

    Rotation keeps the patch's shape (a quarter turn would not for a
    non-square patch): it turns the patch by an angle uniform in
    [-``max_rotate_angle``, ``max_rotate_angle``] degrees about its centre
    and fills the uncovered corners with ``rotate_border_value``, as
    torchreid's small PIL rotation does with black.

    Note:
        The pool lives in the transform object, so every dataloader worker
        process has its own pool, filled only from the images that worker
        loads; with ``persistent_workers=False`` the pools start empty every
        epoch. The pool can be large: at the default capacity and areas it
        holds up to about 1 GB of 256 x 128 patches per worker.

    **Required Keys:**

    - img

    **Modified Keys:**

    - img

    Args:
        prob_happen (float): Probability of pasting once the pool is full
            enough. Defaults to 0.5.
        pool_capacity (int): Most patches the pool keeps. Defaults to 50000.
        min_sample_size (int): Patches the pool needs before any paste.
            Defaults to 100.
        patch_min_area (float): Smallest patch area as a fraction of the
            image area. Defaults to 0.01.
        patch_max_area (float): Largest patch area fraction. Defaults to 0.5.
        patch_min_ratio (float): Smallest aspect ratio; the largest is its
            inverse. Defaults to 0.1.
        flip_prob (float): Probability of flipping the pasted patch
            left-right. Defaults to 0.5.
        rotate_prob (float): Probability of rotating the pasted patch.
            Defaults to 0.5.
        max_rotate_angle (float): Largest rotation in degrees. Defaults to 10.
        rotate_border_value (int): Value of the corners a rotation uncovers.
            Defaults to 0.
        **kwargs: Refused: torchreid's ``prob_flip_leftright`` and
            ``prob_rotate`` raise a TypeError that says how to convert them.
    """

    def __init__(self,
                 prob_happen: float = 0.5,
                 pool_capacity: int = 50000,
                 min_sample_size: int = 100,
                 patch_min_area: float = 0.01,
                 patch_max_area: float = 0.5,
                 patch_min_ratio: float = 0.1,
                 flip_prob: float = 0.5,
                 rotate_prob: float = 0.5,
                 max_rotate_angle: float = 10.,
                 rotate_border_value: int = 0,
                 **kwargs) -> None:
        reject_torchreid_args(kwargs)
        for name, prob in (('prob_happen', prob_happen),
                           ('flip_prob', flip_prob), ('rotate_prob',
                                                      rotate_prob)):
            if not 0 <= prob <= 1:
                raise ValueError(f'{name} must be in [0, 1], got {prob}')
        if not 0 < patch_min_area <= patch_max_area <= 1:
            raise ValueError(
                'patch areas must satisfy 0 < patch_min_area <= '
                f'patch_max_area <= 1, got {patch_min_area}, {patch_max_area}')
        if not 0 < patch_min_ratio <= 1:
            raise ValueError(
                f'patch_min_ratio must be in (0, 1], got {patch_min_ratio}')
        if pool_capacity < 1:
            raise ValueError(
                f'pool_capacity must be positive, got {pool_capacity}')
        self.prob_happen = prob_happen
        self.pool_capacity = pool_capacity
        self.min_sample_size = min_sample_size
        self.patch_min_area = patch_min_area
        self.patch_max_area = patch_max_area
        self.patch_min_ratio = patch_min_ratio
        self.flip_prob = flip_prob
        self.rotate_prob = rotate_prob
        self.max_rotate_angle = max_rotate_angle
        self.rotate_border_value = rotate_border_value
        self.patch_pool = deque(maxlen=pool_capacity)

    @cache_randomness
    def _sample_patch_box(self, img_h: int,
                          img_w: int) -> Optional[Tuple[int, int, int, int]]:
        """Draw (top, left, h, w) of a patch to cut, or None if none fits."""
        area = img_h * img_w
        for _ in range(100):
            target_area = np.random.uniform(self.patch_min_area,
                                            self.patch_max_area) * area
            aspect = np.random.uniform(self.patch_min_ratio,
                                       1 / self.patch_min_ratio)
            h = int(round(math.sqrt(target_area * aspect)))
            w = int(round(math.sqrt(target_area / aspect)))
            if 0 < h < img_h and 0 < w < img_w:
                return (np.random.randint(0, img_h - h + 1),
                        np.random.randint(0, img_w - w + 1), h, w)
        return None

    def _transform_patch(self, patch: np.ndarray) -> np.ndarray:
        if np.random.rand() < self.flip_prob:
            patch = patch[:, ::-1]
        if np.random.rand() < self.rotate_prob:
            angle = np.random.uniform(-self.max_rotate_angle,
                                      self.max_rotate_angle)
            # cv2 fills only the first channel from a scalar border value.
            channels = patch.shape[2] if patch.ndim == 3 else 1
            border = (self.rotate_border_value, ) * channels
            patch = mmcv.imrotate(
                np.ascontiguousarray(patch), angle, border_value=border)
        return patch

    def transform(self, results: dict) -> dict:
        """Add a patch of ``results['img']`` to the pool, then maybe paste.

        Args:
            results (dict): The result dict, with ``img`` of shape (H, W) or
                (H, W, C).

        Returns:
            dict: The result dict, its image possibly occluded by a patch.
        """
        img = results['img']
        img_h, img_w = img.shape[:2]
        box = self._sample_patch_box(img_h, img_w)
        if box is not None:
            top, left, h, w = box
            # Copy, so that later changes to this image leave the pool alone.
            self.patch_pool.append(img[top:top + h, left:left + w].copy())

        if len(self.patch_pool) < self.min_sample_size:
            return results
        if np.random.rand() >= self.prob_happen:
            return results
        patch = self.patch_pool[np.random.randint(len(self.patch_pool))]
        h, w = patch.shape[:2]
        # Patches from larger images (a pipeline without a fixed resize)
        # may not fit; skip rather than crop them.
        if h > img_h or w > img_w:
            return results
        top = np.random.randint(0, img_h - h + 1)
        left = np.random.randint(0, img_w - w + 1)
        img = img.copy()
        img[top:top + h, left:left + w] = self._transform_patch(patch)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob_happen={self.prob_happen}, '
                f'pool_capacity={self.pool_capacity}, '
                f'min_sample_size={self.min_sample_size}, '
                f'patch_min_area={self.patch_min_area}, '
                f'patch_max_area={self.patch_max_area}, '
                f'patch_min_ratio={self.patch_min_ratio}, '
                f'flip_prob={self.flip_prob}, '
                f'rotate_prob={self.rotate_prob}, '
                f'max_rotate_angle={self.max_rotate_angle}, '
                f'rotate_border_value={self.rotate_border_value})')
