"""Pictures people read: grids at a readable size, labelled rows, class names in legends, a capped --grid."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genlab import pictures, plots
from genlab.cli import main


def test_a_grid_of_small_images_is_scaled_up_to_a_readable_width():
    x = np.random.default_rng(0).random((64, 1, 28, 28), dtype=np.float32)
    grid = plots.image_grid(x)  # 8 x 8 Fashion-MNIST images: 242 px at native size
    assert grid.shape[1] >= plots.GRID_WIDTH and grid.shape[0] == grid.shape[1]
    scale = ((grid.shape[1] - 2) // 8 - 2) // 28  # by whole pixels: every image pixel is a scale x scale block
    assert scale > 1 and 8 * (28 * scale + 2) + 2 == grid.shape[1]
    cell = grid[2:2 + 28 * scale, 2:2 + 28 * scale, 0]
    assert (cell[::scale, ::scale] == cell[1::scale, 1::scale]).all()
    wide = plots.image_grid(np.zeros((8, 3, 64, 64), np.float32), nrow=8)  # already wide: left alone
    assert wide.shape[1] == 8 * 66 + 2


def test_labelled_grid_writes_a_titled_picture(tmp_path):
    rows = [("input", np.zeros((8, 1, 8, 8), np.float32)), ("reconstruction", np.ones((8, 1, 8, 8), np.float32))]
    path = plots.save_labelled_grid(rows, tmp_path / "r.png", "a title", columns=[str(i) for i in range(8)])
    width, height = Image.open(path).size
    assert width > plots.GRID_WIDTH and height > 100
    with pytest.raises(ValueError):  # rows of unequal length cannot share columns
        plots.save_labelled_grid([("a", np.zeros((3, 1, 8, 8))), ("b", np.zeros((2, 1, 8, 8)))], tmp_path / "x.png",
                                 "t")


def test_the_latent_scatter_names_the_classes(tmp_path, monkeypatch):
    seen = {}

    def keep(fig, path):
        seen["labels"] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return plots._save(fig, path)

    monkeypatch.setattr(pictures, "_save", keep)
    z, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 3
    pictures._latent_scatter(z, y, tmp_path / "l.png", "t", ["cat", "dog", "bird"])
    assert seen["labels"] == ["cat", "dog", "bird"]
    pictures._latent_scatter(z, y, tmp_path / "l.png", "t", None)  # unnamed classes: their index
    assert seen["labels"] == ["class 0", "class 1", "class 2"]


def test_sample_grid_draws_at_most_the_cap_and_says_so(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "vae", "--dataset", "digits", "--out", str(run), "--steps", "2", "hidden=8",
                 "latent_dim=2"]) == 0
    capsys.readouterr()
    png, npy = tmp_path / "g.png", tmp_path / "s.npy"
    assert main(["sample", str(run), "--n", str(plots.GRID_MAX_IMAGES + 44), "--grid", str(png), "--out",
                 str(npy)]) == 0
    out = capsys.readouterr().out
    assert f"the first {plots.GRID_MAX_IMAGES} of {plots.GRID_MAX_IMAGES + 44:,}" in out and str(npy) in out
    assert len(np.load(npy)) == plots.GRID_MAX_IMAGES + 44
    side = int(np.ceil(np.sqrt(plots.GRID_MAX_IMAGES)))  # 16 x 16 images
    width = Image.open(png).size[0]
    assert (width - 2) % side == 0
