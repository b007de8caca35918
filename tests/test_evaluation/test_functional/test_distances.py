import pytest
import torch

from mmreid_tricks.evaluation.functional import (DistanceRows,
                                                 distance_rows_fn,
                                                 pairwise_distance)


def test_distance_rows_fn_equals_pairwise_distance():
    torch.manual_seed(0)
    query, gallery = torch.randn(7, 5), torch.randn(11, 5)
    for metric in ('euclidean', 'cosine'):
        rows = distance_rows_fn(query, gallery, metric)
        full = pairwise_distance(query, gallery, metric)
        assert torch.equal(torch.cat([rows(0, 3), rows(3, 7)]), full)


def test_distance_rows_chunks_each_once_and_checks_shapes():
    matrix = torch.arange(12.).view(4, 3)
    chunks = list(DistanceRows(matrix, 4, 3).chunks(3))
    assert [(s, e) for s, e, _ in chunks] == [(0, 3), (3, 4)]
    assert torch.equal(torch.cat([d for _, _, d in chunks]), matrix)

    calls = []

    def rows(start, end):
        calls.append((start, end))
        return matrix[start:end]

    assert len(list(DistanceRows(rows, 4, 3).chunks(2))) == 2
    assert calls == [(0, 2), (2, 4)]
    with pytest.raises(
            ValueError, match=r'distmat has shape \(4, 3\), '
            r'expected \(4, 2\)'):
        DistanceRows(matrix, 4, 2)
    with pytest.raises(
            ValueError,
            match=r'chunk 0:2 has shape \(2, 3\), '
            r'expected \(2, 4\)'):
        list(DistanceRows(rows, 4, 4).chunks(2))
    with pytest.raises(ValueError, match='chunk_size must be positive'):
        list(DistanceRows(matrix, 4, 3).chunks(0))
