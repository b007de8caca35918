# Table 1, row "+center loss": center loss on f_t, weight 0.0005, centers
# updated by SGD with lr 0.5 -- the full BoT strong baseline.
_base_ = './bot-ablation_5-bnneck_synthetic.py'
model = dict(
    head=dict(
        center_loss=dict(
            _delete_=True,  # the base config holds None here
            type='CenterLoss',
            loss_weight=0.0005,
            center_lr=0.5)))
