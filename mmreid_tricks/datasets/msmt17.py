"""The MSMT17 person re-identification data set, versions 1 and 2."""
import os.path as osp
from typing import List, Optional

from mmreid_tricks.registry import DATASETS
from .list_files import check_files_exist, parse_int_field, read_list_lines
from .reid_base import BaseReIDDataset

# Image folders of each version; v2 blurs the faces, names are the same.
VERSION_DIRS = dict(
    v1=dict(train='train', test='test'),
    v2=dict(train='mask_train_v2', test='mask_test_v2'))
# The released archives, named in the hint when data_root is their parent.
VERSION_ARCHIVES = dict(v1='MSMT17_V1', v2='MSMT17_V2')
# List files of each split; list_val is kept out of train on request.
LIST_FILES = dict(
    train=('list_train.txt', 'list_val.txt'),
    query=('list_query.txt', ),
    gallery=('list_gallery.txt', ))
NUM_CAMERAS = 15
LINE_FORMAT = '<path relative to the image folder> <pid>'
EXPECTED_NAME = ('PPPP_NNN_CC_DDDDtime_FFFF_K.jpg, e.g. '
                 '0000_000_01_0303morning_0015_0.jpg: camera CC in 1..15')


def parse_msmt17_camera(filename: str) -> int:
    """Read the camera of an MSMT17 image name.

    Args:
        filename (str): Base name such as
            ``0000_000_01_0303morning_0015_0.jpg``, whose third field is
            the camera.

    Returns:
        int: The 0-based camera (``01`` gives 0).

    Raises:
        ValueError: If the name has no such field or the camera is not in
            1..15.
    """
    fields = filename.split('_')
    if len(fields) < 4 or not fields[2].isdigit():
        raise ValueError(f'Cannot read the camera of the MSMT17 image name '
                         f'{filename!r}: expected {EXPECTED_NAME}.')
    cam = int(fields[2])
    if not 1 <= cam <= NUM_CAMERAS:
        raise ValueError(f'MSMT17 has cameras 1 to {NUM_CAMERAS}, but '
                         f'{filename!r} names camera {cam}: expected '
                         f'{EXPECTED_NAME}.')
    return cam - 1


@DATASETS.register_module()
class MSMT17(BaseReIDDataset):
    """MSMT17 (Wei et al., CVPR 2018), one split per instance.

    ``data_root`` is the unpacked release, ``MSMT17_V1/`` or
    ``MSMT17_V2/``, which holds two image folders and four list files:

    - v1: ``train/`` and ``test/``;
    - v2 (faces blurred): ``mask_train_v2/`` and ``mask_test_v2/``;
    - both: ``list_train.txt``, ``list_val.txt``, ``list_query.txt`` and
      ``list_gallery.txt``, one image a line, ``<path> <pid>``, the path
      relative to the train folder (train, val) or the test folder (query,
      gallery), e.g. ``0000/0000_000_01_0303morning_0015_0.jpg 0``.

    The identity is the one listed. The camera is the third ``_`` field of
    the file name, 1..15, stored as ``camid = C - 1``. The release has no
    junk or distractor labels, so every listed image is kept, in list
    order, and pid 0 is an ordinary identity (train and test ids both start
    at 0).

    The official training set (32,621 images of 1,041 identities, as papers
    report it) is ``list_train`` (30,248) plus ``list_val`` (2,373, a held
    out part of the same identities); ``combine_trainval`` reads both, as is
    common. Query has 11,659 and gallery 82,161 images of 3,060 identities.

    The data infos and the metainfo are those of :class:`BaseReIDDataset`.

    Args:
        data_root (str): Folder that holds the image folders and the lists.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``.
            Defaults to ``'train'``.
        version (str, optional): ``'v1'`` or ``'v2'``; None detects it from
            the image folders present, and fails if both versions' are.
            The version read is :attr:`version` once loaded.
            Defaults to None.
        combine_trainval (bool): Whether the train split adds
            ``list_val.txt`` to ``list_train.txt``. Defaults to True.
        check_files (bool): Whether to check that every listed image
            exists (one ``stat`` per image, slow on network file systems)
            and list the missing ones. Defaults to False.
        data_prefix (dict, optional): ``dict(img_path=...)``, a folder under
            ``data_root`` (or absolute) that replaces the version's image
            folder of the split. Defaults to None.
        **kwargs: Other arguments of :class:`BaseReIDDataset`, such as
            ``pipeline``, ``relabel`` or ``lazy_init``.
    """

    METAINFO = dict(dataset_name='MSMT17')
    DATASET_HELP = (
        'Expected layout (point data_root at MSMT17_V1/ or MSMT17_V2/): '
        'v1 <data_root>/train/ and <data_root>/test/, or v2 <data_root>/'
        'mask_train_v2/ and <data_root>/mask_test_v2/, next to '
        '<data_root>/list_train.txt, list_val.txt, list_query.txt and '
        'list_gallery.txt, as in the release of Wei et al. (CVPR 2018).')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 version: Optional[str] = None,
                 combine_trainval: bool = True,
                 check_files: bool = False,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if 'ann_file' in kwargs:
            raise TypeError('MSMT17 reads the list files of the release '
                            'under data_root and takes no ann_file')
        if version is not None and version not in VERSION_DIRS:
            raise ValueError(f'version must be one of {list(VERSION_DIRS)} '
                             f'or None, but got {version!r}')
        # Resolved when the lists are read, so that lazy_init touches no
        # file in the constructor.
        self.version = version
        self.combine_trainval = combine_trainval
        self.check_files = check_files
        self._own_img_dir = data_prefix is not None
        super().__init__(
            data_root=data_root,
            split=split,
            data_prefix=data_prefix,
            **kwargs)

    @property
    def list_root(self) -> str:
        """The folder that holds the list files."""
        return self.data_root or ''

    def _detect_version(self, part: str) -> str:
        """Find the version whose image folder for ``part`` exists.

        Args:
            part (str): ``'train'`` or ``'test'``.

        Returns:
            str: ``'v1'`` or ``'v2'``.
        """
        self.check_data_root(self.data_root)
        root = self.list_root
        if self.version is not None:
            return self.version
        found = [
            v for v, dirs in VERSION_DIRS.items()
            if osp.isdir(osp.join(root, dirs[part]))
        ]
        if len(found) == 1:
            return found[0]
        if found:
            raise ValueError(
                f'MSMT17 data_root {root!r} holds the {part} folders of both '
                f'versions, {VERSION_DIRS["v1"][part]}/ (v1) and '
                f'{VERSION_DIRS["v2"][part]}/ (v2); choose one with '
                "version='v1' or version='v2'.")
        archives = [
            name for name in VERSION_ARCHIVES.values()
            if osp.isdir(osp.join(root, name))
        ]
        hint = (f' It holds {", ".join(archives)}/: point data_root there.'
                if archives else '')
        raise FileNotFoundError(
            f'MSMT17 data_root {root!r} holds neither '
            f'{VERSION_DIRS["v1"][part]}/ (v1) nor '
            f'{VERSION_DIRS["v2"][part]}/ (v2).{hint} {self.DATASET_HELP}')

    def load_records(self) -> List[dict]:
        """Read the split's list files, in order.

        Returns:
            list[dict]: See :meth:`BaseReIDDataset.load_records`.
        """
        part = 'train' if self.split == 'train' else 'test'
        if self._own_img_dir:
            img_dir = self.data_prefix['img_path']
        else:
            self.version = self._detect_version(part)
            img_dir = osp.join(self.list_root,
                               VERSION_DIRS[self.version][part])
        self._check_dir(img_dir, f'{part} image folder')

        list_names = LIST_FILES[self.split]
        if self.split == 'train' and not self.combine_trainval:
            list_names = list_names[:1]
        records = []
        for list_name in list_names:
            records += self._read_list(
                osp.join(self.list_root, list_name), img_dir)
        if not records:
            raise ValueError(
                f'The MSMT17 {self.split} lists {list(list_names)} hold no '
                f'image; expected lines {LINE_FORMAT!r}.')
        if self.check_files:
            check_files_exist([r['img_path'] for r in records],
                              ' and '.join(list_names))
        return records

    def _read_list(self, list_path: str, img_dir: str) -> List[dict]:
        """Read one list file.

        Args:
            list_path (str): The list file.
            img_dir (str): The folder its paths are relative to.

        Returns:
            list[dict]: Its records, in order.
        """
        self._check_file(list_path, 'list file')
        records = []
        for lineno, (path, pid) in read_list_lines(list_path, 2, LINE_FORMAT):
            pid = parse_int_field(pid, 'pid', list_path, lineno, LINE_FORMAT)
            if pid < 0:
                raise ValueError(
                    f'{list_path}, line {lineno}: MSMT17 identities are '
                    f'0 or more, but got {pid}.')
            try:
                camid = parse_msmt17_camera(osp.basename(path))
            except ValueError as err:
                raise ValueError(
                    f'{list_path}, line {lineno}: {err}') from None
            records.append(
                dict(img_path=osp.join(img_dir, path), pid=pid, camid=camid))
        return records
