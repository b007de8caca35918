"""Ranked-list pictures of saved test results: choose the queries, rank
their gallery as the metric does, and draw them."""
import os.path as osp
from typing import Callable, Dict, List, Optional, Union

import mmcv
import numpy as np
import torch
from torch import Tensor

from mmreid_tricks.evaluation.functional import query_scores, ranked_gallery
from .ranked_list import RankedListLayout, draw_ranked_list

MODES = ('worst', 'best', 'random')


def rank_all_queries(dist: Union[Tensor, Callable[[int, int], Tensor]],
                     results: dict,
                     chunk_size: int = 64) -> Dict[str, Tensor]:
    """Average precision and first-match rank of every query.

    Args:
        dist (Tensor | Callable): Query-gallery distances, shape ``[Q, G]``,
            or ``fn(start, end)`` giving their rows ``start:end`` (see
            ``results_distance_rows``), so the full matrix never exists.
        results (dict): Saved results (``load_reid_results``).
        chunk_size (int): Queries sorted at once. Defaults to 64.

    Returns:
        dict[str, Tensor]: ``ap`` and ``first_match``, shape ``[Q]``, as
        :func:`query_scores`.
    """
    q, g = results['query'], results['gallery']
    num_q = len(q['pids'])
    rows = dist if callable(dist) else (lambda s, e: dist[s:e])
    parts = []
    for start in range(0, num_q, chunk_size):
        end = min(start + chunk_size, num_q)
        parts.append(
            query_scores(
                ranked_gallery(
                    rows(start, end), q['pids'][start:end], g['pids'],
                    q['camids'][start:end], g['camids'])))
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def select_queries(scores: Dict[str, Tensor],
                   mode: str,
                   num: int,
                   seed: int = 0) -> List[int]:
    """Indices of ``num`` queries with a match in the gallery.

    Args:
        scores (dict): From :func:`rank_all_queries`.
        mode (str): ``'worst'`` (lowest AP first, then the latest first
            match), ``'best'`` (highest AP first) or ``'random'``.
        num (int): How many queries.
        seed (int): Seed of ``'random'``. Defaults to 0.

    Returns:
        list[int]: Query indices, in the order to show them.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    valid = torch.nonzero(~torch.isnan(scores['ap'])).squeeze(1)
    if mode == 'random':
        gen = torch.Generator().manual_seed(seed)
        return valid[torch.randperm(len(valid), generator=gen)[:num]].tolist()
    ap, first = scores['ap'][valid], scores['first_match'][valid].double()
    # Lexicographic (AP, first match); stable, so ties keep query order.
    key = ap - first * 1e-9 if mode == 'best' else -ap + first * 1e-9
    order = torch.sort(key, descending=True, stable=True).indices
    return valid[order[:num]].tolist()


def _read(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'image {path!r} of the results file does '
                                'not exist (moved data set? test again or '
                                'run from the same directory)')
    return mmcv.imread(path)


def draw_query_result(results: dict,
                      query_index: int,
                      dist_row: Tensor,
                      topk: int = 10,
                      show_ignored: bool = False,
                      layout: Optional[RankedListLayout] = None) -> np.ndarray:
    """The ranked-list picture of one query.

    Args:
        results (dict): Saved results (``load_reid_results``).
        query_index (int): The query.
        dist_row (Tensor): Its distances to the gallery, shape ``[G]``.
        topk (int): Ranked gallery images shown. Defaults to 10.
        show_ignored (bool): Show the images the protocol ignores (same
            identity and camera) greyed out where their distance puts them,
            without a rank; skipped when False, as the protocol skips them.
            Defaults to False.
        layout (RankedListLayout, optional): Sizes. Defaults to None.

    Returns:
        np.ndarray: The picture, BGR uint8.
    """
    q, g = results['query'], results['gallery']
    sl = slice(query_index, query_index + 1)
    ranked = ranked_gallery(dist_row[None], q['pids'][sl], g['pids'],
                            q['camids'][sl], g['camids'])
    scores = query_scores(ranked)
    ranked = {k: v[0] for k, v in ranked.items()}
    imgs, kinds, captions = [], [], []
    for pos in range(len(ranked['order'])):
        ignored = bool(ranked['ignored'][pos])
        rank = int(ranked['rank'][pos])
        if rank >= topk:
            break
        if ignored and not show_ignored:  # ignored items have rank -1
            continue
        idx = int(ranked['order'][pos])
        kind = 'ignored' if ignored else (
            'match' if ranked['match'][pos] else 'wrong')
        head = 'ignored' if ignored else f'#{rank + 1} {kind}'
        imgs.append(_read(g['img_paths'][idx]))
        kinds.append(kind)
        captions.append([
            head, f'dist {float(dist_row[idx]):.4f}',
            f'id {int(g["pids"][idx])} cam {int(g["camids"][idx])}'
        ])
    pid, cam = int(q['pids'][query_index]), int(q['camids'][query_index])
    ap, first = float(scores['ap'][0]), int(scores['first_match'][0])
    if np.isnan(ap):
        summary = 'no match in the gallery (skipped by the metric)'
    else:
        summary = f'AP {100 * ap:.1f}%, first match at rank {first + 1}'
    name = osp.basename(q['img_paths'][query_index])
    legend = 'green = same identity, red = other identity'
    if show_ignored:
        legend += ', grey = ignored (same identity and camera)'
    title = f'query {query_index} ({name}): {summary}.  Frames: {legend}'
    return draw_ranked_list(
        _read(q['img_paths'][query_index]), ['query', f'id {pid} cam {cam}'],
        imgs, kinds, captions, title, layout)
