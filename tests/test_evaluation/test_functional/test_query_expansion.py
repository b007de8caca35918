import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmreid_tricks.evaluation.functional.query_expansion import \
    average_query_expansion


def random_feats(seed, num_q=30, num_g=120, dim=16):
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(num_q + num_g, dim)).astype(np.float32)
    return feats[:num_q], feats[num_q:]


def test_aqe_by_hand():
    query = torch.tensor([[2., 0.]])
    gallery = torch.tensor([[0., 1.], [1., 1.], [1., -0.1]])
    new_query, new_gallery = average_query_expansion(
        query, gallery, top_k=2, alpha=3.)
    # Neighbours: g2 (cos 0.995) and g1 (cos 0.7071), weighted by cos^3.
    g1, g2 = F.normalize(gallery[1:], dim=1)
    expected = torch.tensor([1., 0.]) + 0.995**3 * g2 + 0.5**1.5 * g1
    torch.testing.assert_close(new_query[0], F.normalize(expected, dim=0))
    torch.testing.assert_close(new_gallery, F.normalize(gallery, dim=1))

    # Gallery side: g0's other neighbours are g1 (cos 0.7071) and g2,
    # whose negative cosine gets no weight.
    new_gallery = average_query_expansion(
        query, gallery, top_k=2, expand_gallery=True)[1]
    expected = torch.tensor([0., 1.]) + 0.5**1.5 * g1
    torch.testing.assert_close(new_gallery[0], F.normalize(expected, dim=0))


def test_aqe_limits():
    query, gallery = map(torch.from_numpy, random_feats(13))
    normalised = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
    for result in [
            average_query_expansion(query, gallery, top_k=0),
            # Similarities below 1 vanish under a huge exponent.
            average_query_expansion(
                query, gallery, alpha=1e4, expand_gallery=True),
    ]:
        torch.testing.assert_close(result[0], normalised[0])
        torch.testing.assert_close(result[1], normalised[1])
    # alpha = 0: the plain mean of the query and its top_k neighbours.
    new_query = average_query_expansion(query, gallery, top_k=3, alpha=0)[0]
    idx = (normalised[0] @ normalised[1].t()).topk(3).indices
    expected = normalised[0] + normalised[1][idx].sum(1)
    torch.testing.assert_close(new_query, F.normalize(expected, dim=1))
    # Chunks do not change anything.
    torch.testing.assert_close(
        average_query_expansion(
            query, gallery, expand_gallery=True, chunk_size=7),
        average_query_expansion(query, gallery, expand_gallery=True))
    with pytest.raises(ValueError, match='top_k'):
        average_query_expansion(query, gallery, top_k=120, expand_gallery=True)


def test_aqe_ties_in_index_order():
    query = torch.tensor([[1., 0.]])
    # Three neighbours at the same similarity: the first by index is taken.
    gallery = torch.tensor([[1., 1.], [1., -1.], [1., -1.]])
    new_query = average_query_expansion(query, gallery, top_k=1)[0]
    expected = torch.tensor([1., 0.]) + 0.5**1.5 * F.normalize(
        gallery[0], dim=0)
    torch.testing.assert_close(new_query[0], F.normalize(expected, dim=0))
