"""The ablation rows start from the paper's baseline and each adds its
trick, cumulatively, ending at the full recipe."""
import glob
import os.path as osp

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def rows():
    paths = sorted(
        glob.glob(osp.join(REPO, 'configs', 'ablation', 'bot-ablation_*-*')))
    return [Config.fromfile(p) for p in paths]


def tricks(cfg):
    head = cfg.model.head
    pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    return dict(
        warmup=cfg.param_scheduler.warmup_length > 0,
        erasing='ReIDRandomErasing' in pipeline,
        label_smoothing=head.id_loss.epsilon > 0,
        last_stride=cfg.model.backbone.last_stride == 1,
        bnneck=cfg.model.neck.with_bn and not head.classifier_bias
        and head.test_feature == 'after',
        center_loss=head.get('center_loss') is not None)


def test_rows_add_one_trick_each():
    configs = rows()
    assert len(configs) == 7
    order = ['warmup', 'erasing', 'label_smoothing', 'last_stride', 'bnneck',
             'center_loss']
    for i, cfg in enumerate(configs):
        on = tricks(cfg)
        assert on == {name: k < i for k, name in enumerate(order)}, i
        assert cfg.model.head.triplet_loss is not None
