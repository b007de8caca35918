import torch

from mmreid_tricks.evaluation.functional import IdentityLayout


def test_layout_by_hand():
    g_pids = torch.tensor([5, 2, 5, 9, 2, 5])
    layout = IdentityLayout.of(g_pids)
    assert layout.uids.tolist() == [2, 5, 9]
    assert layout.counts.tolist() == [2, 3, 1]
    assert layout.starts.tolist() == [0, 2, 5]
    assert layout.members.tolist() == [1, 4, 0, 2, 5, 3]  # gallery order

    index = layout.index_of(torch.tensor([9, 7, 2, 5]))
    assert index.tolist() == [2, -1, 0, 1]  # 7 is not in the gallery
    assert layout.max_members(index) == 3
    assert layout.max_members(torch.tensor([-1])) == 1

    idx, real = layout.members_of(index, 3)
    assert real.tolist() == [[True, False, False], [False] * 3,
                             [True, True, False], [True] * 3]
    assert idx[real].tolist() == [3, 1, 4, 0, 2, 5]
    assert 0 <= int(idx.min()) and int(idx.max()) < len(g_pids)  # padding
