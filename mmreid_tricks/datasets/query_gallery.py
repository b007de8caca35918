"""Checking an evaluation set before any training: can its queries match?"""
from typing import List, Optional, Tuple

from mmengine.dataset import BaseDataset


def leaf_datasets(dataset) -> List[BaseDataset]:
    """The data sets that hold the samples of a (wrapped) data set.

    Args:
        dataset: A data set, possibly a ``ConcatDataset`` (``datasets``) or a
            ``RepeatDataset``/``ClassBalancedDataset`` (``dataset``).

    Returns:
        list: The leaves, in order.
    """
    if hasattr(dataset, 'datasets'):
        return [
            leaf for child in dataset.datasets for leaf in leaf_datasets(child)
        ]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def describe_dataset(dataset) -> str:
    """One line that tells a data set apart: type, split, root, size.

    Args:
        dataset: A leaf data set.

    Returns:
        str: E.g. ``"Market1501(split='query', data_root='data/m', 1 image)"``.
    """
    size = len(dataset)
    return (f'{type(dataset).__name__}(split='
            f'{getattr(dataset, "split", None)!r}, data_root='
            f'{getattr(dataset, "data_root", None)!r}, {size} '
            f'image{"" if size == 1 else "s"})')


def _read_query_gallery(
        leaves: List[BaseDataset]) -> Optional[Tuple[list, list]]:
    """(pid, camid) of the query and of the gallery images; None when the
    samples carry no ``pid``, ``camid`` and ``is_query`` (not a ReID set)."""
    query, gallery = [], []
    for leaf in leaves:
        leaf.full_init()
        for idx in range(len(leaf)):
            info = leaf.get_data_info(idx)
            if not {'pid', 'camid', 'is_query'} <= info.keys():
                return None
            side = query if info['is_query'] else gallery
            side.append((info['pid'], info['camid']))
    return query, gallery


def check_query_gallery(dataset, stage: str = 'val') -> None:
    """Raise if no query of an evaluation set can find its identity.

    The ReID protocols skip a query whose identity the gallery shows only
    in the query's own camera, or not at all; if every query is skipped,
    the metric fails, which without this check is found only after
    training. Typical causes: query and gallery of different data sets,
    or both pointing at the same folder.

    Args:
        dataset: The evaluation set, usually ``ConcatDataset([query,
            gallery])``. A set whose samples carry no ``pid``, ``camid`` and
            ``is_query`` is not checked.
        stage (str): ``'val'`` or ``'test'``, for the message.

    Raises:
        ValueError: If there is no query image, no gallery image, or no
            query with a gallery image of its identity from another camera.
            The message names the stage and every data set with its split
            and data root.
    """
    leaves = leaf_datasets(dataset)
    read = _read_query_gallery(leaves)
    if read is None:
        return
    query, gallery = read
    sets = '; '.join(describe_dataset(leaf) for leaf in leaves)
    where = f'Check {stage}_dataloader.dataset: {sets}.'
    if not query or not gallery:
        missing = 'query' if not query else 'gallery'
        raise ValueError(f'The {stage} set holds no {missing} image, so no '
                         f'query can be ranked. {where}')
    gallery_cams = {}
    for pid, camid in gallery:
        gallery_cams.setdefault(pid, set()).add(camid)
    if any(gallery_cams.get(pid, set()) - {camid} for pid, camid in query):
        return
    query_pids = {pid for pid, _ in query}
    shared = query_pids & gallery_cams.keys()
    detail = (f'{len(shared)} of its {len(query_pids)} query identities are '
              'in the gallery, but only in the query\'s own camera, which '
              'the protocol ignores' if shared else
              f'none of its {len(query_pids)} query identities is in the '
              f'gallery ({len(gallery_cams)} identities)')
    raise ValueError(
        f'The {stage} set has no query that can be matched: {detail}. Every '
        'query would be skipped and the metric would fail after training. '
        f'{where}')
