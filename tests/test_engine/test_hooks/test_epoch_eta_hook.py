"""The training ETA with epochs of varying length (P x K sampler)."""
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmreid_tricks.registry import DATA_SAMPLERS

# 30 identities with 4 to 12 images: the epoch length varies with the epoch.
LABELS = np.repeat(np.arange(30), 4 + np.arange(30) % 9)
BATCH, EPOCHS = 8, 4


class Identities(Dataset):

    def __len__(self):
        return len(LABELS)

    def __getitem__(self, index):
        return dict(inputs=torch.tensor([float(index)]))

    def get_gt_labels(self):
        return LABELS


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=(self.weight * inputs.float()).pow(2).mean())


class RecordETA(Hook):
    """Turn each iteration's ETA back into the iterations it counts."""

    priority = 'LOW'  # after the timer, which is NORMAL

    def __init__(self):
        self.left = []

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        timer = next(
            h for h in runner.hooks
            if type(h).__name__ == 'EpochETAIterTimerHook')
        seconds_per_iter = timer.time_sec_tot / (
            runner.iter - timer.start_iter + 1)
        eta = runner.message_hub.get_info('eta')
        self.left.append(eta / seconds_per_iter)


def epoch_lengths(seed):
    sampler = DATA_SAMPLERS.build(
        dict(type='RandomIdentitySampler', batch_size=BATCH, seed=seed),
        default_args=dict(dataset=Identities()))
    lengths = []
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        lengths.append(len(sampler) // BATCH)
    return lengths


def test_eta_counts_the_iterations_left_and_is_never_negative(tmp_path):
    # A seed whose later epochs are longer than epoch 0: mmengine's estimate,
    # built from epoch 0, falls short and its ETA would go negative.
    seed = next(
        s for s in range(100)
        if sum(epoch_lengths(s)) > EPOCHS * epoch_lengths(s)[0])
    lengths = epoch_lengths(seed)
    total = sum(lengths)
    sampler = dict(type='RandomIdentitySampler', batch_size=BATCH, seed=seed)

    record = RecordETA()
    runner = Runner(
        model=Toy(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Identities(),
            sampler=sampler,
            batch_size=BATCH,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS),
        default_hooks=dict(
            timer=dict(type='EpochETAIterTimerHook'), checkpoint=None),
        custom_hooks=[record],
        default_scope='mmreid_tricks')
    runner.train()

    assert len(record.left) == total
    assert min(record.left) >= 0
    # Within an epoch the count is the rest of it plus the later epochs at
    # its length; in the last epoch that is exact.
    start = 0
    for epoch, length in enumerate(lengths):
        for i in range(length):
            expected = (length - i - 1) + (EPOCHS - epoch - 1) * length
            assert np.isclose(record.left[start + i], expected)
        start += length
    assert record.left[-1] == 0
