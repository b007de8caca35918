"""The part of a ReID model a deployed service runs: images in, the test
embedding out, as one traceable module for ONNX or TorchScript export."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .reid_model import ReIDModel


class ReIDFeatureExporter(nn.Module):
    """Preprocessing, backbone, neck and test embedding of a ReID model.

    The input is what the test pipeline packs: a float batch of images,
    shape ``(N, 3, H, W)``, values 0-255, channels in the order the images
    were read (BGR with OpenCV / mmcv, the default ``LoadImageFromFile``),
    resized to the test size. The data preprocessor's channel flip and
    mean / std normalisation happen inside, so the output equals the
    ``pred_feature`` of ``model.predict`` (``test_feature`` of the head,
    after or before the BNNeck), optionally L2-normalised.

    Args:
        model (ReIDModel): The model, in eval mode.
        l2_normalize (bool): Divide each embedding by its L2 norm, as the
            ReID metric does with ``normalize_feature=True``; then the
            euclidean and cosine rankings of the outputs equal the
            evaluation's. Defaults to False.
    """

    def __init__(self, model: ReIDModel, l2_normalize: bool = False) -> None:
        super().__init__()
        if not hasattr(model, 'head') or not hasattr(model.head,
                                                     'test_feature'):
            raise TypeError('ReIDFeatureExporter needs a ReIDModel with a '
                            f'ReIDHead, got {type(model).__name__}')
        self.model = model
        self.l2_normalize = l2_normalize
        pre = model.data_preprocessor
        self.flip_channels = bool(getattr(pre, 'to_rgb', False))
        normalize = getattr(pre, '_enable_normalize', False)
        mean = pre.mean if normalize else torch.zeros(3, 1, 1)
        std = pre.std if normalize else torch.ones(3, 1, 1)
        self.register_buffer('mean', mean.clone().view(1, -1, 1, 1))
        self.register_buffer('std', std.clone().view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Embed a batch.

        Args:
            images (Tensor): float images, shape ``(N, 3, H, W)``.

        Returns:
            Tensor: Embeddings, shape ``(N, D)``.
        """
        if self.flip_channels:
            images = images.flip(1)
        feats = self.model.extract_feat((images - self.mean) / self.std)
        # The same choice as ReIDHead.predict.
        emb = feats[-1] if self.model.head.test_feature == 'after' else (
            feats[0])
        return F.normalize(emb, dim=1) if self.l2_normalize else emb
