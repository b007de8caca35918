"""The ablation rows start from the paper's baseline and each adds its
trick, cumulatively, ending at the full recipe; each row reads alone."""
import glob
import importlib.util
import os.path as osp
import re

import torch
from mmengine.config import Config

from mmreid_tricks.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TRICKS = ('warmup', 'erasing', 'label_smoothing', 'last_stride', 'bnneck',
          'center_loss')
# {algorithm}_{backbone}_{gpus}xb{batch}-{schedule}_{dataset}.py
NAME = re.compile(r'bot-ablation(\d)-[a-z-]+_resnet18_1xb64-20e_'
                  r'synthetic-market1501\.py')


def paths():
    return sorted(glob.glob(osp.join(REPO, 'configs', 'ablation', '*.py')))


def rows():
    return [Config.fromfile(p) for p in paths()]


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
    for i, cfg in enumerate(configs):
        on = tricks(cfg)
        assert on == {name: k < i for k, name in enumerate(TRICKS)}, i
        assert cfg.model.head.triplet_loss is not None


def test_names_follow_the_convention_in_row_order():
    names = [osp.basename(p) for p in paths()]
    assert [int(NAME.fullmatch(n).group(1)) for n in names] == list(range(7))


def test_each_row_inherits_only_base_files_and_states_every_trick():
    for path in paths():
        text = open(path).read()
        bases = Config._get_base_files(path)
        assert bases and all('/_base_/' in b for b in bases), path
        for key in ('warmup_length=', 'train_pipeline =', 'epsilon=',
                    'last_stride=', 'with_bn=', 'classifier_bias=',
                    'test_feature=', 'center_loss='):
            assert key in text, (path, key)


def test_biased_classifier_rows_keep_pytorch_default_init():
    """Rows 0-4 (classifier with bias): nn.Linear's own init; row 5 on:
    the BNNeck classifier from N(0, 0.001^2)."""
    for i, cfg in enumerate(rows()):
        head = MODELS.build(cfg.model.head)
        head.init_weights()
        weight = head.classifier.weight
        if i < 5:
            bound = 1 / weight.shape[1]**0.5
            assert head.classifier.bias is not None
            assert weight.abs().max() <= bound
            assert weight.std() > 0.5 * bound / 3**0.5, i
        else:
            assert head.classifier.bias is None
            assert torch.isclose(weight.std(), torch.tensor(0.001), rtol=0.2)


def test_run_ablation_finds_the_rows_by_name():
    spec = importlib.util.spec_from_file_location(
        'run_ablation', osp.join(REPO, 'tools', 'run_ablation.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    found = tool.find_rows(None)
    assert [row[0] for row in found] == list(range(7))
    assert [row[1] for row in found] == list(tool.PAPER)
    assert [row[2] for row in found] == paths()
    assert [row[0] for row in tool.find_rows([0, 5])] == [0, 5]
