import torch
from mmengine.optim import build_optim_wrapper
from mmpretrain.structures import DataSample

from mmreid_tricks.registry import MODELS


def tiny_model(num_classes=4):
    return MODELS.build(
        dict(
            type='ReIDModel',
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True),
            backbone=dict(
                type='LastStrideResNet', depth=18, out_indices=(3, )),
            neck=dict(type='BNNeck', in_channels=512),
            head=dict(
                type='ReIDHead',
                num_classes=num_classes,
                in_channels=512,
                center_loss=dict(type='CenterLoss'))))


def batch(n=8):
    imgs = [
        torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8) for _ in range(n)
    ]
    data_samples = [DataSample().set_gt_label(i % 4) for i in range(n)]
    return dict(inputs=imgs, data_samples=data_samples)


def test_modes():
    model = tiny_model()
    data = model.data_preprocessor(batch(), True)
    losses = model(**data, mode='loss')
    assert {'loss_id', 'loss_triplet', 'loss_center'} <= set(losses)
    model.eval()
    with torch.no_grad():
        preds = model(**data, mode='predict')
        logits = model(data['inputs'], mode='tensor')
    assert preds[0].pred_feature.shape == (512, )
    assert logits.shape == (8, 4)


def test_train_step_updates_weights_and_centers():
    torch.manual_seed(0)
    model = tiny_model()
    wrapper = build_optim_wrapper(model,
                                  dict(optimizer=dict(type='Adam', lr=3.5e-4)))
    w0 = model.backbone.conv1.weight.clone()
    c0 = model.head.center_loss.centers.clone()
    log_vars = model.train_step(batch(), wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(w0, model.backbone.conv1.weight)
    assert not torch.equal(c0, model.head.center_loss.centers)
    # The frozen BNNeck bias stays zero.
    assert torch.equal(model.neck.bn.bias, torch.zeros(512))


def test_val_step_embeds():
    model = tiny_model().eval()
    out = model.val_step(batch(4))
    assert len(out) == 4 and out[0].pred_feature.shape == (512, )


def test_channels_last_option_gives_the_same_embeddings():
    torch.manual_seed(0)
    plain = tiny_model()
    fast = MODELS.build(
        dict(
            type='ReIDModel',
            channels_last=True,
            backbone=dict(
                type='LastStrideResNet', depth=18, out_indices=(3, )),
            neck=dict(type='BNNeck', in_channels=512),
            head=dict(type='ReIDHead', num_classes=4, in_channels=512)))
    # strict=False: only `plain` has a center loss (its centers buffer).
    fast.load_state_dict(plain.state_dict(), strict=False)
    assert fast.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    plain.eval()
    fast.eval()
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        a = plain.extract_feat(x)[-1]
        b = fast.extract_feat(x)[-1]
    assert torch.allclose(a, b, atol=1e-4)
