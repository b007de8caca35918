"""The Market-1501 person re-identification data set."""
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init

from mmreid_tricks.registry import DATASETS
from mmreid_tricks.utils.random_state import seeded_cpu_random

# Sub-folder of each split in the released archive.
SPLIT_DIRS = dict(
    train='bounding_box_train', query='query', gallery='bounding_box_test')
# Identity -1 marks junk boxes, identity 0 distractors (see the class doc).
JUNK_PID = -1
DISTRACTOR_PID = 0
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png')
# Only the identity and the camera are read; the rest of the name (sequence,
# frame, box index) is free, so renamed copies still load.
FILENAME_PATTERN = re.compile(r'^(-1|\d+)_c(\d+)')
EXPECTED_NAME = ('PPPP_cCsS_FFFFFF_NN.jpg, e.g. 0002_c1s1_000451_01.jpg: '
                 'identity PPPP (-1 junk, 0 distractor), camera C >= 1')
DATASET_HELP = (
    'Expected layout: <data_root>/bounding_box_train/, <data_root>/query/ '
    'and <data_root>/bounding_box_test/, as in the released archive '
    'Market-1501-v15.09.15 (Zheng et al., ICCV 2015; download it from '
    'https://zheng-lab.cecs.anu.edu.au/Project/project_reid.html and unzip '
    'it). To try the package without it, '
    'configs/strong_baseline_synthetic.py runs on generated data.')


def parse_market_filename(filename: str) -> Dict[str, int]:
    """Read the identity and camera of a Market-1501 image name.

    Args:
        filename (str): Base name such as ``0002_c1s1_000451_01.jpg``.

    Returns:
        dict: ``pid`` (int, -1 junk, 0 distractor) and ``camid`` (int,
        0-based: camera ``c1`` gives 0).

    Raises:
        ValueError: If the name does not follow the pattern or names camera 0.
    """
    match = FILENAME_PATTERN.match(filename)
    if match is None:
        raise ValueError(f'Cannot parse the image name {filename!r}: '
                         f'expected {EXPECTED_NAME}.')
    pid, cam = int(match.group(1)), int(match.group(2))
    if cam < 1:
        raise ValueError(f'Camera numbers start at 1 in Market-1501 names, '
                         f'but {filename!r} names camera {cam}: '
                         f'expected {EXPECTED_NAME}.')
    return dict(pid=pid, camid=cam - 1)


@DATASETS.register_module()
class Market1501(BaseDataset):
    """Market-1501 (Zheng et al., ICCV 2015), one split per instance.

    The identity and camera of every image are read from its file name,
    ``PPPP_cCsS_FFFFFF_NN.jpg``. Junk boxes (identity -1) are dropped from
    every split, as the standard protocol ignores them. Distractors
    (identity 0, boxes of no annotated person) are kept in the gallery only,
    where they make retrieval harder; in ``train`` and ``query`` they are
    dropped. Camera ``cC`` is stored as ``camid = C - 1``.

    Each data info holds ``img_path``, ``gt_label`` (the relabelled identity
    when ``relabel`` is on, the original one otherwise), ``pid`` (original
    identity), ``camid`` (0-based camera) and ``is_query``.

    The metainfo holds ``dataset_name``, ``split`` and ``num_pids`` (distinct
    identities in this split, distractors counted as one; known once the
    folder is read, at once unless ``lazy_init``). ``split`` and
    ``num_pids`` differ between query and gallery, so the evaluation set is
    built as ``dict(type='ConcatDataset', datasets=[query, gallery],
    ignore_keys=['split', 'num_pids'])`` (see :attr:`SPLIT_META_KEYS`); the
    concatenation then reports the query's metainfo.

    Args:
        data_root (str): Folder that holds the three split folders.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``, read from
            ``bounding_box_train``, ``query`` and ``bounding_box_test``.
            Defaults to ``'train'``.
        pipeline (Sequence[dict | Callable]): Transforms applied to each
            sample. Defaults to ``()``.
        test_mode (bool): Passed to :class:`~mmengine.dataset.BaseDataset`.
            Defaults to False.
        relabel (bool, optional): Whether ``gt_label`` maps the identities,
            in sorted order, to ``0 .. num_pids - 1``, as the classifier of a
            training set needs. None means True for ``train`` and False
            otherwise. Defaults to None.
        data_prefix (dict, optional): ``dict(img_path=...)``, a folder under
            ``data_root`` (or absolute) that replaces the split's default
            folder. Defaults to None.
        lazy_init (bool): Whether to defer reading the folder until first
            use. Defaults to False.
        **kwargs: Other arguments of :class:`~mmengine.dataset.BaseDataset`,
            such as ``indices`` or ``serialize_data``.
    """

    METAINFO = dict(dataset_name='Market-1501')
    # Metainfo keys that differ between splits: ConcatDataset's ignore_keys.
    SPLIT_META_KEYS = ['split', 'num_pids']

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 relabel: Optional[bool] = None,
                 data_prefix: Optional[dict] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if split not in SPLIT_DIRS:
            raise ValueError(f'split must be one of {list(SPLIT_DIRS)}, '
                             f'but got {split!r}')
        if 'ann_file' in kwargs:
            raise TypeError(f'{type(self).__name__} reads identities from '
                            'file names and takes no ann_file')
        self.split = split
        self.relabel = split == 'train' if relabel is None else relabel
        if data_prefix is None:
            data_prefix = dict(img_path=SPLIT_DIRS[split])
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            **kwargs)
        # Set here, not through `metainfo`, which takes a string for a file
        # name; set before the folder is read, so lazy instances have it.
        self._metainfo['split'] = split

    def _check_folder(self, img_dir: str) -> None:
        """Raise a FileNotFoundError that says what to put where."""
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'Market-1501 data_root {self.data_root!r} does not exist. '
                f'{DATASET_HELP}')
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'Market-1501 {self.split} folder {img_dir!r} does not '
                f'exist. {DATASET_HELP}')

    def load_data_list(self) -> List[dict]:
        """Read the split folder and build one data info per kept image.

        Returns:
            list[dict]: Data infos, sorted by file name.
        """
        img_dir = self.data_prefix['img_path']
        self._check_folder(img_dir)

        names = sorted(
            name for name in os.listdir(img_dir)
            if name.lower().endswith(IMG_EXTENSIONS)
            and osp.isfile(osp.join(img_dir, name)))
        if not names:
            raise ValueError(f'Market-1501 {self.split} folder {img_dir!r} '
                             f'holds no .jpg or .png image. {DATASET_HELP}')

        keep_distractors = self.split == 'gallery'
        records = []
        for name in names:
            record = parse_market_filename(name)
            if record['pid'] == JUNK_PID:
                continue
            if record['pid'] == DISTRACTOR_PID and not keep_distractors:
                continue
            record['img_path'] = osp.join(img_dir, name)
            records.append(record)
        if not records:
            raise ValueError(
                f'All {len(names)} images in {img_dir!r} are junk (identity '
                f'-1) or distractors (identity 0); the {self.split} split '
                'needs images of annotated identities.')

        pids = sorted({r['pid'] for r in records})
        label_of = {pid: label for label, pid in enumerate(pids)}
        is_query = self.split == 'query'
        data_list = []
        for r in records:
            data_list.append(
                dict(
                    img_path=r['img_path'],
                    gt_label=label_of[r['pid']] if self.relabel else r['pid'],
                    pid=r['pid'],
                    camid=r['camid'],
                    is_query=is_query))

        self._metainfo.update(split=self.split, num_pids=len(pids))
        return data_list

    @force_full_init
    def get_gt_labels(self) -> np.ndarray:
        """All ``gt_label`` values, in data order.

        Returns:
            np.ndarray: Integer array of shape (N, ).
        """
        return np.array(
            [self.get_data_info(i)['gt_label'] for i in range(len(self))],
            dtype=np.int64)

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """The identity label of one sample, as samplers expect.

        Args:
            idx (int): Index of the sample.

        Returns:
            list[int]: ``[gt_label]``.
        """
        return [int(self.get_data_info(idx)['gt_label'])]

    def __getitem__(self, idx: int) -> dict:
        """The idx-th sample after the pipeline, seeded if ``idx`` says so.

        An index with a ``seed`` (a :class:`SeededIndex` from the identity
        sampler) runs the pipeline, refetches included, with python's,
        numpy's and torch's CPU generators seeded by it, then restores them:
        the sample's random augmentation is a function of its place in the
        epoch, the same whichever worker loads it and after a resume.

        Args:
            idx (int): Index of the sample, possibly a ``SeededIndex``.

        Returns:
            dict: The sample, as :class:`~mmengine.dataset.BaseDataset`
            returns it.
        """
        seed = getattr(idx, 'seed', None)
        if seed is None:
            return super().__getitem__(idx)
        with seeded_cpu_random(seed):
            return super().__getitem__(int(idx))
