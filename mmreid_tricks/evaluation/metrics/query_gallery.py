"""The results of ``ReIDMetric`` split into queries and gallery, checked."""
from typing import List, NamedTuple, Optional

import torch
from torch import Tensor

_MAX_NAMED_ROWS = 5  # rows listed in the error on non-finite embeddings


class QueryGallery(NamedTuple):
    """The gathered test set, split into queries and gallery.

    Attributes:
        query (Tensor): Query embeddings, float32 ``[Q, D]``.
        gallery (Tensor): Gallery embeddings, float32 ``[G, D]``.
        q_pids, g_pids, q_camids, g_camids (Tensor): Identities and cameras,
            int64 ``[Q]`` or ``[G]``, on the CPU.
        q_paths, g_paths (list): The ``img_path`` of each image, None where
            the data sample had none.
    """
    query: Tensor
    gallery: Tensor
    q_pids: Tensor
    g_pids: Tensor
    q_camids: Tensor
    g_camids: Tensor
    q_paths: List[Optional[str]]
    g_paths: List[Optional[str]]

    @classmethod
    def from_results(cls, results: List[dict]) -> 'QueryGallery':
        """Split ``ReIDMetric`` results (dicts with ``feature``, ``pid``,
        ``camid``, ``is_query`` and ``img_path``) into queries and gallery,
        on the CPU, checking that both exist and that the embeddings share
        one dimension and are finite."""
        is_query = torch.tensor([r['is_query'] for r in results],
                                dtype=torch.bool)
        num_query = int(is_query.sum())
        if num_query == 0 or num_query == len(results):
            raise ValueError(
                f'ReIDMetric needs query and gallery samples, got '
                f'{num_query} queries and {len(results) - num_query} gallery '
                'samples; check the `is_query` of the test data set')
        _check_dims(results)
        features = torch.stack([r['feature'] for r in results])
        _check_finite(features, results)
        pids = torch.tensor([r['pid'] for r in results])
        camids = torch.tensor([r['camid'] for r in results])
        paths = [r.get('img_path') for r in results]
        is_gallery = ~is_query
        return cls(
            query=features[is_query],
            gallery=features[is_gallery],
            q_pids=pids[is_query],
            g_pids=pids[is_gallery],
            q_camids=camids[is_query],
            g_camids=camids[is_gallery],
            q_paths=[p for p, q in zip(paths, is_query.tolist()) if q],
            g_paths=[p for p, q in zip(paths, is_query.tolist()) if not q])


def _where(results: List[dict], index: int) -> str:
    """'query row 3 (img_path ...)': a result named as the user sees it."""
    split = 'query' if results[index]['is_query'] else 'gallery'
    row = sum(r['is_query'] == results[index]['is_query']
              for r in results[:index])
    path = results[index].get('img_path')
    return f'{split} row {row}' + (f' ({path})' if path else '')


def _check_dims(results: List[dict]) -> None:
    """Raise ValueError naming both dimensions if the embeddings differ."""
    dims = {
        split:
        sorted({len(r['feature'])
                for r in results if r['is_query'] == is_q})
        for split, is_q in (('query', True), ('gallery', False))
    }
    if len(set(dims['query'] + dims['gallery'])) == 1:
        return
    expected = len(results[0]['feature'])
    first = next(i for i, r in enumerate(results)
                 if len(r['feature']) != expected)
    raise ValueError(
        'ReIDMetric: the embeddings differ in dimension: query D '
        f"{dims['query']}, gallery D {dims['gallery']} ({_where(results, 0)} "
        f'has D={expected}, {_where(results, first)} has '
        f"D={len(results[first]['feature'])}); query and gallery must come "
        'from the same model and test feature')


def _check_finite(features: Tensor, results: List[dict]) -> None:
    """Raise ValueError naming the images whose embedding is NaN or inf."""
    bad = (~torch.isfinite(features).all(1)).nonzero().flatten().tolist()
    if not bad:
        return
    named = ', '.join(_where(results, i) for i in bad[:_MAX_NAMED_ROWS])
    more = len(bad) - _MAX_NAMED_ROWS
    raise ValueError(
        f'ReIDMetric: {len(bad)} of {len(results)} embeddings are NaN or '
        f'inf: {named}' + (f' and {more} more' if more > 0 else '') +
        '; the model diverged or the image is broken')
