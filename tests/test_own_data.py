"""The user's own data: flat rows read as images where that is unambiguous (or as `shape=` says), a test split
held out of data that has none (`test_fraction`), paths stored resolved."""

from __future__ import annotations

import numpy as np
import pytest

from genlab.api import make_configs
from genlab.config import DataConfig
from genlab.data.base import load_data
from genlab.errors import ConfigError, DataError

RNG = np.random.default_rng(0)


def npz(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def load(path, split="train", **kw):
    return load_data(DataConfig(dataset="npz", path=path, **kw), split=split)


def test_flat_pixel_rows_become_images_said_in_one_line(tmp_path, capsys):
    grey = npz(tmp_path / "grey.npz", x=RNG.integers(0, 256, (50, 64), dtype=np.uint8))
    d = load(grey)
    assert d.info.kind == "image" and d.info.shape == (1, 8, 8)
    assert "rows of 64 numbers read as 8x8 grey images (shape=1x8x8" in capsys.readouterr().err
    load(grey, split="test")
    assert "read as" not in capsys.readouterr().err  # said once per process
    colour = npz(tmp_path / "colour.npz", x=RNG.random((50, 3 * 16 * 16)).astype(np.float32))
    assert load(colour).info.shape == (3, 16, 16)
    raw = np.random.default_rng(1).integers(0, 256, (50, 64), dtype=np.uint8)
    x = load(npz(tmp_path / "same.npz", x=raw)).x.cpu().numpy()  # the rows reshaped, values as 0..1
    whole = load(str(tmp_path / "same.npz"), test_fraction=0).x.cpu().numpy()
    assert np.allclose(whole, raw.reshape(50, 1, 8, 8) / 255, atol=1e-6) and x.shape[1:] == (1, 8, 8)


def test_points_stay_points(tmp_path):
    standardized = npz(tmp_path / "z.npz", x=RNG.normal(size=(50, 64)).astype(np.float32))  # not pixels
    assert load(standardized).info.kind == "points"
    low = npz(tmp_path / "low.npz", x=RNG.random((50, 16)).astype(np.float32))  # 4x4 is too small to guess
    assert load(low).info.kind == "points"
    pixels = npz(tmp_path / "p.npz", x=RNG.integers(0, 256, (50, 64), dtype=np.uint8))
    assert load(pixels, shape="points").info.shape == (64,)


def test_shape_states_the_image_shape(tmp_path):
    path = npz(tmp_path / "r.npz", x=RNG.random((50, 2 * 8 * 4)).astype(np.float32))  # 64 = 8x8 too
    assert load(path, shape="1x8x8").info.shape == (1, 8, 8)
    assert load(path, shape="1x16x4").info.shape == (1, 16, 4)
    with pytest.raises(DataError, match=r"shape=1x9x9 holds 81 numbers, but each row has 64"):
        load(path, shape="1x9x9")
    with pytest.raises(ConfigError, match="invalid value for 'shape'"):
        DataConfig(dataset="npz", shape="2x8x8")
    with pytest.raises(DataError, match="state the images' shape=CxHxW"):
        load(path, image_size=8, channels=1)


def test_a_test_split_is_held_out_with_a_fixed_seed(tmp_path, capsys):
    y = np.repeat(np.arange(10), 20)  # sorted by label, as files often are
    x = np.arange(200 * 64, dtype=np.float32).reshape(200, 64) / (200 * 64)
    path = npz(tmp_path / "xy.npz", x=x, y=y)
    train, test = load(path), load(path, split="test")
    assert "20 of its 200 examples (test_fraction=0.1, drawn with a fixed seed) are held out" in capsys.readouterr().err
    assert (len(train), len(test)) == (180, 20)
    rows = {tuple(r) for r in np.concatenate([train.x.cpu().numpy(), test.x.cpu().numpy()]).reshape(200, -1)}
    assert len(rows) == 200  # disjoint and complete
    assert len(set(test.y.tolist())) >= 5  # drawn across the file, not its last rows
    again = load_data(DataConfig(dataset="npz", path=path), split="test", seed=7)  # whatever the run's seed
    assert np.array_equal(again.x.cpu().numpy(), test.x.cpu().numpy())
    assert len(load(path, split="test", test_fraction=0.25)) == 50
    assert len(load(path, test_fraction=0)) == 200
    with pytest.raises(DataError, match="no test split"):
        load(path, split="test", test_fraction=0)
    with pytest.raises(ConfigError, match="test_fraction"):
        DataConfig(test_fraction=1.0)


def test_a_folder_without_test_gets_a_held_out_split(tmp_path):
    from PIL import Image

    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((4, 4), 20 * i, np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    cfg = DataConfig(dataset="folder", path=str(tmp_path / "imgs"))
    train, test = load_data(cfg, split="train"), load_data(cfg, split="test")
    assert (len(train), len(test)) == (18, 2) and test.classes == ["a", "b"]


def test_paths_are_stored_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfgs = make_configs("vae", "npz", {"path": "data/x.npz", "data_dir": "."})
    assert cfgs["data"].path == str(tmp_path / "data" / "x.npz") and cfgs["data"].data_dir == str(tmp_path)


def test_moved_data_is_found_again_with_data_path(tmp_path, capsys):
    from genlab.cli import main

    data = npz(tmp_path / "d.npz", x=RNG.integers(0, 256, (200, 64), dtype=np.uint8), y=RNG.integers(0, 3, 200))
    run = tmp_path / "run"
    assert main(["train", "vae", "--dataset", "npz", f"path={data}", "--steps", "3", "hidden=8", "latent_dim=2",
                 "--out", str(run)]) == 0
    (tmp_path / "moved").mkdir()
    moved = tmp_path / "moved" / "d.npz"
    (tmp_path / "d.npz").rename(moved)
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metrics", "elbo", "--n-data", "10"]) == 2
    err = capsys.readouterr().err
    assert "is not there any more" in err and "--data-path" in err
    assert main(["evaluate", str(run), "--metrics", "elbo", "--n-data", "10", "--data-path", str(moved)]) == 0
    assert main(["pictures", str(run), "--data-path", str(moved)]) == 0
    assert (run / "samples" / "reconstructions.png").exists()
    other = npz(tmp_path / "other.npz", x=RNG.integers(0, 256, (200, 64), dtype=np.uint8), y=RNG.integers(0, 3, 200))
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metrics", "elbo", "--n-data", "10", "--data-path", other]) == 2
    assert "the data changed since the run was trained" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--metrics", "elbo", "--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_pictures_of_a_model_that_needs_no_data_do_not_ask_where_it_went(tmp_path, capsys):
    from genlab.cli import main

    data = npz(tmp_path / "d.npz", x=RNG.integers(0, 256, (200, 64), dtype=np.uint8), y=RNG.integers(0, 3, 200))
    run = tmp_path / "run"
    assert main(["train", "gan", "--dataset", "npz", f"path={data}", "--steps", "2", "hidden=8",
                 "--out", str(run)]) == 0
    (tmp_path / "d.npz").unlink()
    assert main(["pictures", str(run)]) == 0  # a GAN's pictures are drawn from its samples alone
    run_vae = tmp_path / "vae"
    data = npz(tmp_path / "d.npz", x=RNG.integers(0, 256, (200, 64), dtype=np.uint8), y=RNG.integers(0, 3, 200))
    assert main(["train", "vae", "--dataset", "npz", f"path={data}", "--steps", "2", "hidden=8", "latent_dim=2",
                 "--out", str(run_vae)]) == 0
    (tmp_path / "d.npz").unlink()
    capsys.readouterr()
    assert main(["pictures", str(run_vae)]) == 2  # a VAE's reconstructions need the data
    assert "is not there any more" in capsys.readouterr().err


def test_own_data_takes_the_defaults_its_kind_and_size_call_for(tmp_path):
    """npz points take a model's points defaults (not its image ones), a folder of 32x32 pictures those of 32x32
    images, 28x28 arrays those of 28x28; an odd size only the kind's; the report's command agrees."""
    from PIL import Image

    from genlab.data.base import shape_profile
    from genlab.models.base import GenerativeModel
    from genlab.registry import DATASETS

    assert [shape_profile("image", s) for s in [(1, 8, 8), (1, 28, 28), (3, 32, 32), (64, 64), (3, 40, 40),
                                                (28, 32)]] == ["small-image", "image-28", "image-32", "image-64",
                                                               "", ""]
    points = npz(tmp_path / "points.npz", x=RNG.normal(size=(50, 2)).astype(np.float32))
    assert make_configs("fgan", "npz", {"path": points})["model"] == make_configs("fgan", "ring8")["model"]
    assert make_configs("fgan", "npz", {"path": points})["model"] != make_configs("fgan", "digits")["model"]
    grey28 = npz(tmp_path / "g.npz", x=RNG.integers(0, 256, (20, 784), dtype=np.uint8))  # flat rows of 28x28
    assert DATASETS.get("npz").defaults_key(DataConfig(dataset="npz", path=grey28)) == ("image", "image-28")
    assert make_configs("wgan", "npz", {"path": grey28})["model"] == make_configs("wgan", "fashion-mnist")["model"]
    (tmp_path / "pics").mkdir()
    for i in range(3):
        Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(tmp_path / "pics" / f"{i}.png")
    folder = DATASETS.get("folder")
    assert folder.defaults_key(DataConfig(dataset="folder", path=str(tmp_path / "pics"))) == ("image", "image-32")
    assert folder.defaults_key(DataConfig(dataset="folder", path=str(tmp_path / "pics"), image_size=28)) == \
        ("image", "image-28")

    class Probe(GenerativeModel):  # a model whose defaults differ by profile: which one a dataset gets
        presets = {"image": {"model": {"a": 1}}, "image-32": {"model": {"a": 32}}, "points": {"model": {"a": 2}}}

    assert Probe.defaults_for(*folder.defaults_key(DataConfig(dataset="folder", path=str(tmp_path / "pics")))) \
        == {"model": {"a": 32}, "train": {}}
    # missing files: the kind's defaults, and loading says what is wrong
    assert make_configs("fgan", "npz", {"path": str(tmp_path / "gone.npz")})["model"] == \
        make_configs("fgan", "digits")["model"]
