# Table 1, row "+LS": label smoothing of the ID loss, epsilon=0.1.
_base_ = './bot-ablation_2-random-erasing_synthetic.py'
model = dict(head=dict(id_loss=dict(epsilon=0.1)))
