"""CUHK03 under the new protocol (CUHK03-NP)."""
import os.path as osp
import re

from mmreid_tricks.registry import DATASETS
from .folder_dataset import SPLIT_DIRS, ReIDFolderDataset

SUBSETS = ('detected', 'labeled')


@DATASETS.register_module()
class CUHK03NP(ReIDFolderDataset):
    """CUHK03-NP: CUHK03 (Li et al., CVPR 2014) split as in Zhong et al.

    The new protocol (Zhong et al., CVPR 2017) trains on 767 identities and
    tests on the other 700, each test identity having one query image per
    camera. Its release stores it in the layout of Market-1501, once per
    kind of box: ``<data_root>/{detected,labeled}/{bounding_box_train,
    query,bounding_box_test}/``. Image names are ``PPPP_cC_N.png``, e.g.
    ``0001_c1_1.png``: identity ``PPPP``, camera ``C`` in 1..2 (the two
    views of a camera pair, stored as ``camid = C - 1``) and image ``N``.

    There is no junk or distractor label; the rules of
    :class:`ReIDFolderDataset` (identity -1 dropped, identity 0 kept in the
    gallery only) drop nothing
    on the release: ``labeled`` has 7,368 training, 1,400 query and 5,328
    gallery images, ``detected`` 7,365, 1,400 and 5,332.

    The data infos and the metainfo are those of :class:`BaseReIDDataset`;
    the
    metainfo's ``dataset_name`` is ``'CUHK03-NP'`` for both subsets (see
    :attr:`subset`).

    Args:
        data_root (str): Folder that holds ``detected/`` and ``labeled/``.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``.
            Defaults to ``'train'``.
        subset (str): ``'detected'`` (boxes of a person detector, the
            harder and more often reported setting) or ``'labeled'``
            (boxes drawn by hand). Defaults to ``'detected'``.
        data_prefix (dict, optional): ``dict(img_path=...)``, a folder under
            ``data_root`` (or absolute) that replaces
            ``<subset>/<split folder>``. Defaults to None.
        **kwargs: Other arguments of :class:`BaseReIDDataset`, such as
            ``pipeline``, ``relabel`` or ``lazy_init``.
    """

    METAINFO = dict(dataset_name='CUHK03-NP')
    NAME_PATTERN = re.compile(r'^(-1|\d+)_c(\d+)_')
    EXPECTED_NAME = ('PPPP_cC_N.png, e.g. 0001_c1_1.png: identity PPPP, '
                     'camera C in 1..2')
    NUM_CAMERAS = 2
    DATASET_HELP = (
        'Expected layout: <data_root>/detected/ and <data_root>/labeled/, '
        'each with bounding_box_train/, query/ and bounding_box_test/, as in '
        'the CUHK03-NP release of Zhong et al. (CVPR 2017, '
        'https://github.com/zhunzhong07/person-re-ranking, folder CUHK03-NP); '
        'point data_root at the folder that holds detected/ and labeled/.')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 subset: str = 'detected',
                 **kwargs) -> None:
        if subset not in SUBSETS:
            raise ValueError(f'subset must be one of {list(SUBSETS)}, but '
                             f'got {subset!r}')
        self.subset = subset
        super().__init__(data_root=data_root, split=split, **kwargs)

    def default_img_dir(self, split: str) -> str:
        """The split's folder of the chosen subset.

        Args:
            split (str): ``'train'``, ``'query'`` or ``'gallery'``.

        Returns:
            str: ``<subset>/<split folder>``.
        """
        return osp.join(self.subset, SPLIT_DIRS[split])
