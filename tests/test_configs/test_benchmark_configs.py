"""The config that times the full recipe on a synthetic set of Market-1501's
size: the recipe's settings, Market-1501's proportions, no download."""
import os.path as osp

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'benchmarks', 'configs',
                  'bot_resnet50_synthetic-market1501-size.py')


def test_full_recipe_on_a_market_sized_synthetic_set():
    cfg = Config.fromfile(CONFIG)
    recipe = Config.fromfile(
        osp.join(REPO, 'configs', 'bot',
                 'bot_resnet50_1xb64-120e_market1501.py'))
    # The recipe itself, but nothing to download.
    backbone = cfg.model.backbone
    assert backbone.depth == 50 and backbone.init_cfg is None
    assert cfg.model.head == recipe.model.head
    assert cfg.optim_wrapper == recipe.optim_wrapper
    assert cfg.param_scheduler == recipe.param_scheduler
    assert cfg.train_dataloader.sampler == recipe.train_dataloader.sampler
    assert cfg.train_dataloader.dataset.pipeline == \
        recipe.train_dataloader.dataset.pipeline
    # Market-1501's identities, junk and gallery size (19,732 files).
    generate = cfg.generate
    assert (generate.num_train_ids, generate.num_test_ids) == (751, 750)
    assert (generate.height, generate.width) == (256, 128)
    assert generate.num_junk == 3819
    for split, dataset in zip(('query', 'gallery'),
                              cfg.test_dataloader.dataset.datasets):
        assert dataset.type == 'SyntheticMarket1501'
        assert dataset.split == split and dataset.generate == generate
        assert dataset.pipeline == \
            recipe.test_dataloader.dataset.datasets[0].pipeline
    # Testing reports the metrics with and without re-ranking.
    assert [m.get('rerank', False) for m in cfg.test_evaluator] == \
        [False, True]
