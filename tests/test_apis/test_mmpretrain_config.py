"""mmpretrain's own inferencers run our models through one call of
``to_mmpretrain_config``, with the same embeddings and ranking as ours."""
import os.path as osp

import mmcv
import pytest
import torch
from mmpretrain.apis import FeatureExtractor, ImageRetrievalInferencer

from mmreid_tricks.apis import (GalleryIndex, ReIDFeatureExtractor,
                                list_images, to_mmpretrain_config)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMPRETRAIN_CONFIG = osp.join(
    REPO, 'configs', 'mmpretrain_examples',
    'bot_resnet50_1xb64-120e_market1501_mmpretrain-base.py')


def test_plain_config_fails_in_mmpretrain(tiny):
    with pytest.raises(KeyError, match='ReIDModel is not in the mmpretrain'):
        FeatureExtractor(tiny['cfg'], pretrained=tiny['ckpt'], device='cpu')


def test_feature_extractor_gives_our_embeddings(tiny):
    paths = list_images(osp.join(tiny['data'], 'query'))[:3]
    theirs = FeatureExtractor(
        to_mmpretrain_config(tiny['cfg']),
        pretrained=tiny['ckpt'],
        device='cpu')(
            paths, batch_size=2)
    ours = ReIDFeatureExtractor(tiny['cfg'], tiny['ckpt'])(paths).features
    # ReIDModel.extract_feat gives BNNeck's (f_t, f_i); the test feature of
    # the tiny config is f_i, after the BN.
    torch.testing.assert_close(
        torch.stack([feats[-1] for feats in theirs]), ours, atol=1e-6, rtol=0)


def test_image_retrieval_inferencer_ranks_as_our_index(tiny):
    gallery = list_images(osp.join(tiny['data'], 'bounding_box_test'))[:60]
    queries = list_images(osp.join(tiny['data'], 'query'))[:2]
    inferencer = ImageRetrievalInferencer(
        to_mmpretrain_config(tiny['cfg'], retriever=True),
        prototype=gallery,
        pretrained=tiny['ckpt'],
        device='cpu')
    theirs = inferencer(queries, topk=5)
    extractor = ReIDFeatureExtractor(tiny['cfg'], tiny['ckpt'])
    ours = GalleryIndex.build(extractor, gallery).search_images(
        extractor, queries, k=5)
    for matches, indices, dists in zip(theirs, ours.indices, ours.distances):
        assert [m['sample_idx'] for m in matches] == indices.tolist()
        # The score is minus the ReID metric's distance.
        torch.testing.assert_close(
            torch.stack([m['match_score'] for m in matches]), -dists)


def test_mmpretrain_style_config_extracts(tiny):
    """An mmpretrain config naming our modules (default scope mmpretrain),
    shrunk to a small ResNet-18."""
    options = {
        'model.backbone.depth': 18,
        'model.backbone.base_channels': 16,
        'model.backbone.stem_channels': 16,
        'model.backbone.init_cfg': None,
        'model.neck.in_channels': 128,
        'model.head.in_channels': 128,
        'model.head.num_classes': 8,
        'data_preprocessor.num_classes': 8,
    }
    image = mmcv.imread(list_images(tiny['data'])[0])
    out = ReIDFeatureExtractor(
        MMPRETRAIN_CONFIG, device='cpu', cfg_options=options)([image])
    assert out.features.shape == (1, 128)
    cfg = to_mmpretrain_config(MMPRETRAIN_CONFIG, options)
    assert cfg.model._scope_ == 'mmpretrain'
    theirs = FeatureExtractor(cfg, pretrained=False, device='cpu')([image])
    assert theirs[0][-1].shape == (128, )
