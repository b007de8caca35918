"""ReIDRetriever: a ReID model's embeddings and metric inside mmpretrain's
image-to-image retriever, loading the model's own checkpoints."""
import torch

from mmreid_tricks.registry import MODELS

REID_MODEL = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[0., 0., 0.], std=[1., 1., 1.]),
    backbone=dict(
        type='LastStrideResNet', depth=18, base_channels=8, stem_channels=8),
    neck=dict(type='BNNeck', in_channels=64),
    head=dict(type='ReIDHead', num_classes=5, in_channels=64))


def test_loads_reid_model_weights_and_ranks_by_metric_distance():
    torch.manual_seed(0)
    reid = MODELS.build(REID_MODEL).eval()
    gallery = torch.randn(6, 64)
    retriever = MODELS.build(
        dict(type='ReIDRetriever', model=REID_MODEL,
             prototype=gallery)).eval()
    # The ReIDModel's keys load (strict) into the wrapped encoder.
    retriever.load_state_dict(reid.state_dict(), strict=True)
    inputs = torch.rand(2, 3, 64, 32)
    embeds = torch.stack([s.pred_feature for s in reid.predict(inputs)])
    torch.testing.assert_close(retriever.extract_feat(inputs), embeds)
    scores = retriever.predict(inputs)[0].pred_score
    q = torch.nn.functional.normalize(embeds[0], dim=0)
    g = torch.nn.functional.normalize(gallery, dim=1)
    torch.testing.assert_close(scores, -(q - g).pow(2).sum(1))
