"""A saved gallery of embeddings, searched with the ReID metric's ranking."""
import json
import os.path as osp
import warnings
from dataclasses import dataclass
from typing import List, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from torch import Tensor
from torch.utils.data import Dataset

from mmreid_tricks.evaluation.functional import (average_query_expansion,
                                                 k_reciprocal_rerank_fn)
from mmreid_tricks.utils.test_results import reid_metric_settings
from .feature_extractor import ExtractedFeatures, ReIDFeatureExtractor
from .image_inputs import Inputs
from .topk_search import topk_from_blocks, topk_search

FORMAT_VERSION = 1
_CHECKED_KEYS = ('weights_sha256', 'model_config_sha256')
_DTYPES = {torch.float32: np.float32, torch.float16: np.float16}


@dataclass
class SearchResult:
    """The ranked gallery of each query.

    Attributes:
        distances (Tensor): float32 ``[Q, k]``, increasing along a row.
        indices (Tensor): int64 gallery indices ``[Q, k]``.
        paths (list[list[str]]): Gallery images of ``indices``.
    """
    distances: Tensor
    indices: Tensor
    paths: List[List[str]]


def metric_settings(cfg: Config) -> dict:
    """``metric`` and ``normalize`` of the config's first ReIDMetric, as
    :func:`~mmreid_tricks.utils.test_results.reid_metric_settings` reads
    them (``test_evaluator``, else ``val_evaluator``, else the metric's
    defaults: squared euclidean of L2-normalised embeddings)."""
    settings = reid_metric_settings(cfg)
    return dict(
        metric=settings['metric'], normalize=settings['normalize_feature'])


class GalleryIndex:
    """Gallery embeddings, their images and the model they come from.

    Search ranks the gallery as :class:`ReIDMetric` does: the same
    (optional) L2 normalisation, distance, alpha-QE and k-reciprocal
    re-ranking, exact top-k in bounded memory (see
    :func:`topk_search`). Saved as one ``.npz`` file (no pickle) holding
    the embeddings, the paths and a JSON header with the fingerprint of the
    model (:attr:`ReIDFeatureExtractor.fingerprint`): searching with
    images embedded by another model, or loading with it, raises a
    ValueError.

    Args:
        features (Tensor): Gallery embeddings ``[G, D]``, float32 or
            float16 (half the memory; distances are computed in float32).
        paths (list[str | None]): Image of each embedding.
        fingerprint (dict, optional): The model's fingerprint. Defaults to
            None (searching with images then only warns).
        metric (str): ``'euclidean'`` or ``'cosine'``. Defaults to
            ``'euclidean'``.
        normalize (bool): L2-normalise gallery and query embeddings.
            Defaults to True (the BoT test setting).
        pids (Tensor, optional): Identities ``[G]``. Defaults to None.
        camids (Tensor, optional): Cameras ``[G]``. Defaults to None.
    """

    def __init__(self,
                 features: Tensor,
                 paths: List[Optional[str]],
                 fingerprint: Optional[dict] = None,
                 metric: str = 'euclidean',
                 normalize: bool = True,
                 pids: Optional[Tensor] = None,
                 camids: Optional[Tensor] = None) -> None:
        if features.dim() != 2 or len(features) != len(paths):
            raise ValueError(f'features must be [G, D] with one path each, '
                             f'got {tuple(features.shape)} and '
                             f'{len(paths)} paths')
        if features.dtype not in _DTYPES:
            raise ValueError('features must be float32 or float16, got '
                             f'{features.dtype}')
        if metric not in ('euclidean', 'cosine'):
            raise ValueError(f"metric must be 'euclidean' or 'cosine', got "
                             f'{metric!r}')
        self.features = _normalized(features) if normalize else features
        self.paths = [p or '' for p in paths]
        self.fingerprint = fingerprint
        self.metric = metric
        self.normalize = normalize
        self.pids = pids
        self.camids = camids
        self.source = '<in memory>'

    def __len__(self) -> int:
        return len(self.features)

    @classmethod
    def build(cls,
              extractor: ReIDFeatureExtractor,
              source: Union[Inputs, dict, Dataset],
              dtype: torch.dtype = torch.float32,
              keep_queries: bool = False) -> 'GalleryIndex':
        """Embed a gallery with ``extractor``.

        Args:
            extractor (ReIDFeatureExtractor): The model.
            source (str | list | dict | Dataset): A folder (recursively),
                image paths, or a data set (config or object). The query
                items of a test set holding both (``is_query``) are left
                out unless ``keep_queries``.
            dtype (torch.dtype): Storage, float32 or float16. Defaults to
                float32.
            keep_queries (bool): Keep a data set's queries. Defaults to
                False.

        Returns:
            GalleryIndex: Distance and normalisation as the config's
            ReIDMetric (see :func:`metric_settings`).
        """
        if isinstance(source, (dict, Dataset)):
            out = extractor.extract_dataset(source)
        else:
            out = extractor(source)
        if out.is_query is not None and not keep_queries:
            out = _select(out, ~out.is_query)
        return cls(
            out.features.to(dtype),
            out.paths,
            extractor.fingerprint,
            pids=out.pids,
            camids=out.camids,
            **metric_settings(extractor.cfg))

    def check_model(self, extractor: ReIDFeatureExtractor) -> None:
        """Raise ValueError unless ``extractor`` has the model (weights,
        model config and test pipeline) the gallery was embedded with."""
        if self.fingerprint is None:
            warnings.warn(f'gallery index {self.source} records no model: '
                          'cannot check that the query model matches it')
            return
        theirs = extractor.fingerprint
        if any(self.fingerprint.get(k) != theirs[k] for k in _CHECKED_KEYS):
            raise ValueError(
                f'gallery index {self.source} was built with checkpoint '
                f'{self.fingerprint.get("checkpoint")} (weights sha256 '
                f'{str(self.fingerprint.get("weights_sha256"))[:12]}) and '
                f'config {self.fingerprint.get("config")}, but the query '
                f'model is checkpoint {theirs["checkpoint"]} (weights sha256 '
                f'{theirs["weights_sha256"][:12]}) and config '
                f'{theirs["config"]}: rebuild the index with this model')

    def search(self,
               query: Tensor,
               k: int = 10,
               aqe: bool = False,
               aqe_cfg: Optional[dict] = None,
               rerank: bool = False,
               rerank_cfg: Optional[dict] = None,
               query_chunk: int = 256,
               gallery_chunk: int = 16384) -> SearchResult:
        """Rank the gallery for query embeddings.

        Args:
            query (Tensor): Query embeddings ``[Q, D]``, from the same
                model; computation happens on their device.
            k (int): Gallery items returned per query. Defaults to 10.
            aqe (bool): alpha-QE of the queries first, see
                :func:`average_query_expansion` (``aqe_cfg``: ``top_k``,
                ``alpha``, ``expand_gallery``). Defaults to False.
            rerank (bool): k-reciprocal re-ranking, see
                :func:`k_reciprocal_rerank_fn` (``rerank_cfg``: ``k1``,
                ``k2``, ``lambda_value``, ``arithmetic``). Its neighbour
                search is over the
                whole gallery: time ``O((Q + G)^2 D)``, so it suits
                galleries up to about 10^5. Defaults to False.
            query_chunk (int): Queries ranked at once. Defaults to 256.
            gallery_chunk (int): Gallery items per distance block (no
                effect with ``rerank``). Defaults to 16384.

        Returns:
            SearchResult: The ``min(k, G)`` nearest items of each query.
        """
        if query.dim() != 2 or query.size(1) != self.features.size(1):
            raise ValueError(
                f'query embeddings must be [Q, {self.features.size(1)}], '
                f'got {tuple(query.shape)}')
        query = query.float()
        gallery = self.features
        if self.normalize:
            query = F.normalize(query, dim=1)
        if aqe or rerank:
            gallery = gallery.to(query.device, torch.float32)
        if aqe:
            # The defaults of ReIDMetric's aqe_cfg.
            aqe_cfg = {'top_k': 5, 'alpha': 3.0, **(aqe_cfg or {})}
            query, gallery = average_query_expansion(query, gallery, **aqe_cfg)
        if rerank:
            rows = k_reciprocal_rerank_fn(
                query, gallery, metric=self.metric, **(rerank_cfg or {}))
            # One block: re-ranked rows are computed whole.
            dist, idx = topk_from_blocks(lambda g_start, g_end: rows,
                                         len(query), len(gallery), k,
                                         query_chunk, len(gallery))
        else:
            dist, idx = topk_search(query, gallery, k, self.metric,
                                    query_chunk, gallery_chunk)
        idx = idx.cpu()
        paths = [[self.paths[i] for i in row] for row in idx.tolist()]
        return SearchResult(dist.cpu(), idx, paths)

    def search_images(self,
                      extractor: ReIDFeatureExtractor,
                      images: Inputs,
                      k: int = 10,
                      **kwargs) -> SearchResult:
        """Embed images with ``extractor`` (checked against the index's
        model) and :meth:`search` with them; ``kwargs`` go to
        :meth:`search`."""
        self.check_model(extractor)
        return self.search(extractor(images).features, k, **kwargs)

    def save(self, path: str) -> str:
        """Write the index to ``path`` (``.npz`` appended if missing) and
        return the file's path."""
        if not path.endswith('.npz'):
            path += '.npz'
        header = dict(
            format_version=FORMAT_VERSION,
            fingerprint=self.fingerprint,
            metric=self.metric,
            normalize=self.normalize)
        arrays = dict(
            features=self.features.cpu().numpy(),
            paths=np.array(self.paths, dtype=np.str_),
            header=np.array(json.dumps(header)))
        if self.pids is not None:
            arrays['pids'] = self.pids.numpy()
        if self.camids is not None:
            arrays['camids'] = self.camids.numpy()
        np.savez(path, **arrays)
        return path

    @classmethod
    def load(
            cls,
            path: str,
            extractor: Optional[ReIDFeatureExtractor] = None
    ) -> 'GalleryIndex':
        """Read an index written by :meth:`save` (no pickle is loaded).

        Args:
            path (str): The ``.npz`` file.
            extractor (ReIDFeatureExtractor, optional): If given, the index
                must come from its model (:meth:`check_model`).
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'gallery index {path} does not exist')
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            header = json.loads(str(arrays['header']))
        except (ValueError, KeyError, OSError) as error:
            raise ValueError(f'{path} is not a gallery index written by '
                             f'GalleryIndex.save: {error}') from error
        if header.get('format_version') != FORMAT_VERSION:
            raise ValueError(f'gallery index {path} has format version '
                             f'{header.get("format_version")}, this code '
                             f'reads {FORMAT_VERSION}')
        optional = {
            key: torch.from_numpy(arrays[key])
            for key in ('pids', 'camids') if key in arrays
        }
        index = cls(
            torch.from_numpy(arrays['features']),
            arrays['paths'].tolist(),
            header['fingerprint'],
            header['metric'],
            normalize=False,  # stored normalised already
            **optional)
        index.normalize = header['normalize']
        index.source = path
        if extractor is not None:
            index.check_model(extractor)
        return index


def _normalized(features: Tensor, block: int = 65536) -> Tensor:
    """L2-normalised rows in the input's dtype, computed in float32 a block
    at a time (no float32 copy of a float16 gallery)."""
    out = torch.empty_like(features)
    for start in range(0, len(features), block):
        rows = features[start:start + block].float()
        out[start:start + block] = F.normalize(rows, dim=1)
    return out


def _select(out: ExtractedFeatures, keep: Tensor) -> ExtractedFeatures:
    """The rows of ``out`` where ``keep`` is True."""

    def rows(t: Optional[Tensor]) -> Optional[Tensor]:
        return None if t is None else t[keep]

    return ExtractedFeatures(out.features[keep],
                             [p for p, k in zip(out.paths, keep) if k],
                             out.skipped, rows(out.pids), rows(out.camids),
                             rows(out.is_query))
