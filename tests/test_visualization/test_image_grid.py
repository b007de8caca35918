import numpy as np
import pytest

from mmreid_tricks.visualization import image_grid


def test_image_grid_size_and_cells():
    rows = [[
        np.full((10, 5, 3), 10 * (3 * r + c), np.uint8) for c in range(3)
    ] for r in range(2)]
    grid = image_grid(
        rows, ['a', 'b\nc', 'd'], tile_size=(20, 40), gap=2, title_height=30)
    assert grid.shape == (30 + 2 * (40 + 2), 3 * (20 + 2) + 2, 3)
    # Cell (row 1, column 2) holds its image, resized.
    y, x = 30 + 42, 2 + 2 * 22
    assert (grid[y:y + 40, x:x + 20] == 50).all()


def test_image_grid_needs_one_image_per_column():
    with pytest.raises(ValueError, match='one per'):
        image_grid([[np.zeros((4, 4, 3), np.uint8)]], ['a', 'b'])
