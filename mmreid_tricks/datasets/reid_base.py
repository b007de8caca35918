"""The base of every ReID data set: one split, relabelled, with metainfo."""
import os.path as osp
from typing import Any, Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init

from mmreid_tricks.utils.random_state import seeded_cpu_random

# The splits of a ReID data set; query and gallery are evaluated together.
SPLITS = ('train', 'query', 'gallery')
# Identity -1 marks junk boxes, identity 0 distractors (Market-1501's rule).
JUNK_PID = -1
DISTRACTOR_PID = 0
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png')


class SamplePipelineError(RuntimeError):
    """The pipeline failed on one sample; the message names its image file
    and says whether it is missing or empty."""


def describe_image_file(path: str) -> str:
    """What an image file's size says about it, for error messages.

    Args:
        path (str): The image file.

    Returns:
        str: ``'missing'``, ``'empty: 0 bytes'`` or ``'N bytes'``.
    """
    if not osp.isfile(path):
        return 'missing'
    size = osp.getsize(path)
    return 'empty: 0 bytes' if size == 0 else f'{size} bytes'


class BaseReIDDataset(BaseDataset):
    """One split of a person ReID data set.

    A subclass says where its images are and implements
    :meth:`load_records`, which returns the kept images of the split with
    their identity and camera; this class does the rest, the same for every
    data set: it checks the split, relabels the identities, builds the data
    infos and the metainfo, answers the samplers, and names the image when
    its pipeline fails.

    Each data info holds ``img_path``, ``gt_label`` (the relabelled identity
    when ``relabel`` is on, the original one otherwise), ``pid`` (original
    identity), ``camid`` (0-based camera) and ``is_query``.

    The metainfo holds ``dataset_name``, ``split`` and ``num_pids`` (distinct
    identities in this split; known once the split is read, at once unless
    ``lazy_init``). ``split`` and ``num_pids`` differ between query and
    gallery, so the evaluation set is built as ``dict(type='ConcatDataset',
    datasets=[query, gallery], ignore_keys=['split', 'num_pids'])`` (see
    :attr:`SPLIT_META_KEYS`); the concatenation then reports the query's
    metainfo.

    Args:
        data_root (str): Folder of the data set.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``.
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
            image folder (:meth:`default_img_dir`). Defaults to None.
        lazy_init (bool): Whether to defer reading the split until first
            use. Defaults to False.
        **kwargs: Other arguments of :class:`~mmengine.dataset.BaseDataset`,
            such as ``indices`` or ``serialize_data``.
    """

    METAINFO = dict(dataset_name='ReID')
    # Metainfo keys that differ between splits: ConcatDataset's ignore_keys.
    SPLIT_META_KEYS = ['split', 'num_pids']
    # Appended to layout errors: what to put where, and where to get it.
    DATASET_HELP = ''

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 relabel: Optional[bool] = None,
                 data_prefix: Optional[dict] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split must be one of {list(SPLITS)}, '
                             f'but got {split!r}')
        if 'ann_file' in kwargs:
            raise TypeError(f'{type(self).__name__} finds its images under '
                            'data_root and takes no ann_file')
        self.split = split
        self.relabel = split == 'train' if relabel is None else relabel
        if data_prefix is None:
            data_prefix = dict(img_path=self.default_img_dir(split))
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            test_mode=test_mode,
            lazy_init=lazy_init,
            **kwargs)
        # Set here, not through `metainfo`, which takes a string for a file
        # name; set before the split is read, so lazy instances have it.
        self._metainfo['split'] = split

    @property
    def dataset_name(self) -> str:
        """The data set's name, as messages print it."""
        return self._metainfo.get('dataset_name', type(self).__name__)

    def default_img_dir(self, split: str) -> str:
        """The image folder of ``split``, relative to ``data_root``.

        Args:
            split (str): One of :data:`SPLITS`.

        Returns:
            str: The folder; '' (the default) is ``data_root`` itself.
        """
        return ''

    def load_records(self) -> List[dict]:
        """Read the split.

        Returns:
            list[dict]: One dict per kept image, in data order, with
            ``img_path`` (str), ``pid`` (int) and ``camid`` (int, 0-based).
        """
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Turn the records of :meth:`load_records` into data infos.

        Returns:
            list[dict]: Data infos, in the order of the records.
        """
        records = self.load_records()
        pids = sorted({r['pid'] for r in records})
        label_of = {pid: label for label, pid in enumerate(pids)}
        is_query = self.split == 'query'
        data_list = [
            dict(
                img_path=r['img_path'],
                gt_label=label_of[r['pid']] if self.relabel else r['pid'],
                pid=r['pid'],
                camid=r['camid'],
                is_query=is_query) for r in records
        ]
        self._metainfo.update(split=self.split, num_pids=len(pids))
        return data_list

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

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on one sample, naming its image if it fails.

        An image that is empty, truncated or not an image makes the loading
        transform fail with a message that may not name the file (OpenCV's
        ``!buf.empty()`` for an empty file); any error of the pipeline is
        raised again as a :class:`SamplePipelineError` that names the data
        set, the split, the file and its size, the original error as its
        cause.

        Args:
            idx (int): Index of the sample.

        Returns:
            Any: What the pipeline returns.
        """
        try:
            return super().prepare_data(idx)
        except Exception as err:
            img_path = self.get_data_info(idx).get('img_path')
            if not img_path:
                raise
            raise SamplePipelineError(
                f'{self.dataset_name} {self.split} image {img_path!r} '
                f'({describe_image_file(img_path)}, sample {idx}) failed in '
                f'the pipeline with {type(err).__name__}: {err}') from err

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

    @classmethod
    def check_data_root(cls, data_root: Optional[str]) -> None:
        """Raise a FileNotFoundError that says what to put where if
        ``data_root`` is set but missing.

        The tools call it on the config before the Runner starts (and
        prints the whole config), so that a missing data set ends the
        output with this message alone.
        """
        if data_root and not osp.isdir(data_root):
            name = cls.METAINFO.get('dataset_name', cls.__name__)
            raise FileNotFoundError(
                f'{name} data_root {data_root!r} does not exist. '
                f'{cls.DATASET_HELP}')

    def _check_dir(self, path: str, what: str) -> None:
        """Raise a FileNotFoundError that says what to put where.

        Args:
            path (str): The folder that must exist.
            what (str): What it is, e.g. ``'train folder'``.
        """
        self._check_exists(path, what, osp.isdir)

    def _check_file(self, path: str, what: str) -> None:
        """Like :meth:`_check_dir`, for a file.

        Args:
            path (str): The file that must exist.
            what (str): What it is, e.g. ``'list file'``.
        """
        self._check_exists(path, what, osp.isfile)

    def _check_exists(self, path: str, what: str,
                      exists: Callable[[str], bool]) -> None:
        self.check_data_root(self.data_root)
        if not exists(path):
            raise FileNotFoundError(
                f'{self.dataset_name} {what} {path!r} does not exist. '
                f'{self.DATASET_HELP}')
