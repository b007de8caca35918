"""Saved test results (``tools/test.py --out results.pth``): read them and
rank their gallery exactly as :class:`ReIDMetric` does.

A results file holds the query and gallery embeddings, identities, cameras
and image paths (see :class:`DumpReIDFeatures`), the metrics, and under
``meta['metric']`` the distance settings of the config's first ReID metric.
"""
import os.path as osp
from typing import Dict, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .functional import (average_query_expansion, distance_rows_fn,
                         k_reciprocal_rerank_fn, rank_metrics)
from .functional.ranking import DistChunkFn

RESULTS_FORMAT = 'mmreid_tricks.reid_results'
RESULTS_VERSION = 1
# ReIDMetric's defaults, for files or configs that do not say.
DEFAULT_METRIC_SETTINGS = dict(
    metric='euclidean',
    normalize_feature=True,
    rerank_cfg=dict(k1=20, k2=6, lambda_value=0.3),
    aqe=False,
    aqe_cfg=dict(top_k=5, alpha=3.0))


def make_reid_results(features: Tensor,
                      pids: Sequence[int],
                      camids: Sequence[int],
                      is_query: Sequence[bool],
                      img_paths: Sequence[str],
                      meta: Optional[dict] = None) -> dict:
    """Split embeddings of a test set into the results dict (query, gallery).

    Args:
        features (Tensor): Embeddings, shape ``[N, D]``.
        pids (Sequence[int]): Identities, ``N`` of them.
        camids (Sequence[int]): Cameras.
        is_query (Sequence[bool]): True for a query, False for a gallery
            image.
        img_paths (Sequence[str]): The images.
        meta (dict, optional): Kept under ``'meta'``: strings, numbers,
            bools, None, lists and dicts only. Defaults to None.

    Returns:
        dict: As :func:`load_reid_results` returns it (without metrics).
    """
    is_query = torch.as_tensor(is_query, dtype=torch.bool)
    pids = torch.as_tensor(pids, dtype=torch.long)
    camids = torch.as_tensor(camids, dtype=torch.long)
    sizes = {len(features), len(pids), len(camids), len(img_paths)}
    if sizes != {len(is_query)}:
        raise ValueError('features, pids, camids, is_query and img_paths '
                         f'must have one row per image, got sizes {sizes}')
    data = dict(
        format=RESULTS_FORMAT,
        version=RESULTS_VERSION,
        meta=plain_meta(meta or {}))
    for name, rows in (('query', is_query), ('gallery', ~is_query)):
        if not rows.any():
            raise ValueError(f'no {name} image among the {len(is_query)} '
                             'test images; check the `is_query` of the '
                             'test data set')
        index = rows.nonzero().squeeze(1)
        data[name] = dict(
            features=features.detach().float().cpu()[index],
            pids=pids[index],
            camids=camids[index],
            img_paths=[str(img_paths[i]) for i in index.tolist()])
    return data


def plain_meta(value):
    """``value`` with config dicts and tuples as plain dicts and lists,
    which ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, Mapping):
        return {str(k): plain_meta(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_meta(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError('results meta holds only strings, numbers, bools, None, '
                    f'lists and dicts, got {type(value)}')


def load_reid_results(path: str) -> dict:
    """Read a results file of ``tools/test.py --out results.pth``.

    Only tensors and plain Python values are unpickled
    (``weights_only=True``): a results file cannot run code.

    Args:
        path (str): The ``.pth`` file.

    Returns:
        dict: As described in :class:`DumpReIDFeatures`, plus ``'metrics'``
        when ``tools/test.py`` added them.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file {path!r} does not exist')
    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:
        raise ValueError(
            f'{path!r} is not a results file of `tools/test.py --out '
            f'results.pth` (or holds more than tensors and plain values): '
            f'{err}') from err
    if not isinstance(data, dict) or data.get('format') != RESULTS_FORMAT:
        raise ValueError(f'{path!r} is not a results file of `tools/test.py '
                         '--out results.pth` (no format '
                         f'{RESULTS_FORMAT!r} in it)')
    if data.get('version') != RESULTS_VERSION:
        raise ValueError(f'{path!r} has results format version '
                         f'{data.get("version")}; this code reads version '
                         f'{RESULTS_VERSION}')
    for part in ('query', 'gallery'):
        _check_part(path, part, data.get(part))
    return data


def _check_part(path: str, name: str, part: Optional[dict]) -> None:
    keys = ('features', 'pids', 'camids', 'img_paths')
    if not isinstance(part, dict) or any(k not in part for k in keys):
        raise ValueError(f'{path!r}: {name!r} must hold {list(keys)}')
    sizes = {k: len(part[k]) for k in keys}
    if part['features'].dim() != 2 or len(set(sizes.values())) != 1:
        raise ValueError(
            f'{path!r}: {name!r} features must be [N, D] with N equal for '
            f'every key, got sizes {sizes} and features of shape '
            f'{tuple(part["features"].shape)}')


def metric_settings(results: dict) -> dict:
    """The distance settings saved with the results, ReIDMetric's defaults
    for those missing."""
    saved = results.get('meta', {}).get('metric') or {}
    return {k: saved.get(k, v) for k, v in DEFAULT_METRIC_SETTINGS.items()}


def results_distance_rows(results: dict, rerank: bool = False) -> DistChunkFn:
    """Query-gallery distances as :class:`ReIDMetric` computes them, a few
    query rows at a time (memory stays bounded for large galleries).

    The saved settings apply: metric, L2 normalisation and average query
    expansion; re-ranking when asked (with the saved ``rerank_cfg``).

    Args:
        results (dict): From :func:`load_reid_results`.
        rerank (bool): Apply k-reciprocal re-ranking. Defaults to False.

    Returns:
        Callable: ``fn(start, end)`` -> float32 distances of queries
        ``start:end``, shape ``[end - start, G]``.
    """
    settings = metric_settings(results)
    query = results['query']['features'].float()
    gallery = results['gallery']['features'].float()
    if settings['normalize_feature']:
        query, gallery = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
    if settings['aqe']:
        query, gallery = average_query_expansion(query, gallery,
                                                 **settings['aqe_cfg'])
    if rerank:
        return k_reciprocal_rerank_fn(
            query,
            gallery,
            metric=settings['metric'],
            **settings['rerank_cfg'])
    return distance_rows_fn(query, gallery, settings['metric'])


def results_distance(results: dict, rerank: bool = False) -> Tensor:
    """The full ``[Q, G]`` matrix of :func:`results_distance_rows`."""
    return results_distance_rows(results,
                                 rerank)(0, len(results['query']['pids']))


def results_rank_metrics(results: dict,
                         rerank: bool = False,
                         max_rank: int = 50) -> Dict[str, object]:
    """CMC, mAP and mINP of saved results, as :func:`rank_metrics` returns.

    Args:
        results (dict): From :func:`load_reid_results`.
        rerank (bool): Apply k-reciprocal re-ranking. Defaults to False.
        max_rank (int): Length of the CMC curve. Defaults to 50.

    Returns:
        dict: See :func:`rank_metrics`.
    """
    q, g = results['query'], results['gallery']
    return rank_metrics(
        results_distance_rows(results, rerank),
        q['pids'],
        g['pids'],
        q['camids'],
        g['camids'],
        max_rank=max_rank)
