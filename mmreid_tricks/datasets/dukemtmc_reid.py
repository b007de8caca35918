"""The DukeMTMC-reID person re-identification data set."""
import re

from mmreid_tricks.registry import DATASETS
from .folder_dataset import ReIDFolderDataset


@DATASETS.register_module()
class DukeMTMCReID(ReIDFolderDataset):
    """DukeMTMC-reID (Zheng et al., ICCV 2017), one split per instance.

    The layout is that of Market-1501: ``bounding_box_train/``, ``query/``
    and ``bounding_box_test/`` under ``data_root``. Image names are
    ``PPPP_cC_fFFFFFFF.jpg``, e.g. ``0001_c2_f0046182.jpg``: identity
    ``PPPP``, camera ``C`` in 1..8 (stored as ``camid = C - 1``) and frame
    ``FFFFFFF``. A name must have the ``_`` after the camera, so that a
    Market-1501 image (``c1s1``) put here by mistake is reported, not read.

    The release has no junk (-1) or distractor (0) labels: its 408
    distractor identities, seen by one camera only, carry ordinary pids in
    the gallery, so they are kept as ordinary identities, which no query
    matches. The rules of :class:`ReIDFolderDataset` still apply, should a
    copy use those labels: identity -1 is dropped everywhere, identity 0 is
    kept in the gallery only. On the release they drop nothing (702 training
    identities, 16,522 training, 2,228 query and 17,661 gallery images).

    The data infos and the metainfo are those of :class:`BaseReIDDataset`.

    Args:
        data_root (str): Folder that holds the three split folders.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``.
            Defaults to ``'train'``.
        **kwargs: Other arguments of :class:`BaseReIDDataset`, such as
            ``pipeline``, ``relabel``, ``data_prefix`` or ``lazy_init``.
    """

    METAINFO = dict(dataset_name='DukeMTMC-reID')
    NAME_PATTERN = re.compile(r'^(-1|\d+)_c(\d+)_')
    EXPECTED_NAME = ('PPPP_cC_fFFFFFFF.jpg, e.g. 0001_c2_f0046182.jpg: '
                     'identity PPPP, camera C in 1..8')
    NUM_CAMERAS = 8
    DATASET_HELP = (
        'Expected layout: <data_root>/bounding_box_train/, <data_root>/'
        'query/ and <data_root>/bounding_box_test/, as in the released '
        'archive DukeMTMC-reID.zip (Zheng et al., ICCV 2017; unzip it and '
        'point data_root at the DukeMTMC-reID folder).')
