"""Data sets in the folder layout of Market-1501, identities in the names."""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from .reid_base import (DISTRACTOR_PID, IMG_EXTENSIONS, JUNK_PID,
                        BaseReIDDataset)

# Sub-folder of each split in Market-1501's layout.
SPLIT_DIRS = dict(
    train='bounding_box_train', query='query', gallery='bounding_box_test')


class ReIDFolderDataset(BaseReIDDataset):
    """A split read from one folder whose file names give pid and camera.

    The folders are those of Market-1501 (:data:`SPLIT_DIRS` under
    ``data_root``) unless a subclass moves them (:meth:`default_img_dir`).
    The images are read sorted by file name. Junk boxes (identity -1) are
    dropped from every split, as the standard protocol ignores them.
    Distractors (identity 0, boxes of no annotated person) are kept in the
    gallery only, where they make retrieval harder; in ``train`` and
    ``query`` they are dropped. Camera ``C`` of a name is stored as
    ``camid = C - 1``.

    A subclass declares :attr:`NAME_PATTERN` (groups: identity, 1-based
    camera), :attr:`EXPECTED_NAME`, :attr:`NUM_CAMERAS` and
    :attr:`DATASET_HELP`.

    Arguments are those of :class:`BaseReIDDataset`.
    """

    # Only the identity and the camera are read; the rest of the name is
    # free, so renamed copies still load.
    NAME_PATTERN = re.compile(r'^(-1|\d+)_c(\d+)')
    # The expected name, for messages.
    EXPECTED_NAME = ''
    # Cameras are numbered 1 .. NUM_CAMERAS in the names; None: no upper
    # bound.
    NUM_CAMERAS: Optional[int] = None

    def default_img_dir(self, split: str) -> str:
        """The split's folder of Market-1501's layout.

        Args:
            split (str): One of ``SPLIT_DIRS``.

        Returns:
            str: ``bounding_box_train``, ``query`` or ``bounding_box_test``.
        """
        return SPLIT_DIRS[split]

    def parse_name(self, filename: str) -> Tuple[int, int]:
        """Read the identity and the camera of an image name.

        Args:
            filename (str): The base name of the image.

        Returns:
            tuple[int, int]: The identity and the 0-based camera.

        Raises:
            ValueError: If the name does not match or names a camera out of
                ``1 .. NUM_CAMERAS``.
        """
        match = self.NAME_PATTERN.match(filename)
        if match is None:
            raise ValueError(f'Cannot parse the {self.dataset_name} image '
                             f'name {filename!r}: expected '
                             f'{self.EXPECTED_NAME}.')
        pid, cam = int(match.group(1)), int(match.group(2))
        last = self.NUM_CAMERAS
        if cam < 1 or (last is not None and cam > last):
            cameras = f'1 to {last}' if last else 'numbered from 1'
            raise ValueError(f'{self.dataset_name} has cameras {cameras}, but '
                             f'{filename!r} names camera {cam}: expected '
                             f'{self.EXPECTED_NAME}.')
        return pid, cam - 1

    def load_records(self) -> List[dict]:
        """Read the split folder, sorted by file name.

        Returns:
            list[dict]: See :meth:`BaseReIDDataset.load_records`.
        """
        img_dir = self.data_prefix['img_path']
        self._check_dir(img_dir, f'{self.split} folder')
        names = sorted(
            name for name in os.listdir(img_dir)
            if name.lower().endswith(IMG_EXTENSIONS)
            and osp.isfile(osp.join(img_dir, name)))
        if not names:
            raise ValueError(
                f'{self.dataset_name} {self.split} folder {img_dir!r} holds '
                f'no .jpg or .png image. {self.DATASET_HELP}')

        keep_distractors = self.split == 'gallery'
        records = []
        for name in names:
            pid, camid = self.parse_name(name)
            if pid == JUNK_PID or (pid == DISTRACTOR_PID
                                   and not keep_distractors):
                continue
            records.append(
                dict(img_path=osp.join(img_dir, name), pid=pid, camid=camid))
        if not records:
            raise ValueError(
                f'All {len(names)} images in {img_dir!r} are junk (identity '
                f'-1) or distractors (identity 0); the {self.split} split '
                'needs images of annotated identities.')
        return records
