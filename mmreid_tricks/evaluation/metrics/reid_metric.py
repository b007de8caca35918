"""The ReID metric: CMC ranks, mAP and mINP of query against gallery."""
import logging
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from torch import Tensor

from mmreid_tricks.registry import METRICS
from ..functional import (average_query_expansion, distance_rows_fn,
                          k_reciprocal_rerank_fn, rank_metrics,
                          rank_metrics_cuhk03)

_REQUIRED_KEYS = ('pred_feature', 'gt_label', 'camid', 'is_query')
_PROTOCOLS = ('market1501', 'cuhk03_sgs')


def _to_int(value: Union[int, Tensor]) -> int:
    """An int from an int or a one-element tensor (``gt_label`` is ``[1]``)."""
    return int(value.item()) if isinstance(value, Tensor) else int(value)


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Rank-k accuracy (CMC), mAP and mINP of ReID retrieval.

    The test set is one data set holding both the query and the gallery
    images; each data sample says which it is. For every query, gallery
    images of its identity taken by its own camera are removed, and queries
    left without a match are skipped (their number is reported). The values
    equal the usual ``eval_market1501`` evaluation; see
    :func:`mmreid_tricks.evaluation.functional.rank_metrics` for the exact
    definitions and the handling of ties. The distance matrix is computed in
    chunks of queries, so memory stays bounded for large galleries.

    With ``protocol='cuhk03_sgs'`` the CMC follows the classic CUHK03
    single-gallery-shot protocol instead (``eval_cuhk03``): one random image
    per gallery identity, averaged over ``num_repeats`` draws; mAP and mINP
    are unchanged. See
    :func:`mmreid_tricks.evaluation.functional.cuhk03_protocol.rank_metrics_cuhk03`.

    Each data sample (a dict from ``DataSample.to_dict()``) must hold:

    - ``pred_feature`` (Tensor): the embedding, shape ``[D]``;
    - ``gt_label`` (Tensor | int): the identity, a ``[1]`` tensor or an int;
    - ``camid`` (int): the camera;
    - ``is_query`` (bool): True for a query, False for a gallery image.

    Args:
        metric (str): Distance, ``'euclidean'`` (squared) or ``'cosine'``.
            Defaults to ``'euclidean'``.
        normalize_feature (bool): L2-normalise the embeddings before the
            distance, as the BoT test setting does. Defaults to True.
        topk (int | Sequence[int]): Ranks k reported as ``R{k}``.
            Defaults to ``(1, 5, 10)``.
        chunk_size (int): Queries whose distances are held at once.
            Defaults to 256.
        protocol (str): ``'market1501'`` or ``'cuhk03_sgs'``.
            Defaults to ``'market1501'``.
        num_repeats (int): Sampled galleries per query of ``'cuhk03_sgs'``.
            Defaults to 10.
        seed (int): Seed of the draws of ``'cuhk03_sgs'``. Defaults to 0.
        device (str): Where the distances and ranks are computed, e.g.
            ``'cpu'`` or ``'cuda'``; CUDA falls back to CPU with a warning
            when it is not available. Defaults to ``'cpu'``.
        collect_device (str): Device used to gather the results of all
            processes, ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None,
            which uses ``'reid'``.
        collect_dir (str, optional): Directory for gathering the results
            through files when ``collect_device='cpu'``. Defaults to None.

    Examples:
        >>> val_evaluator = dict(type='ReIDMetric', topk=(1, 5, 10))
    """
    default_prefix: Optional[str] = 'reid'

    def __init__(self,
                 metric: str = 'euclidean',
                 normalize_feature: bool = True,
                 topk: Union[int, Sequence[int]] = (1, 5, 10),
                 chunk_size: int = 256,
                 protocol: str = 'market1501',
                 num_repeats: int = 10,
                 seed: int = 0,
                 rerank: bool = False,
                 rerank_cfg: Optional[dict] = None,
                 aqe: bool = False,
                 aqe_cfg: Optional[dict] = None,
                 device: str = 'cpu',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if metric not in ('euclidean', 'cosine'):
            raise ValueError("metric must be 'euclidean' or 'cosine', got "
                             f'{metric!r}')
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(k < 1 for k in topk):
            raise ValueError(f'topk must hold positive ints, got {topk}')
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be positive, got {chunk_size}')
        if protocol not in _PROTOCOLS:
            raise ValueError(f'protocol must be one of {_PROTOCOLS}, got '
                             f'{protocol!r}')
        self.metric = metric
        self.normalize_feature = normalize_feature
        self.topk = topk
        self.chunk_size = chunk_size
        self.protocol = protocol
        self.num_repeats = num_repeats
        self.seed = seed
        self.rerank = rerank
        self.rerank_cfg = dict(k1=20, k2=6, lambda_value=0.3)
        self.rerank_cfg.update(rerank_cfg or {})
        self.aqe = aqe
        self.aqe_cfg = dict(top_k=5, alpha=3.0)
        self.aqe_cfg.update(aqe_cfg or {})
        self.device = device

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep the embedding, identity, camera and role of each sample.

        One result per sample, in order: mmengine's ``BaseMetric.evaluate``
        gathers the results of all processes with ``collect_results`` and
        drops the samples the distributed sampler padded, by dataset size.

        Args:
            data_batch (Sequence[dict]): A batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model's outputs, see the class
                docstring for the keys they need.
        """
        for sample in data_samples:
            missing = [key for key in _REQUIRED_KEYS if key not in sample]
            if missing:
                raise KeyError(
                    f'ReIDMetric needs {list(_REQUIRED_KEYS)} in each data '
                    f'sample; missing {missing}')
            feature = sample['pred_feature']
            if feature.dim() != 1:
                raise ValueError('pred_feature must be one embedding of '
                                 f'shape [D], got {tuple(feature.shape)}')
            self.results.append(
                dict(
                    feature=feature.detach().float().cpu(),
                    pid=_to_int(sample['gt_label']),
                    camid=_to_int(sample['camid']),
                    is_query=bool(sample['is_query'])))

    def _compute_device(self) -> torch.device:
        device = torch.device(self.device)
        if device.type == 'cuda' and not torch.cuda.is_available():
            print_log(
                f'ReIDMetric: device {self.device!r} requested but CUDA is '
                'not available; computing on the CPU.',
                logger='current',
                level=logging.WARNING)
            device = torch.device('cpu')
        return device

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Rank the gallery for every query and average the metrics.

        Args:
            results (list[dict]): What :meth:`process` kept, from all
                processes.

        Returns:
            dict: ``mAP``, ``mINP`` and ``R{k}`` for each k of ``topk``, in
            percent (0-100), and ``num_skipped_queries``, the number of
            queries without a match in the gallery.
        """
        is_query = torch.tensor([r['is_query'] for r in results],
                                dtype=torch.bool)
        num_query = int(is_query.sum())
        if num_query == 0 or num_query == len(results):
            raise ValueError(
                f'ReIDMetric needs query and gallery samples, got '
                f'{num_query} queries and {len(results) - num_query} gallery '
                'samples; check the `is_query` of the test data set')
        device = self._compute_device()
        features = torch.stack([r['feature'] for r in results]).to(device)
        if self.normalize_feature:
            features = F.normalize(features, dim=1)
        pids = torch.tensor([r['pid'] for r in results])
        camids = torch.tensor([r['camid'] for r in results])
        is_gallery = ~is_query

        query = features[is_query.to(device)]
        gallery = features[is_gallery.to(device)]
        ids = (pids[is_query], pids[is_gallery], camids[is_query],
               camids[is_gallery])
        print_log(f'ReIDMetric: {self._settings()}', logger='current')
        if self.aqe:
            query, gallery = average_query_expansion(query, gallery,
                                                     **self.aqe_cfg)
        if self.rerank:
            dist = k_reciprocal_rerank_fn(
                query, gallery, metric=self.metric, **self.rerank_cfg)
        else:
            dist = distance_rows_fn(query, gallery, self.metric)
        if self.protocol == 'market1501':
            ranks = rank_metrics(
                dist, *ids, max_rank=max(self.topk),
                chunk_size=self.chunk_size)
        else:
            ranks = rank_metrics_cuhk03(
                dist,
                *ids,
                max_rank=max(self.topk),
                num_repeats=self.num_repeats,
                seed=self.seed,
                chunk_size=self.chunk_size)

        metrics = dict(mAP=100 * ranks['mAP'], mINP=100 * ranks['mINP'])
        for k in self.topk:
            metrics[f'R{k}'] = 100 * float(ranks['cmc'][k - 1])
        metrics['num_skipped_queries'] = ranks['num_skipped_queries']
        return metrics

    def _settings(self) -> str:
        """The evaluation options, for the log next to the results."""
        parts = [
            f'protocol={self.protocol}', f'metric={self.metric}',
            f'normalize_feature={self.normalize_feature}'
        ]
        if self.aqe:
            parts.append(f'aqe={self.aqe_cfg}')
        if self.rerank:
            parts.append(f'rerank={self.rerank_cfg}')
        return ', '.join(parts)
