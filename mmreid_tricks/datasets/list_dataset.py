"""A ReID data set read from a list file, for users' own data."""
import os.path as osp
from typing import List, Optional

from mmreid_tricks.registry import DATASETS
from .list_files import check_files_exist, parse_int_field, read_list_lines
from .reid_base import JUNK_PID, BaseReIDDataset

LINE_FORMAT = '<path> <pid> <camid>'


@DATASETS.register_module()
class ReIDListDataset(BaseReIDDataset):
    """One split of a ReID data set given by a list file.

    Each data line of ``ann_file`` names one image: ``<path> <pid>
    <camid>``, separated by white space (so paths hold none). Blank lines
    and lines starting with ``#`` are skipped. Relative paths are relative
    to ``data_root`` (or to ``data_prefix['img_path']``), absolute ones are
    used as they are. Images keep the order of the file.

    - ``pid`` is an integer identity. Every pid of 0 or more is an ordinary
      identity, 0 included (unlike Market-1501, where 0 marks
      distractors): a gallery distractor is simply an image whose pid no
      query has. -1 marks junk, dropped as in :class:`Market1501`; other
      negative pids are errors.
    - ``camid`` is an integer camera, numbered from ``camid_start``; it is
      stored 0-based, as ``camid - camid_start``, as in every other data set
      of this package. The default ``camid_start=0`` stores it as written;
      use 1 for files that number cameras from 1. Only equality of cameras
      matters to the metrics (a query's match in its own camera is not
      counted), so any numbering works if the splits share it.

    A malformed line (wrong number of fields, a non-integer pid or camid, a
    camid below ``camid_start``) raises a ValueError naming the file and the
    line; with ``check_files``, missing images raise a FileNotFoundError
    that lists them.

    The data infos and the metainfo are those of :class:`BaseReIDDataset`;
    pass
    ``metainfo=dict(dataset_name=...)`` to name the data set.

    Args:
        data_root (str): Folder the paths and ``ann_file`` are relative to;
            '' for the working directory.
        ann_file (str): The split's list file, under ``data_root`` or
            absolute.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``; it decides
            ``is_query`` and whether labels are relabelled by default.
            Defaults to ``'train'``.
        camid_start (int): The number of the first camera in the file.
            Defaults to 0.
        check_files (bool): Whether to check that every listed image
            exists. Defaults to True.
        data_prefix (dict, optional): ``dict(img_path=...)``, the folder
            (under ``data_root``, or absolute) that relative image paths
            start from. Defaults to None, meaning ``data_root``.
        **kwargs: Other arguments of :class:`BaseReIDDataset`, such as
            ``pipeline``, ``relabel``, ``lazy_init`` or ``metainfo``.
    """

    METAINFO = dict(dataset_name='ReIDList')
    DATASET_HELP = (
        f'Expected a list file with one image a line, {LINE_FORMAT!r}, '
        'paths relative to data_root (or absolute).')

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 split: str = 'train',
                 camid_start: int = 0,
                 check_files: bool = True,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        if not ann_file:
            raise ValueError('ReIDListDataset needs an ann_file, the list '
                             f'file of the split: {self.DATASET_HELP}')
        if data_root and not osp.isabs(ann_file):
            ann_file = osp.join(data_root, ann_file)
        # Set before the base constructor reads the list (it takes no
        # ann_file itself).
        self.list_file = ann_file
        self.camid_start = camid_start
        self.check_files = check_files
        super().__init__(
            data_root=data_root,
            split=split,
            data_prefix=data_prefix,
            **kwargs)
        self.ann_file = ann_file

    def load_records(self) -> List[dict]:
        """Read the list file.

        Returns:
            list[dict]: See :meth:`BaseReIDDataset.load_records`.
        """
        list_file = self.list_file
        self._check_file(list_file, f'{self.split} list file')
        img_root = self.data_prefix['img_path']
        records, num_lines = [], 0
        for lineno, (path, pid,
                     camid) in read_list_lines(list_file, 3, LINE_FORMAT):
            num_lines += 1
            pid = parse_int_field(pid, 'pid', list_file, lineno, LINE_FORMAT)
            camid = parse_int_field(camid, 'camid', list_file, lineno,
                                    LINE_FORMAT)
            if pid < JUNK_PID:
                raise ValueError(
                    f'{list_file}, line {lineno}: pid {pid} is negative; '
                    'pids are 0 or more, or -1 for junk images.')
            if camid < self.camid_start:
                raise ValueError(
                    f'{list_file}, line {lineno}: camid {camid} is below '
                    f'camid_start={self.camid_start}; set camid_start to '
                    'the number of the first camera in the file.')
            if pid == JUNK_PID:
                continue
            records.append(
                dict(
                    img_path=osp.join(img_root, path),
                    pid=pid,
                    camid=camid - self.camid_start))
        if not records:
            what = 'only junk (pid -1)' if num_lines else 'no image line'
            raise ValueError(f'The {self.split} list file {list_file!r} '
                             f'holds {what}. {self.DATASET_HELP}')
        if self.check_files:
            check_files_exist([r['img_path'] for r in records],
                              repr(list_file))
        return records
