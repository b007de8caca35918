"""The Market-1501 person re-identification data set."""
from mmreid_tricks.registry import DATASETS
from .folder_dataset import ReIDFolderDataset


@DATASETS.register_module()
class Market1501(ReIDFolderDataset):
    """Market-1501 (Zheng et al., ICCV 2015), one split per instance.

    The splits are read from ``bounding_box_train/``, ``query/`` and
    ``bounding_box_test/`` under ``data_root``. The identity and camera of
    every image are read from its file name, ``PPPP_cCsS_FFFFFF_NN.jpg``,
    e.g. ``0002_c1s1_000451_01.jpg``: identity ``PPPP`` (-1 junk, 0
    distractor, see :class:`ReIDFolderDataset`), camera ``C`` (1..6 in the
    release; any camera from 1 is accepted, as the layout is often reused,
    e.g. by :class:`SyntheticMarket1501`).

    The data infos and the metainfo are those of :class:`BaseReIDDataset`.

    Args:
        data_root (str): Folder that holds the three split folders.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``.
            Defaults to ``'train'``.
        **kwargs: Other arguments of :class:`BaseReIDDataset`, such as
            ``pipeline``, ``relabel``, ``data_prefix`` or ``lazy_init``.
    """

    METAINFO = dict(dataset_name='Market-1501')
    EXPECTED_NAME = ('PPPP_cCsS_FFFFFF_NN.jpg, e.g. 0002_c1s1_000451_01.jpg: '
                     'identity PPPP (-1 junk, 0 distractor), camera C >= 1')
    DATASET_HELP = (
        'Expected layout: <data_root>/bounding_box_train/, <data_root>/query/'
        ' and <data_root>/bounding_box_test/, as in the released archive '
        'Market-1501-v15.09.15 (Zheng et al., ICCV 2015; download it from '
        'https://zheng-lab.cecs.anu.edu.au/Project/project_reid.html and '
        'unzip it). To try the package without it, '
        'configs/strong_baseline_synthetic.py runs on generated data.')
