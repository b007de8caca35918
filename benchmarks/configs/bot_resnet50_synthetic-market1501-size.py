# The full BoT recipe (ResNet-50 with last stride 1, 256x128, P=16 x K=4,
# every trick) on a synthetic data set of Market-1501's size, for timing the
# recipe end to end where the real data set is not at hand: 751 train
# identities (about 12,700 images; Market-1501: 12,936), about 3,000 query
# images (3,368) and a gallery of about 15,900 images besides 3,819 junk
# ones (15,913 and 3,819): its 750 test identities have fewer images than
# Market-1501's, so distractors make up the difference. Generated at 256x128
# on first use (about 2 minutes on 2 CPU cores). No weights can be
# downloaded where this config was written, so the backbone starts from
# random initialisation instead of ImageNet's: the schedule is the paper's,
# the accuracy is not.
_base_ = '../../configs/bot/bot_resnet50_1xb64-120e_market1501.py'

dataset_type = 'SyntheticMarket1501'
data_root = 'data/synthetic_market1501_full'
generate = dict(
    num_train_ids=751,
    num_test_ids=750,
    images_per_id=17,
    num_distractors=6245,
    num_junk=3819,
    height=256,
    width=128,
    seed=0)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 256), interpolation='bilinear'),
    dict(type='PackInputs', meta_keys=('img_path', 'camid', 'is_query')),
]
synthetic = dict(type=dataset_type, data_root=data_root, generate=generate)

model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(dataset=synthetic)
val_dataloader = dict(
    dataset=dict(datasets=[
        dict(synthetic, split='query', pipeline=test_pipeline),
        dict(synthetic, split='gallery', pipeline=test_pipeline),
    ]))
test_dataloader = val_dataloader
