"""Extract ReID embeddings with a trained model."""
import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import LoadImageFromFile
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope
from mmpretrain.utils import track
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from mmreid_tricks.registry import DATASETS, TRANSFORMS
from .image_inputs import ImageInput, Inputs, inputs_to_list
from .model_loading import (ConfigType, build_model, config_sha256,
                            state_dict_sha256)

_PRECISIONS = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}
_ON_ERROR = ('raise', 'skip')


@dataclass
class ExtractedFeatures:
    """Embeddings and where they come from, in input order.

    Attributes:
        features (Tensor): float32 embeddings on the CPU, shape ``[N, D]``.
        paths (list[str | None]): The image of each row; None for a numpy
            input.
        skipped (list[str]): Unreadable images left out (``on_error=
            'skip'``).
        pids (Tensor, optional): Identities ``[N]`` (data sets only).
        camids (Tensor, optional): Cameras ``[N]`` (data sets only).
        is_query (Tensor, optional): Query flags ``[N]`` (data sets only).
    """
    features: Tensor
    paths: List[Optional[str]]
    skipped: List[str] = field(default_factory=list)
    pids: Optional[Tensor] = None
    camids: Optional[Tensor] = None
    is_query: Optional[Tensor] = None


@dataclass
class _Unreadable:
    index: int
    path: str
    error: str


def find_test_pipeline(dataset_cfg: dict) -> list:
    """The pipeline of a data set config, looking inside wrappers
    (``ConcatDataset``'s first data set, ``RepeatDataset``'s data set)."""
    if 'pipeline' in dataset_cfg:
        return list(dataset_cfg['pipeline'])
    if dataset_cfg.get('datasets'):
        return find_test_pipeline(dataset_cfg['datasets'][0])
    if 'dataset' in dataset_cfg:
        return find_test_pipeline(dataset_cfg['dataset'])
    raise KeyError('the test data set config has no `pipeline`: '
                   f'{dict(dataset_cfg)}')


class _ImageList(Dataset):
    """Image paths and arrays through the test pipeline; an unreadable file
    yields an :class:`_Unreadable` instead of raising (in worker processes
    too)."""

    def __init__(self, items: List[ImageInput], load: Callable,
                 pipeline: Callable) -> None:
        self.items = items
        self.load = load
        self.pipeline = pipeline

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        item = self.items[index]
        if isinstance(item, np.ndarray):
            shape = item.shape[:2]
            results = dict(img=item, img_shape=shape, ori_shape=shape)
        else:
            try:
                results = self.load(dict(img_path=item))
            except Exception as error:  # any decoder's failure
                return _Unreadable(index, item, f'{type(error).__name__}: '
                                   f'{error}')
            if results is None:  # LoadImageFromFile(ignore_empty=True)
                return _Unreadable(index, item, 'empty file')
        return index, self.pipeline(results)


def _collate(items: list):
    good = [item for item in items if not isinstance(item, _Unreadable)]
    bad = [item for item in items if isinstance(item, _Unreadable)]
    data = pseudo_collate([packed for _, packed in good]) if good else None
    return [index for index, _ in good], data, bad


class ReIDFeatureExtractor:
    """Embed images with a ReID model built from a config and a checkpoint.

    The images go through the config's test pipeline (the first data set's
    of ``test_dataloader``) and ``model.test_step``, as in ``tools/test.py``,
    so the embeddings equal those the ReID metric receives (before its own
    normalisation): the ``pred_feature`` of the model, i.e. the head's
    ``test_feature`` (after or before the BNNeck).

    Args:
        config (str | Config): Our config, or an mmpretrain config that
            names our modules.
        checkpoint (str, optional): Weights; every key must fit the model,
            else a ValueError names the file and the keys. Loading runs
            mmengine's checkpoint loaders (a ``.pth`` file is a pickle:
            only load files you trust). Defaults to None (initial weights).
        device (str, optional): Defaults to ``'cuda'`` if available, else
            ``'cpu'``.
        cfg_options (dict, optional): Config overrides, as
            ``--cfg-options``. Defaults to None.
        batch_size (int, optional): Images per forward pass. Defaults to the
            ``test_dataloader``'s, else 32.
        num_workers (int): Processes loading images. Defaults to 0.
        normalize (bool): L2-normalise each embedding. Defaults to False
            (the metric normalises itself if its ``normalize_feature``).
        precision (str): ``'fp32'``, or ``'fp16'`` / ``'bf16'`` autocast.
            fp16 needs CUDA. Defaults to ``'fp32'``.
        channels_last (bool): Run the model in the channels-last memory
            format (faster convolutions under autocast on recent GPUs).
            Defaults to False.
        on_error (str): An unreadable image: ``'raise'`` a ValueError
            naming it, or ``'skip'`` it with a warning naming it (listed in
            :attr:`ExtractedFeatures.skipped`). Defaults to ``'raise'``.
        progress (bool): Show a progress bar when there is more than one
            batch. Defaults to True.

    Example:
        >>> extractor = ReIDFeatureExtractor('configs/strong_baseline.py',
        ...                                  'work_dirs/epoch_120.pth')
        >>> out = extractor('path/to/images')  # a folder, recursively
        >>> out.features.shape, out.paths[0]
    """

    def __init__(self,
                 config: ConfigType,
                 checkpoint: Optional[str] = None,
                 device: Optional[str] = None,
                 cfg_options: Optional[dict] = None,
                 batch_size: Optional[int] = None,
                 num_workers: int = 0,
                 normalize: bool = False,
                 precision: str = 'fp32',
                 channels_last: bool = False,
                 on_error: str = 'raise',
                 progress: bool = True) -> None:
        if precision not in _PRECISIONS:
            raise ValueError(f'precision must be one of '
                             f'{tuple(_PRECISIONS)}, got {precision!r}')
        if on_error not in _ON_ERROR:
            raise ValueError(f'on_error must be one of {_ON_ERROR}, got '
                             f'{on_error!r}')
        self.model, self.cfg = build_model(config, checkpoint, device,
                                           cfg_options)
        self.device = next(self.model.parameters()).device
        if precision == 'fp16' and self.device.type != 'cuda':
            raise ValueError('precision fp16 needs a CUDA device, got '
                             f'{self.device}; use bf16 or fp32')
        self.checkpoint = checkpoint
        self.precision = precision
        self.normalize = normalize
        self.on_error = on_error
        self.progress = progress
        self.num_workers = num_workers
        test_loader = self.cfg.get('test_dataloader') or {}
        self.batch_size = batch_size or test_loader.get('batch_size', 32)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
            if hasattr(self.model, 'channels_last'):  # ReIDModel: inputs too
                self.model.channels_last = True
        dataset_cfg = test_loader.get('dataset')
        # Without a test set in the config, images are only packed.
        self.pipeline_cfg = find_test_pipeline(dataset_cfg) if (
            dataset_cfg) else [dict(type='PackInputs')]
        self._load, self._pipeline = self._build_pipeline(self.pipeline_cfg)
        self._sha256: Optional[str] = None

    def _scope(self):
        return DefaultScope.overwrite_default_scope(
            self.cfg.get('default_scope', 'mmreid_tricks'))

    def _build_pipeline(self, pipeline_cfg: list):
        """The loading transform (the config's, else mmcv's default) and
        the rest of the test pipeline."""
        with self._scope():
            transforms = [TRANSFORMS.build(t) for t in pipeline_cfg]
        if transforms and isinstance(transforms[0], LoadImageFromFile):
            return transforms[0], Compose(transforms[1:])
        return LoadImageFromFile(), Compose(transforms)

    @property
    def fingerprint(self) -> dict:
        """What the embeddings depend on: the weights (sha256 of the state
        dict), the model config and the test pipeline."""
        if self._sha256 is None:
            self._sha256 = state_dict_sha256(self.model)
        return dict(
            checkpoint=self.checkpoint,
            config=self.cfg.filename,
            weights_sha256=self._sha256,
            model_config_sha256=config_sha256(self.cfg.model,
                                              self.pipeline_cfg))

    def _autocast(self):
        dtype = _PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    @torch.no_grad()
    def embed_batch(self, data: dict) -> Tensor:
        """Embeddings of one collated batch, float32 ``[B, D]`` on the
        model's device.

        Args:
            data (dict): ``inputs`` and ``data_samples`` as a data loader
                with ``pseudo_collate`` gives them.
        """
        with self._autocast():
            samples = self.model.test_step(data)
        if not samples or 'pred_feature' not in samples[0]:
            raise TypeError(
                f'{type(self.model).__name__}.predict gives no '
                '`pred_feature`: use a ReID model (such as ReIDModel)')
        feats = torch.stack([s.pred_feature for s in samples]).float()
        return F.normalize(feats, dim=1) if self.normalize else feats

    def _batches(self, loader: DataLoader):
        if self.progress and len(loader) > 1:
            return track(loader, 'Extracting', total=len(loader))
        return loader

    def __call__(self, inputs: Inputs) -> ExtractedFeatures:
        """Embed images.

        Args:
            inputs (str | ndarray | list): An image path, a folder (its
                images, recursively, sorted by path), an HxWx3 uint8 BGR
                numpy image (as ``mmcv.imread`` returns), or a list mixing
                these.

        Returns:
            ExtractedFeatures: One row per readable image, in input order.
        """
        items = inputs_to_list(inputs)
        loader = DataLoader(
            _ImageList(items, self._load, self._pipeline),
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            collate_fn=_collate)
        feats, order, skipped = [], [], []
        for indices, data, bad in self._batches(loader):
            for item in bad:
                if self.on_error == 'raise':
                    raise ValueError(f'cannot read image {item.path}: '
                                     f"{item.error} (on_error='skip' "
                                     'leaves such images out)')
                warnings.warn(f'skipping unreadable image {item.path}: '
                              f'{item.error}')
                skipped.append(item.path)
            if data is not None:
                feats.append(self.embed_batch(data).cpu())
                order.extend(indices)
        if not feats:
            raise ValueError(f'none of the {len(items)} images could be '
                             f'read; skipped: {skipped[:10]}')
        paths = [
            None if isinstance(items[i], np.ndarray) else items[i]
            for i in order
        ]
        return ExtractedFeatures(torch.cat(feats), paths, skipped)

    def extract_dataset(
            self,
            dataset: Union[dict, Dataset, None] = None) -> ExtractedFeatures:
        """Embed a data set, with its identities, cameras and roles.

        Args:
            dataset (dict | Dataset, optional): A data set config (built in
                the config's scope, with its own pipeline) or object.
                Defaults to the config's ``test_dataloader.dataset`` (query
                then gallery, the order the metric sees).

        Returns:
            ExtractedFeatures: One row per item, in data set order, with
            ``pids``, ``camids`` and ``is_query`` where the samples hold
            them.
        """
        if dataset is None:
            dataset = self.cfg.test_dataloader.dataset
        if not isinstance(dataset, Dataset):
            with self._scope():
                dataset = DATASETS.build(dataset)
        if len(dataset) == 0:
            raise ValueError(f'the data set {type(dataset).__name__} is '
                             'empty')
        loader = DataLoader(
            dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        feats, samples = [], []
        for data in self._batches(loader):
            feats.append(self.embed_batch(data).cpu())
            samples.extend(data['data_samples'])
        paths = [s.get('img_path') for s in samples]
        if any(p is None for p in paths) and hasattr(dataset, 'get_data_info'):
            paths = [
                dataset.get_data_info(i).get('img_path')
                for i in range(len(dataset))
            ]
        return ExtractedFeatures(
            torch.cat(feats),
            paths,
            pids=_field(samples, 'gt_label'),
            camids=_field(samples, 'camid'),
            is_query=_field(samples, 'is_query'))


def _field(samples: Sequence, key: str) -> Optional[Tensor]:
    """One int per sample from a metainfo or label field, or None."""
    if not samples or key not in samples[0]:
        return None
    values = [int(torch.as_tensor(s.get(key)).reshape(-1)[0]) for s in samples]
    return torch.tensor(
        values, dtype=torch.bool if key == 'is_query' else torch.long)
