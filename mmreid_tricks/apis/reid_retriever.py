"""mmpretrain's image-to-image retriever around a ReID model, for
``mmpretrain.apis.ImageRetrievalInferencer``."""
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from mmpretrain.models.retrievers import ImageToImageRetriever
from torch import Tensor

from mmreid_tricks.evaluation.functional import pairwise_distance
from mmreid_tricks.registry import MODELS

_ENCODER_KEYS = ('backbone', 'neck', 'head')


def reid_similarity(
        metric: str = 'euclidean',
        normalize: bool = True) -> Callable[[Tensor, Tensor], Tensor]:
    """Minus the ReID metric's distance, as a similarity ``[N, G]``."""

    def similarity(query: Tensor, gallery: Tensor) -> Tensor:
        if normalize:
            query, gallery = F.normalize(
                query, dim=1), F.normalize(
                    gallery, dim=1)
        return -pairwise_distance(query, gallery.to(query.device), metric)

    return similarity


@MODELS.register_module()
class ReIDRetriever(ImageToImageRetriever):
    """mmpretrain's image-to-image retriever around a ReID model.

    It lives in ``apis`` (registered in our MODELS) because it only adapts a
    model to mmpretrain's inferencer and ranks with the metric's distance.

    mmpretrain's ``ImageRetrievalInferencer`` needs a retriever (prototype
    preparation and matching). This one embeds with a ReID model's test
    feature (its ``predict``'s ``pred_feature``) and scores with minus the
    ReID metric's distance, so it ranks as :class:`ReIDMetric` does. It
    loads checkpoints of the wrapped model (``backbone.*``, ``neck.*``,
    ``head.*`` keys go to ``image_encoder``).

    Args:
        model (dict): The ReID model config, e.g. ``ReIDModel``, built in
            the ``mmreid_tricks`` scope unless it sets ``_scope_``.
        prototype (str | Tensor | dict | DataLoader): The gallery, see
            ``ImageToImageRetriever``. The inferencer replaces it.
            Defaults to ``''``.
        metric (str): ``'euclidean'`` (squared) or ``'cosine'``.
            Defaults to ``'euclidean'``.
        normalize (bool): L2-normalise embeddings before the distance.
            Defaults to True.
        topk (int): Gallery items kept per query, -1 for all.
            Defaults to -1.
        data_preprocessor (dict, optional): Defaults to None, the model's.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 model: dict,
                 prototype: Union[str, Tensor, dict] = '',
                 metric: str = 'euclidean',
                 normalize: bool = True,
                 topk: int = -1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        model = dict(model)
        model.setdefault('_scope_', 'mmreid_tricks')
        preprocessor = data_preprocessor or model.get('data_preprocessor')
        super().__init__(
            image_encoder=MODELS.build(model),
            prototype=prototype,
            similarity_fn=reid_similarity(metric, normalize),
            data_preprocessor=dict(preprocessor) if preprocessor else None,
            topk=topk,
            init_cfg=init_cfg)
        self.register_load_state_dict_pre_hook(_to_encoder_keys)

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """The ReID model's test embeddings, shape ``[N, D]``."""
        samples = self.image_encoder.predict(inputs)
        return torch.stack([s.pred_feature for s in samples])


def _to_encoder_keys(module, state_dict, prefix, *args) -> None:
    """Rename a ReID model's keys to those of the retriever, in place."""
    for key in list(state_dict):
        rest = key[len(prefix):]
        if key.startswith(prefix) and rest.split('.')[0] in _ENCODER_KEYS:
            state_dict[f'{prefix}image_encoder.{rest}'] = state_dict.pop(key)
