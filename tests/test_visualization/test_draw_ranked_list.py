import mmcv
import numpy as np
import pytest
import torch

from mmreid_tricks.visualization import (COLORS, RankedListLayout,
                                         draw_query_result, draw_ranked_list,
                                         rank_all_queries, select_queries)


def frame_color(picture, layout, index):
    """The colour in the middle of the left frame of tile ``index``."""
    x, y = layout.tile_origin(index)
    return tuple(
        int(v)
        for v in picture[y + layout.tile_h // 2, x + layout.border // 2])


def test_layout_size_and_frames():
    layout = RankedListLayout(tile_size=(32, 64), border=4, gap=5)
    imgs = [np.full((20, 10, 3), 60 * i, np.uint8) for i in range(3)]
    kinds = ['match', 'wrong', 'ignored']
    picture = draw_ranked_list(imgs[0], ['query'], imgs, kinds,
                               [['a'], ['b'], ['c']], 'title', layout)
    # width: gap + 4 cells of (32 + 2*4) + 3 gaps + separator + gap
    assert picture.shape == (*layout.canvas_size(3), 3)
    assert picture.shape[1] == 5 + 4 * 40 + 3 * 5 + 4 * 5 + 5
    assert frame_color(picture, layout, 0) == COLORS['query']
    for index, kind in enumerate(kinds, 1):
        assert frame_color(picture, layout, index) == COLORS[kind]
    # The ignored tile is greyed out: its pixels have equal channels.
    x, y = layout.tile_origin(3)
    inner = picture[y + 10:y + 50, x + 10:x + 30]
    assert (inner[..., 0] == inner[..., 1]).all()


def test_bad_kind_is_refused():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match='kinds'):
        draw_ranked_list(img, [], [img], ['right'], [[]])


@pytest.fixture
def results(tmp_path):
    """Query 0 (id 1, cam 0); gallery ids/cams chosen for known kinds."""
    g_pids = [1, 2, 1, 3, 1]
    g_cams = [0, 1, 1, 0, 2]  # item 0: same id and cam -> ignored
    paths = []
    for i in range(6):
        path = str(tmp_path / f'{i}.png')
        mmcv.imwrite(np.full((16, 8, 3), 40 * i, np.uint8), path)
        paths.append(path)
    feats = torch.eye(6)
    return dict(
        query=dict(
            features=feats[:1],
            pids=torch.tensor([1]),
            camids=torch.tensor([0]),
            img_paths=paths[:1]),
        gallery=dict(
            features=feats[1:],
            pids=torch.tensor(g_pids),
            camids=torch.tensor(g_cams),
            img_paths=paths[1:]))


@pytest.mark.parametrize('show_ignored', [False, True])
def test_query_picture_colours_follow_the_ranking(results, show_ignored):
    # Ranked: 0 (ignored), 1 (wrong), 2 (match), 3 (wrong), 4 (match).
    dist = torch.tensor([0.0, 0.1, 0.2, 0.3, 0.4])
    layout = RankedListLayout(tile_size=(16, 32), border=3, gap=4)
    picture = draw_query_result(
        results, 0, dist, topk=3, show_ignored=show_ignored, layout=layout)
    expected = ['wrong', 'match', 'wrong']
    if show_ignored:
        expected = ['ignored'] + expected
    assert picture.shape[:2] == layout.canvas_size(len(expected))
    for index, kind in enumerate(expected, 1):
        assert frame_color(picture, layout, index) == COLORS[kind]


def test_worst_and_best_queries(results):
    q = results['query']
    results['query'] = {
        k: (torch.cat([v, v]) if k != 'img_paths' else v * 2)
        for k, v in q.items()
    }
    dist = torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4], [0.0, 0.4, 0.1, 0.3, 0.2]])
    scores = rank_all_queries(dist, results, chunk_size=1)
    assert scores['first_match'].tolist() == [1, 0]
    assert select_queries(scores, 'worst', 1) == [0]
    assert select_queries(scores, 'best', 2) == [1, 0]
    assert sorted(select_queries(scores, 'random', 5)) == [0, 1]
