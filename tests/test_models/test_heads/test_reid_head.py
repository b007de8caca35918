import pytest
import torch
from mmpretrain.structures import DataSample

from mmreid_tricks.registry import MODELS


def build(**kwargs):
    cfg = dict(type='ReIDHead', num_classes=4, in_channels=6)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def samples(labels):
    return [DataSample().set_gt_label(int(i)) for i in labels]


def test_classifier_has_no_bias_and_bot_init():
    head = build(num_classes=300, in_channels=512)
    head.init_weights()
    assert head.classifier.bias is None
    std = head.classifier.weight.std().item()
    assert std == pytest.approx(0.001, rel=0.05)


def test_classifier_with_bias_keeps_pytorch_default_init():
    """Rows 0-4 of the ablation: nn.Linear's own init, as released."""
    torch.manual_seed(0)
    head = build(num_classes=300, in_channels=512, classifier_bias=True)
    torch.manual_seed(0)
    reference = torch.nn.Linear(512, 300)
    head.init_weights()
    assert torch.equal(head.classifier.weight, reference.weight)
    assert torch.equal(head.classifier.bias, reference.bias)
    # Kaiming-uniform with a=sqrt(5): U(-1/sqrt(512), 1/sqrt(512)).
    bound = 1 / 512**0.5
    assert head.classifier.weight.abs().max() <= bound
    assert head.classifier.weight.std().item() == pytest.approx(
        bound / 3**0.5, rel=0.05)


def test_explicit_init_cfg_applies_to_a_biased_classifier():
    head = build(
        num_classes=300,
        in_channels=512,
        classifier_bias=True,
        init_cfg=dict(type='Normal', layer='Linear', std=0.001))
    head.init_weights()
    assert head.classifier.weight.std().item() == pytest.approx(
        0.001, rel=0.05)
    assert torch.equal(head.classifier.bias, torch.zeros(300))


def test_losses_use_the_right_features():
    head = build(center_loss=dict(type='CenterLoss'))
    f_t, f_i = torch.randn(8, 6), torch.randn(8, 6)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    head.train()
    centers = head.center_loss.centers.clone()
    losses = head.loss((f_t, f_i), samples(labels))
    assert set(losses) == {
        'loss_id', 'loss_triplet', 'loss_center', 'accuracy'
    }
    expected_id = head.id_loss(head.classifier(f_i), labels)
    assert torch.allclose(losses['loss_id'], expected_id)
    expected_tri = head.triplet_loss(f_t, labels)
    assert torch.allclose(losses['loss_triplet'], expected_tri)
    expected_center = 0.0005 * (f_t - centers[labels]).pow(2).sum(1).mean()
    assert torch.allclose(losses['loss_center'], expected_center)


def test_optional_losses_and_label_check():
    head = build(triplet_loss=None)
    losses = head.loss((torch.randn(2, 6), torch.randn(2, 6)), samples([0, 1]))
    assert 'loss_triplet' not in losses and 'loss_center' not in losses
    with pytest.raises(ValueError, match='num_classes'):
        head.loss((torch.randn(2, 6), torch.randn(2, 6)), samples([0, 9]))
    with pytest.raises(ValueError, match='at least one loss'):
        build(id_loss=None, triplet_loss=None)


@pytest.mark.parametrize('test_feature,index', [('after', 1), ('before', 0)])
def test_predict_returns_selected_embedding(test_feature, index):
    head = build(test_feature=test_feature)
    feats = (torch.randn(3, 6), torch.randn(3, 6))
    out = head.predict(feats, samples([5, 6, 7]))
    for i, s in enumerate(out):
        assert torch.equal(s.pred_feature, feats[index][i])
        assert int(s.gt_label) == 5 + i
    assert len(head.predict(feats)) == 3
    with pytest.raises(ValueError, match='test_feature'):
        build(test_feature='middle')
