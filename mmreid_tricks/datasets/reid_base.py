"""Shared loading code of the data sets that follow :class:`Market1501`."""
import os
import os.path as osp
import re
from typing import Callable, Iterator, List, Sequence, Tuple

from .market1501 import DISTRACTOR_PID, IMG_EXTENSIONS, JUNK_PID, Market1501

# How many missing files an error names before it only counts the rest.
MAX_LISTED_MISSING = 10


def read_list_lines(path: str, num_fields: int,
                    line_format: str) -> Iterator[Tuple[int, List[str]]]:
    """Yield the data lines of a list file, split at white space.

    Blank lines and lines starting with ``#`` are skipped, so the files may
    carry comments.

    Args:
        path (str): The list file.
        num_fields (int): How many fields every data line must have.
        line_format (str): The expected line, for error messages, e.g.
            ``'<path> <pid>'``.

    Yields:
        tuple[int, list[str]]: The 1-based line number and the fields.

    Raises:
        ValueError: If a data line has another number of fields; the
            message names the file and the line.
    """
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            fields = line.split()
            if len(fields) != num_fields:
                raise ValueError(
                    f'{path}, line {lineno}: expected {num_fields} fields, '
                    f'{line_format!r} separated by white space, but got '
                    f'{line!r}.')
            yield lineno, fields


def parse_int_field(value: str, what: str, path: str, lineno: int,
                    line_format: str) -> int:
    """Read an integer field of a list line, naming the line if it fails.

    Args:
        value (str): The field.
        what (str): Its name in messages, e.g. ``'pid'``.
        path (str): The list file, for messages.
        lineno (int): The line number, for messages.
        line_format (str): The expected line, for messages.

    Returns:
        int: The value.

    Raises:
        ValueError: If the field is not an integer.
    """
    try:
        return int(value)
    except ValueError:
        raise ValueError(
            f'{path}, line {lineno}: the {what} {value!r} is '
            f'not an integer; expected {line_format!r}.') from None


def check_files_exist(paths: Sequence[str], source: str) -> None:
    """Raise one error that lists the images which do not exist.

    Args:
        paths (Sequence[str]): Image paths to check.
        source (str): Where the paths came from, for the message.

    Raises:
        FileNotFoundError: If any path is not a file.
    """
    missing = [p for p in paths if not osp.isfile(p)]
    if not missing:
        return
    listed = ', '.join(repr(p) for p in missing[:MAX_LISTED_MISSING])
    more = len(missing) - MAX_LISTED_MISSING
    tail = f' and {more} more' if more > 0 else ''
    raise FileNotFoundError(
        f'{len(missing)} of the {len(paths)} images listed in {source} do '
        f'not exist: {listed}{tail}.')


class BaseReIDDataset(Market1501):
    """The data contract of :class:`Market1501` for data sets read otherwise.

    A subclass implements :meth:`load_records`, which returns the kept images
    of its split; this class turns them into data infos exactly as
    :class:`Market1501` does (``img_path``, ``gt_label``, ``pid``, ``camid``,
    ``is_query``; metainfo ``dataset_name``, ``split``, ``num_pids``), so
    samplers, metrics and :attr:`SPLIT_META_KEYS` work unchanged.

    Arguments are those of :class:`Market1501`.
    """

    METAINFO = dict(dataset_name='ReID')
    # Appended to layout errors: what to put where, and where to get it.
    DATASET_HELP = ''

    @property
    def dataset_name(self) -> str:
        """The data set's name, as messages print it."""
        return self._metainfo.get('dataset_name', type(self).__name__)

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

    def _check_root(self) -> None:
        """Raise a FileNotFoundError if ``data_root`` is set but missing."""
        if self.data_root and not osp.isdir(self.data_root):
            raise FileNotFoundError(
                f'{self.dataset_name} data_root {self.data_root!r} does not '
                f'exist. {self.DATASET_HELP}')

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
        self._check_root()
        if not exists(path):
            raise FileNotFoundError(
                f'{self.dataset_name} {what} {path!r} does not exist. '
                f'{self.DATASET_HELP}')


class ReIDFolderDataset(BaseReIDDataset):
    """A split read from one folder whose file names give pid and camera.

    The junk and distractor rules of :class:`Market1501` apply: identity -1
    is dropped everywhere, identity 0 is kept in the gallery only. A
    subclass sets :attr:`NAME_PATTERN` (groups: identity, 1-based camera),
    :attr:`EXPECTED_NAME` and :attr:`NUM_CAMERAS`.

    Arguments are those of :class:`Market1501`.
    """

    NAME_PATTERN = re.compile(r'^(-1|\d+)_c(\d+)')
    EXPECTED_NAME = ''
    # Cameras are numbered 1 .. NUM_CAMERAS in the names.
    NUM_CAMERAS = 0

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
        if not 1 <= cam <= self.NUM_CAMERAS:
            raise ValueError(
                f'{self.dataset_name} has cameras 1 to {self.NUM_CAMERAS}, '
                f'but {filename!r} names camera {cam}: expected '
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
