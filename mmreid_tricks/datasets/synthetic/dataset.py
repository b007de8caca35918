"""The synthetic data set, generated on first use."""
import warnings
from typing import List, Optional

from mmreid_tricks.registry import DATASETS
from ..market1501 import Market1501
from .generator import (GENERATOR_VERSION, generate_synthetic_market1501,
                        read_marker)


@DATASETS.register_module()
class SyntheticMarket1501(Market1501):
    """:class:`Market1501` on synthetic pedestrians, generated on first use.

    If ``data_root`` holds no data set, it is generated there by
    :func:`generate_synthetic_market1501` (safe when several processes build
    the data set at once). If it holds one, the stored generator arguments
    are checked against ``generate``.

    Args:
        data_root (str): Folder of the data set, created when missing.
        split (str): ``'train'``, ``'query'`` or ``'gallery'``. Defaults to
            ``'train'``.
        generate (dict, optional): Keyword arguments of
            :func:`generate_synthetic_market1501` (other than ``root``),
            e.g. ``dict(num_train_ids=64, seed=0)``. An existing data set made
            with other arguments raises a ValueError. None generates with the
            defaults when the folder is missing, and accepts any complete
            synthetic data set that is there. Defaults to None.
        **kwargs: Other arguments of :class:`Market1501`.
    """

    METAINFO = dict(dataset_name='SyntheticMarket1501')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 generate: Optional[dict] = None,
                 **kwargs) -> None:
        if generate is not None and 'root' in generate:
            raise TypeError('generate must not hold root: data_root is used')
        self.generate = None if generate is None else dict(generate)
        super().__init__(data_root=data_root, split=split, **kwargs)

    @classmethod
    def check_data_root(cls, data_root: Optional[str]) -> None:
        """Nothing to check: a missing ``data_root`` is generated."""

    def load_data_list(self) -> List[dict]:
        """Generate the data set if needed, then read the split."""
        if not self.data_root:
            raise ValueError('SyntheticMarket1501 needs a data_root to '
                             'generate into')
        if self.generate is not None or read_marker(self.data_root) is None:
            generate_synthetic_market1501(self.data_root,
                                          **(self.generate or {}))
        elif read_marker(self.data_root)['args'].get(
                'generator_version') != GENERATOR_VERSION:
            warnings.warn(f'{self.data_root!r} was made by another version '
                          'of the synthetic generator; delete it to '
                          'regenerate.')
        return super().load_data_list()
