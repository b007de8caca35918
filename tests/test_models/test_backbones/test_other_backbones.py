"""BNNeck and ReIDHead on backbones other than LastStrideResNet.

Every model is built from a config, trained for one iteration (ID, triplet
and center loss) and embeds a batch. The last-stride trick is checked on the
ResNet-like backbones of mmpretrain, whose ``strides`` argument gives it.
"""
import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from mmreid_tricks.registry import MODELS

NUM_CLASSES = 4

# A ViT small enough for a CPU test: 2 layers of width 32, non-square input
# and patches. ``cls_token`` gives (N, C) vectors that BNNeck passes on,
# ``featmap`` gives (N, C, H, W) maps that BNNeck pools.
TINY_VIT = dict(
    embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)

BACKBONES = {
    'vit-cls-token': (dict(
        type='VisionTransformer',
        arch=TINY_VIT,
        img_size=(64, 32),
        patch_size=8,
        out_type='cls_token',
        drop_path_rate=0.1), 32),
    'vit-featmap-16x8-patches': (dict(
        type='VisionTransformer',
        arch=TINY_VIT,
        img_size=(64, 32),
        patch_size=(16, 8),
        out_type='featmap'), 32),
    # ConvNeXt pools and normalises itself by default: (N, C) vectors.
    'convnext-gap': (dict(
        type='ConvNeXt',
        arch=dict(depths=[1, 1, 1, 1], channels=[16, 32, 64, 128])), 128),
    # Without its own pooling it gives the map, which BNNeck pools.
    'convnext-map': (dict(
        type='ConvNeXt',
        arch=dict(depths=[1, 1, 1, 1], channels=[16, 32, 64, 128]),
        gap_before_final_norm=False), 128),
    # A timm model through mmpretrain's wrapper. With features_only the
    # wrapper returns a tuple with one map per out index.
    'timm-features-only': (dict(
        type='TIMMBackbone',
        model_name='mobilenetv3_small_050',
        pretrained=False,
        features_only=True,
        out_indices=(4, )), 288),
    # Without features_only it runs the whole timm model after
    # ``reset_classifier(0, '')``: no pooling, no classifier, but MobileNetV3
    # still applies its 1x1 ``conv_head`` (1024 channels), a (N, C, H, W) map.
    'timm-forward-features': (dict(
        type='TIMMBackbone',
        model_name='mobilenetv3_small_050',
        pretrained=False), 1024),
}


def reid_model(backbone, channels):
    return MODELS.build(
        dict(
            type='ReIDModel',
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True),
            backbone=backbone,
            neck=dict(type='BNNeck', in_channels=channels),
            head=dict(
                type='ReIDHead',
                num_classes=NUM_CLASSES,
                in_channels=channels,
                id_loss=dict(type='CrossEntropyLabelSmoothLoss', epsilon=0.1),
                triplet_loss=dict(type='TripletLoss', margin=0.3),
                center_loss=dict(type='CenterLoss', loss_weight=0.0005),
                test_feature='after')))


def batch(n=8):
    """P=4 identities x K=2 images of 64x32."""
    imgs = [
        torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8) for _ in range(n)
    ]
    samples = [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(n)]
    return dict(inputs=imgs, data_samples=samples)


@pytest.mark.parametrize('name', list(BACKBONES))
def test_one_iteration_and_embedding(name):
    torch.manual_seed(0)
    backbone, channels = BACKBONES[name]
    model = reid_model(backbone, channels)
    model.init_weights()
    wrapper = build_optim_wrapper(model,
                                  dict(optimizer=dict(type='Adam', lr=1e-3)))
    before = {
        k: v.detach().clone()
        for k, v in model.backbone.named_parameters()
    }
    classifier = model.head.classifier.weight.detach().clone()
    centers = model.head.center_loss.centers.clone()

    model.train()
    log_vars = model.train_step(batch(), wrapper)
    assert {'loss', 'loss_id', 'loss_triplet', 'loss_center'} <= set(log_vars)
    for key in ('loss', 'loss_id', 'loss_triplet', 'loss_center'):
        assert torch.isfinite(torch.as_tensor(log_vars[key])), key
    changed = [
        k for k, v in model.backbone.named_parameters()
        if not torch.equal(before[k], v)
    ]
    assert changed, 'no backbone weight moved'
    assert not torch.equal(classifier, model.head.classifier.weight)
    assert not torch.equal(centers, model.head.center_loss.centers)
    assert torch.equal(model.neck.bn.bias, torch.zeros(channels))

    model.eval()
    preds = model.test_step(batch(n=3))
    assert len(preds) == 3
    for pred in preds:
        assert pred.pred_feature.shape == (channels, )
        assert torch.isfinite(pred.pred_feature).all()


# --- Last stride on mmpretrain's ResNet-like backbones ----------------------


def _first_block_of_last_stage(net):
    return getattr(net, net.res_layers[-1])[0]


def _assert_last_stage_stride_one(net):
    block = _first_block_of_last_stage(net)
    assert block.stride == 1
    # The shortcut does not down-sample either.
    if block.downsample is not None:
        for m in block.downsample.modules():
            if isinstance(m, torch.nn.Conv2d):
                assert m.stride == (1, 1)
            assert not isinstance(m, torch.nn.AvgPool2d)


@pytest.mark.parametrize(
    'cfg', [
        dict(type='ResNeXt', depth=50, groups=32, width_per_group=4),
        dict(type='SEResNet', depth=50),
        dict(type='ResNetV1d', depth=50),
    ],
    ids=lambda c: c['type'])
def test_strides_argument_gives_16x8_map(cfg):
    net = MODELS.build(dict(cfg, strides=(1, 2, 2, 1), out_indices=(3, )))
    _assert_last_stage_stride_one(net)
    net.eval()  # mmpretrain's ResNet.train() returns None
    with torch.no_grad():
        out = net(torch.randn(1, 3, 256, 128))
    assert out[-1].shape == (1, 2048, 16, 8)


@pytest.mark.parametrize('depth,channels', [(18, 512), (34, 512), (50, 2048)])
def test_last_stride_resnet_depths(depth, channels):
    net = MODELS.build(
        dict(type='LastStrideResNet', depth=depth, out_indices=(3, )))
    _assert_last_stage_stride_one(net)
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 256, 128))
    assert out[-1].shape == (1, channels, 16, 8)


@pytest.mark.parametrize('depth', [101, 152])
def test_deep_last_stride_resnet_builds(depth):
    # No forward: too slow for a CPU unit test.
    net = MODELS.build(dict(type='LastStrideResNet', depth=depth))
    _assert_last_stage_stride_one(net)
    # The stages before keep their stride 2.
    assert getattr(net, net.res_layers[1])[0].stride == 2
