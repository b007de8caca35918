"""Save the test embeddings, identities, cameras and image paths to a file.

The file is what ``tools/test.py --out results.pth`` writes and what the
analysis tools (ranked-list pictures, CMC curves) read back. It holds only
tensors, lists, strings and numbers, so ``torch.load(..., weights_only=True)``
reads it without running any pickled code.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mmreid_tricks.registry import METRICS
from ..reid_results import make_reid_results, plain_meta
from .reid_metric import _REQUIRED_KEYS, _to_int


@METRICS.register_module()
class DumpReIDFeatures(BaseMetric):
    """Write what :class:`ReIDMetric` sees to ``out_file``; compute nothing.

    Put it next to the ReID metric in ``test_evaluator``; the samples are the
    same, in the same order (after mmengine gathers all processes and drops
    the distributed sampler's padding). The file holds a dict::

        {'format': 'mmreid_tricks.reid_results', 'version': 1,
         'query': {'features': Tensor[Q, D], 'pids': Tensor[Q],
                   'camids': Tensor[Q], 'img_paths': list[str]},
         'gallery': {... the same for the G gallery images ...},
         'meta': dict}

    ``features`` are the model's raw test embeddings (float32, before the
    metric's optional L2 normalisation). Read it with
    :func:`mmreid_tricks.evaluation.load_reid_results`.

    Args:
        out_file (str): Where to write, usually a ``.pth`` file.
        meta (dict, optional): Saved verbatim under ``'meta'`` (e.g. the
            config, checkpoint and the ReID metric's distance settings).
            Strings, numbers, bools, None, lists and dicts only.
            Defaults to None.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        collect_dir (str, optional): See ``BaseMetric``. Defaults to None.

    Examples:
        >>> test_evaluator = [
        ...     dict(type='ReIDMetric'),
        ...     dict(type='DumpReIDFeatures', out_file='results.pth')]
    """
    default_prefix: Optional[str] = 'dump'  # no metric is ever named

    def __init__(self,
                 out_file: str,
                 meta: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device, collect_dir=collect_dir)
        self.out_file = out_file
        self.meta = plain_meta(meta or {})

    def process(self, data_batch: Sequence[dict],
                data_samples: Sequence[dict]) -> None:
        """Keep each sample's embedding, identity, camera, role and path."""
        for sample in data_samples:
            missing = [
                k for k in _REQUIRED_KEYS + ('img_path', ) if k not in sample
            ]
            if missing:
                raise KeyError(
                    'DumpReIDFeatures needs '
                    f'{list(_REQUIRED_KEYS) + ["img_path"]} in each data '
                    f'sample; missing {missing} (add them to the meta_keys '
                    'of the test pipeline\'s PackInputs)')
            self.results.append(
                dict(
                    feature=sample['pred_feature'].detach().float().cpu(),
                    pid=_to_int(sample['gt_label']),
                    camid=_to_int(sample['camid']),
                    is_query=bool(sample['is_query']),
                    img_path=str(sample['img_path'])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the gathered samples to ``out_file``; no metric."""
        data = make_reid_results(
            torch.stack([r['feature'] for r in results]),
            [r['pid'] for r in results], [r['camid'] for r in results],
            [r['is_query'] for r in results], [r['img_path']
                                               for r in results], self.meta)
        out_dir = osp.dirname(osp.abspath(self.out_file))
        os.makedirs(out_dir, exist_ok=True)
        torch.save(data, self.out_file)
        return {}
