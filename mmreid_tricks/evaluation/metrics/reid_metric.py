"""The ReID metric: CMC ranks, mAP and mINP of query against gallery."""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import MessageHub, print_log
from mmengine.visualization import Visualizer
from torch import Tensor

from mmreid_tricks.registry import METRICS
from ..cmc_plot import plot_cmc
from ..functional import (average_query_expansion, distance_rows_fn,
                          k_reciprocal_rerank_fn, rank_metrics,
                          rank_metrics_cuhk03)
from ..functional.distances import DistChunkFn
from .query_gallery import QueryGallery

_REQUIRED_KEYS = ('pred_feature', 'gt_label', 'camid', 'is_query')
_PROTOCOLS = ('market1501', 'cuhk03_sgs')
_CMC_LOGS = (None, 'scalars', 'image')


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
    chunks of queries, each chunk once, so memory stays bounded for large
    galleries.

    With ``protocol='cuhk03_sgs'`` the CMC follows the classic CUHK03
    single-gallery-shot protocol instead (``eval_cuhk03``): one random image
    per gallery identity, averaged over ``num_repeats`` draws; mAP and mINP
    are unchanged. See
    :func:`mmreid_tricks.evaluation.functional.cuhk03_protocol.rank_metrics_cuhk03`.

    :meth:`compute_metrics` reads top-down: :meth:`gather` splits the
    results into queries and gallery (and checks them), :meth:`distances`
    applies query expansion and re-ranking, :meth:`rank` runs the protocol.
    After it, :attr:`last_results` holds the whole CMC curve and the AP of
    each query (on the process that computes the metrics, rank 0).

    Each data sample (a dict from ``DataSample.to_dict()``) must hold:

    - ``pred_feature`` (Tensor): the embedding, shape ``[D]``;
    - ``gt_label`` (Tensor | int): the identity, a ``[1]`` tensor or an int;
    - ``camid`` (int): the camera;
    - ``is_query`` (bool): True for a query, False for a gallery image;

    and may hold ``img_path`` (str), which errors about an embedding name.

    Args:
        metric (str): Distance, ``'euclidean'`` (squared) or ``'cosine'``.
            Defaults to ``'euclidean'``.
        normalize_feature (bool): L2-normalise the embeddings before the
            distance, as the BoT test setting does. Defaults to True.
        topk (int | Sequence[int]): Ranks k reported as ``R{k}``.
            Defaults to ``(1, 5, 10)``.
        chunk_size (int): Queries whose distances are held at once
            (``chunk_size x G`` floats: 673 MB at MSMT17's 82,161 gallery
            images). Defaults to 2048 (see
            :func:`~mmreid_tricks.evaluation.functional.rank_metrics_from_features`).
        protocol (str): ``'market1501'`` or ``'cuhk03_sgs'``.
            Defaults to ``'market1501'``.
        num_repeats (int): Sampled galleries per query of ``'cuhk03_sgs'``.
            Defaults to 10.
        seed (int): Seed of the draws of ``'cuhk03_sgs'``. Defaults to 0.
        rerank (bool): Rank by the k-reciprocal re-ranked distance (Zhong et
            al., 2017) instead of the plain one. Defaults to False.
        rerank_cfg (dict, optional): Arguments of
            :func:`~mmreid_tricks.evaluation.functional.k_reciprocal_rerank_fn`
            overriding ``dict(k1=20, k2=6, lambda_value=0.3)``.
            Defaults to None.
        aqe (bool): Apply alpha-weighted query expansion to the embeddings
            first (before re-ranking when both are on). Defaults to False.
        aqe_cfg (dict, optional): Arguments of
            :func:`~mmreid_tricks.evaluation.functional.average_query_expansion`
            overriding ``dict(top_k=5, alpha=3.0)``. Defaults to None.
        max_rank (int): Length of the CMC curve kept in :attr:`last_results`
            and logged; at least the largest ``topk``. Defaults to 50.
        log_cmc_curve (str, optional): Also write the CMC curve (ranks 1
            to ``max_rank``) to the visualizer's backends (``vis_backends``):
            ``'scalars'`` writes the scalar ``{prefix}/CMC/{when}`` with step
            = rank, a curve in TensorBoard; ``'image'`` writes a plot of the
            curve as the image ``{prefix}_CMC`` with step = ``n``, which
            every backend shows (W&B ignores scalar steps). ``when`` is
            ``iter_{n}`` after ``n`` training iterations, ``test`` in a
            test run (``n = 0``), else ``eval_{n}`` for this metric's
            ``n``-th evaluation. Defaults to None (not written).
        device (str): Where the distances and ranks are computed, e.g.
            ``'cpu'`` or ``'cuda'``; CUDA falls back to CPU with a warning
            when it is not available. Defaults to ``'cpu'``.
        collect_device (str): Device used to gather the results of all
            processes, ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None,
            which uses ``'reid'``.
        collect_dir (str, optional): Directory for gathering the results
            through files when ``collect_device='cpu'``. Defaults to None.

    Attributes:
        last_results (dict | None): Set by :meth:`compute_metrics` on the
            process that computes the metrics (rank 0), None before:
            ``cmc`` (float64 Tensor ``[max_rank]``, percent; ``cmc[k - 1]``
            equals ``R{k}``), ``ap`` (float64 Tensor ``[Q]``, each query's
            AP in percent, NaN for a skipped query), ``query_paths`` and
            ``gallery_paths`` (the ``img_path`` of each image, in the order
            of the test set; None where absent).

    Examples:
        >>> val_evaluator = dict(type='ReIDMetric', topk=(1, 5, 10))
        >>> # After runner.test(), the whole curve of the first metric:
        >>> # runner.test_evaluator.metrics[0].last_results['cmc']
    """
    default_prefix: Optional[str] = 'reid'

    def __init__(self,
                 metric: str = 'euclidean',
                 normalize_feature: bool = True,
                 topk: Union[int, Sequence[int]] = (1, 5, 10),
                 chunk_size: int = 2048,
                 protocol: str = 'market1501',
                 num_repeats: int = 10,
                 seed: int = 0,
                 rerank: bool = False,
                 rerank_cfg: Optional[dict] = None,
                 aqe: bool = False,
                 aqe_cfg: Optional[dict] = None,
                 max_rank: int = 50,
                 log_cmc_curve: Optional[str] = None,
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
        if log_cmc_curve not in _CMC_LOGS:
            raise ValueError(f'log_cmc_curve must be one of {_CMC_LOGS}, '
                             f'got {log_cmc_curve!r}')
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
        self.max_rank = max(max_rank, *topk)
        self.log_cmc_curve = log_cmc_curve
        self.device = device
        self.last_results: Optional[dict] = None
        self._num_evaluations = 0

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep the embedding, identity, camera, role and path of each sample.

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
                    is_query=bool(sample['is_query']),
                    img_path=sample.get('img_path')))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Rank the gallery for every query and average the metrics.

        Also sets :attr:`last_results` and, with ``log_cmc_curve``, writes
        the CMC curve to the visualizer.

        Args:
            results (list[dict]): What :meth:`process` kept, from all
                processes.

        Returns:
            dict: ``mAP``, ``mINP`` and ``R{k}`` for each k of ``topk``, in
            percent (0-100), and ``num_skipped_queries``, the number of
            queries without a match in the gallery.
        """
        print_log(f'ReIDMetric: {self._settings()}', logger='current')
        split = self.gather(results)
        ranks = self.rank(self.distances(split.query, split.gallery), split)
        self.last_results = dict(
            cmc=100 * ranks['cmc'],
            ap=100 * ranks['ap'],
            query_paths=split.q_paths,
            gallery_paths=split.g_paths)
        self._num_evaluations += 1
        if self.log_cmc_curve:
            self._log_cmc_curve(self.last_results['cmc'])

        metrics = dict(mAP=100 * ranks['mAP'], mINP=100 * ranks['mINP'])
        for k in self.topk:
            metrics[f'R{k}'] = 100 * float(ranks['cmc'][k - 1])
        metrics['num_skipped_queries'] = ranks['num_skipped_queries']
        return metrics

    def gather(self, results: List[dict]) -> QueryGallery:
        """Split the results into queries and gallery, on the compute device.

        Args:
            results (list[dict]): What :meth:`process` kept.

        Returns:
            QueryGallery: The embeddings (normalised with
            ``normalize_feature``) and their identities, cameras and paths.
        """
        split = QueryGallery.from_results(results)
        device = self._compute_device()

        def prepare(features: Tensor) -> Tensor:
            features = features.to(device)
            return F.normalize(
                features, dim=1) if (self.normalize_feature) else features

        return split._replace(
            query=prepare(split.query), gallery=prepare(split.gallery))

    def distances(self, query: Tensor, gallery: Tensor) -> DistChunkFn:
        """The distance rows to rank: plain, or after AQE and re-ranking.

        Args:
            query (Tensor): Query embeddings, ``[Q, D]``.
            gallery (Tensor): Gallery embeddings, ``[G, D]``.

        Returns:
            Callable: ``fn(start, end)`` giving the distances of queries
            ``start:end`` to the gallery, ``[end - start, G]``.
        """
        if self.aqe:
            query, gallery = average_query_expansion(query, gallery,
                                                     **self.aqe_cfg)
        if self.rerank:
            return k_reciprocal_rerank_fn(
                query, gallery, metric=self.metric, **self.rerank_cfg)
        return distance_rows_fn(query, gallery, self.metric, clamp=False)

    def rank(self, dist: DistChunkFn, split: QueryGallery) -> dict:
        """Rank the gallery under ``protocol``; each chunk is asked once.

        Args:
            dist (Callable): The distance rows, from :meth:`distances`.
            split (QueryGallery): The identities and cameras.

        Returns:
            dict: As :func:`~mmreid_tricks.evaluation.functional.rank_metrics`
            (fractions), with a CMC of ``max_rank`` ranks.
        """
        ids = (split.q_pids, split.g_pids, split.q_camids, split.g_camids)
        if self.protocol == 'market1501':
            return rank_metrics(
                dist, *ids, max_rank=self.max_rank, chunk_size=self.chunk_size)
        return rank_metrics_cuhk03(
            dist,
            *ids,
            max_rank=self.max_rank,
            num_repeats=self.num_repeats,
            seed=self.seed,
            chunk_size=self.chunk_size)

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

    def _log_cmc_curve(self, cmc: Tensor) -> None:
        """Write the CMC curve (percent) to the visualizer's backends."""
        # get_current_instance raises when no visualizer exists (a metric
        # used without a runner); mmengine's own code checks this dict.
        if not Visualizer._instance_dict:
            print_log(
                'ReIDMetric: log_cmc_curve is set but no visualizer exists; '
                'the CMC curve is not logged.',
                logger='current',
                level=logging.WARNING)
            return
        visualizer = Visualizer.get_current_instance()
        when, step = self._evaluation_name()
        if self.log_cmc_curve == 'scalars':
            tag = f'{self.prefix}/CMC/{when}'
            for rank, value in enumerate(cmc.tolist(), start=1):
                visualizer.add_scalar(tag, value, step=rank)
        else:
            image = plot_cmc({self.prefix: cmc}, title=f'CMC, {when}')
            visualizer.add_image(f'{self.prefix}_CMC', image, step=step)

    def _evaluation_name(self) -> Tuple[str, int]:
        """Which evaluation this is, as a name and a step: ``('test', 0)``
        in a test run, ``(f'iter_{n}', n)`` after ``n`` training
        iterations, else ``(f'eval_{n}', n)`` for this metric's ``n``-th
        call."""
        hub = MessageHub.get_current_instance()
        if hub.get_info('loop_stage') == 'test':
            return 'test', 0
        last_iter = hub.get_info('iter')  # set by the training loop
        if last_iter is not None:
            return f'iter_{last_iter + 1}', last_iter + 1
        return f'eval_{self._num_evaluations}', self._num_evaluations

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
