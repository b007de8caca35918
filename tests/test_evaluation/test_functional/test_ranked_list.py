import numpy as np
import pytest
import torch

from mmreid_tricks.evaluation.functional import (query_scores, rank_metrics,
                                                 ranked_gallery)


def test_hand_computed_ranking_with_tie_and_ignored_item():
    # Gallery: 0 same id+cam (ignored), 1 match, 2 wrong at the same
    # distance as 1, 3 wrong, 4 match.
    dist = torch.tensor([[0.1, 0.5, 0.5, 0.2, 0.9]])
    ranked = ranked_gallery(dist, torch.tensor([7]),
                            torch.tensor([7, 7, 3, 4, 7]), torch.tensor([1]),
                            torch.tensor([1, 2, 2, 1, 3]))
    # The negative ties first (pessimistic, as rank_metrics counts).
    assert ranked['order'].tolist() == [[0, 3, 2, 1, 4]]
    assert ranked['ignored'].tolist() == [[True, False, False, False, False]]
    assert ranked['match'].tolist() == [[False, False, False, True, True]]
    assert ranked['rank'].tolist() == [[-1, 0, 1, 2, 3]]
    scores = query_scores(ranked)
    # Positives at ranks 2 and 3: AP = (1/3 + 2/4) / 2.
    assert scores['ap'].item() == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert scores['first_match'].tolist() == [2]


def test_query_without_match_has_nan_ap():
    ranked = ranked_gallery(
        torch.tensor([[0.3, 0.1]]), torch.tensor([1]), torch.tensor([1, 2]),
        torch.tensor([0]), torch.tensor([0, 1]))
    scores = query_scores(ranked)
    assert torch.isnan(scores['ap']).all()
    assert scores['first_match'].tolist() == [-1]


@pytest.mark.parametrize('seed', range(3))
def test_scores_average_to_rank_metrics(seed):
    rng = np.random.default_rng(seed)
    num_q, num_g = 30, 120
    q_pids = torch.from_numpy(rng.integers(0, 10, num_q))
    g_pids = torch.from_numpy(rng.integers(0, 10, num_g))
    q_cams = torch.from_numpy(rng.integers(0, 3, num_q))
    g_cams = torch.from_numpy(rng.integers(0, 3, num_g))
    # Rounded distances: many ties, where the tie order matters.
    dist = torch.from_numpy(np.round(rng.random((num_q, num_g)), 1)).float()
    scores = query_scores(ranked_gallery(dist, q_pids, g_pids, q_cams, g_cams))
    expected = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, max_rank=20)
    valid = ~torch.isnan(scores['ap'])
    assert scores['ap'][valid].mean().item() == pytest.approx(
        expected['mAP'], abs=1e-12)
    first = scores['first_match'][valid]
    cmc = torch.stack([(first <= k).double().mean() for k in range(20)])
    assert torch.allclose(cmc, expected['cmc'])
    assert int((~valid).sum()) == expected['num_skipped_queries']


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match='expected'):
        ranked_gallery(
            torch.zeros(2, 3), torch.zeros(2), torch.zeros(4), torch.zeros(2),
            torch.zeros(4))
