"""Datasets derived from files: the coloured digits and clothes, CelebA at 64x64, and the download paths of
CelebA and CIFAR-10 against a local HTTP server serving tiny files in the real formats.

Files are made here, tiny, under tmp_path; the environment is isolated by test_data_files' ``env`` fixture
(GENLAB_CACHE and GENLAB_SYSTEM_DATA in tmp_path); no network beyond 127.0.0.1 is used.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_data_files import env, http_root, make_cifar_members, md5, write_cifar_tar, write_idx  # noqa: F401

import genlab.data  # noqa: F401  (registers the datasets)
from genlab.config import DataConfig
from genlab.data import celeba, color, images
from genlab.data.base import load_data
from genlab.data.files import RemoteFile, cached_arrays
from genlab.data.formats import parse_celeba_attributes, parse_celeba_partition
from genlab.errors import DataError

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------------------------------
# the tint


def test_tint_paints_the_object_or_the_background():
    g = np.zeros((2, 1, 4, 4), dtype=np.uint8)
    g[:, :, 1:3, 1:3] = 255  # a white square object on black
    c = np.array([[1.0, 0.5, 0.0], [0.2, 1.0, 0.6]], dtype=np.float32)
    out = color.tint(g, c, np.array([False, True]))
    assert out.shape == (2, 3, 4, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, :, 1, 1], [255, 128, 0])  # object painted, background black
    np.testing.assert_array_equal(out[0, :, 0, 0], [0, 0, 0])
    np.testing.assert_array_equal(out[1, :, 1, 1], [255, 255, 255])  # object white, background painted
    np.testing.assert_array_equal(out[1, :, 0, 0], [51, 255, 153])
    f = color.tint(g.astype(np.float32) / 255, c, np.array([False, True]))  # floats in, floats out
    assert f.dtype == np.float32 and np.allclose(f * 255, out, atol=0.51)


def test_colours_are_bright_seeded_and_half_on_the_background():
    a = color.random_colours(4000, np.random.default_rng([color.COLOR_SEED, 0]))
    b = color.random_colours(4000, np.random.default_rng([color.COLOR_SEED, 0]))
    np.testing.assert_array_equal(a[0], b[0])
    assert np.allclose(a[0].max(axis=1), 1.0) and a[0].min() >= 0
    assert 0.47 < a[1].mean() < 0.53  # 4000 fair coins: SE 0.008
    grey = images.ArrayData(x=RNG.integers(0, 256, (5, 1, 28, 28), dtype=np.uint8), y=np.arange(5), kind="image")
    train, test = color.colorize(grey, "train"), color.colorize(grey, "test")
    assert not np.array_equal(train.x, test.x)  # the test split is painted with other colours
    np.testing.assert_array_equal(train.y, grey.y)


# ----------------------------------------------------------------------------------------------------
# color-fashion-mnist, color-mnist, color-digits


def write_fashion(root: Path, name: str = "fashion-mnist", n: int = 6) -> np.ndarray:
    x = RNG.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    for split, (fx, fy) in images.IDX_FILES.items():
        write_idx(root / name / fx, x)
        write_idx(root / name / fy, np.arange(n, dtype=np.uint8) % 10)
    return x


@pytest.mark.parametrize("base", ["fashion-mnist", "mnist"])
def test_color_dataset_is_built_once_and_cached(env, base, monkeypatch):
    user, cache, _ = env
    x = write_fashion(user, base)
    cfg = DataConfig(dataset=f"color-{base}", data_dir=str(user), download=False)
    td = load_data(cfg)
    assert tuple(td.x.shape) == (6, 3, 28, 28) and td.y.tolist() == [0, 1, 2, 3, 4, 5]
    assert td.info.num_classes == 10 and td.classes == images.IDX_DATASETS[base][1]
    grey = x[:, None] / 255.0  # every channel is the grey image painted: object g c, or background g + (1-g) c
    painted = td.x.numpy()
    assert np.all((painted <= grey + 1 / 255 + 1e-6).all(axis=(1, 2, 3)) | (painted >= grey - 1 / 255 - 1e-6).all(
        axis=(1, 2, 3)))
    files = sorted(p.name for p in (cache / f"color-{base}").iterdir())
    assert len(files) == 1 and files[0].startswith("train-") and files[0].endswith(".npz")  # no temp file left
    real_colorize = color.colorize
    monkeypatch.setattr(color, "colorize", lambda *a: pytest.fail("the cache was not used"))
    np.testing.assert_array_equal(load_data(cfg).x.numpy(), painted)
    monkeypatch.setattr(color, "colorize", real_colorize)
    write_idx(user / base / "train-images-idx3-ubyte.gz", x[::-1].copy())  # another base file: rebuilt
    again = load_data(cfg).x.numpy()
    assert not np.array_equal(again, painted)
    assert len(list((cache / f"color-{base}").iterdir())) == 2


def test_color_dataset_without_its_base_says_where_it_looked(env):
    user, _, _ = env
    with pytest.raises(DataError) as e:
        load_data(DataConfig(dataset="color-mnist", data_dir=str(user), download=False))
    assert str(user / "mnist" / "train-images-idx3-ubyte.gz") in str(e.value)


def test_color_digits_is_embedded():
    td = load_data(DataConfig(dataset="color-digits"), split="test")
    assert tuple(td.x.shape) == (297, 3, 8, 8) and td.info.num_classes == 10 and float(td.x.max()) <= 1


def test_cached_arrays_leave_nothing_when_interrupted(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c" / "a.npz"

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_arrays(path, interrupted)
    assert not path.exists()
    real_savez = np.savez

    def savez_then_stop(f, **arrays):
        real_savez(f, **arrays)
        raise KeyboardInterrupt  # stopped after writing, before the rename

    monkeypatch.setattr(np, "savez", savez_then_stop)
    with pytest.raises(KeyboardInterrupt):
        cached_arrays(path, lambda: {"x": np.arange(3)})
    assert list(path.parent.iterdir()) == []
    monkeypatch.setattr(np, "savez", real_savez)
    assert cached_arrays(path, lambda: {"x": np.arange(3)})["x"].tolist() == [0, 1, 2]
    path.write_bytes(b"PK\x03\x04 damaged")  # a damaged cache file is built again
    assert cached_arrays(path, lambda: {"x": np.arange(4)})["x"].tolist() == [0, 1, 2, 3]
    assert "damaged" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------
# CelebA in its real formats, tiny


ATTR_NAMES = ["Bald", "Male", "Smiling"]
# image -> (partition, attributes): 4 train, 1 validation, 2 test
CELEBA = {f"{i:06d}.jpg": (p, a) for i, (p, a) in enumerate(
    [(0, (-1, 1, 1)), (0, (-1, -1, 1)), (0, (1, 1, -1)), (0, (-1, -1, -1)), (1, (-1, 1, 1)), (2, (1, 1, 1)),
     (2, (-1, -1, 1))], start=1)}
CENTRE = {name: tuple(int(v) for v in RNG.integers(30, 220, 3)) for name in CELEBA}


def face(name: str) -> bytes:
    """A 178x218 JPEG (the aligned images' size): the 108x108 centre in one colour, a white frame around it."""
    a = np.full((218, 178, 3), 255, dtype=np.uint8)
    a[55:163, 35:143] = CENTRE[name]
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def attr_text(csv: bool = False) -> bytes:
    if csv:
        lines = [",".join(["image_id", *ATTR_NAMES])] + [",".join([n, *map(str, a)]) for n, (_, a) in CELEBA.items()]
    else:
        lines = [str(len(CELEBA)), " ".join(ATTR_NAMES)] + [f"{n} " + " ".join(f"{v:2d}" for v in a)
                                                            for n, (_, a) in CELEBA.items()]
    return ("\n".join(lines) + "\n").encode()


def partition_text(csv: bool = False) -> bytes:
    sep = "," if csv else " "
    lines = (["image_id,partition"] if csv else []) + [f"{n}{sep}{p}" for n, (p, _) in CELEBA.items()]
    return ("\n".join(lines) + "\n").encode()


def celeba_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("img_align_celeba/", b"")
        for name in CELEBA:
            z.writestr(f"img_align_celeba/{name}", face(name))
    return buf.getvalue()


def check_celeba(td, split: str = "train") -> None:
    names = [n for n, (p, _) in CELEBA.items() if p == {"train": 0, "test": 2}[split]]
    assert tuple(td.x.shape) == (len(names), 3, 64, 64)
    assert td.y.tolist() == [int(CELEBA[n][1][1] > 0) for n in names] and td.classes == ["not Male", "Male"]
    for i, n in enumerate(names):  # the centre crop removed the white frame: the image is the centre's colour
        np.testing.assert_allclose(td.x[i].mean(dim=(1, 2)).numpy() * 255, CENTRE[n], atol=4)


def test_celeba_parsers_read_the_text_and_csv_copies():
    names, table = parse_celeba_attributes(attr_text(), "a.txt")
    names_csv, table_csv = parse_celeba_attributes(attr_text(csv=True), "a.csv")
    assert names == names_csv == ATTR_NAMES and table["000003.jpg"].tolist() == [1, 1, 0]
    assert all(np.array_equal(table[k], table_csv[k]) for k in table)
    assert parse_celeba_partition(partition_text(), "p.txt") == parse_celeba_partition(partition_text(True), "p.csv")
    with pytest.raises(DataError, match="truncated"):
        parse_celeba_attributes(attr_text()[:-40], "a.txt")  # a line lost: the count says more
    with pytest.raises(DataError, match="partition of 0, 1 or 2"):
        parse_celeba_partition(b"000001.jpg 7\n", "p.txt")


def test_celeba_from_a_folder_and_from_the_zip(env):
    user, cache, _ = env
    folder = user / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    for name in CELEBA:
        (folder / "img_align_celeba" / name).write_bytes(face(name))
    (folder / "list_attr_celeba.txt").write_bytes(attr_text())
    (folder / "list_eval_partition.txt").write_bytes(partition_text())
    cfg = DataConfig(dataset="celeba", data_dir=str(user), download=False)
    check_celeba(load_data(cfg))
    check_celeba(load_data(cfg, split="test"), "test")
    attrs, names = celeba.celeba_attributes(cfg, "train")
    assert names == ATTR_NAMES and attrs.shape == (4, 3)
    # the zip, given by path=, with the annotations beside it
    other = user / "elsewhere"
    other.mkdir()
    (other / "img_align_celeba.zip").write_bytes(celeba_zip())
    (other / "list_attr_celeba.txt").write_bytes(attr_text())
    (other / "list_eval_partition.txt").write_bytes(partition_text())
    check_celeba(load_data(DataConfig(dataset="celeba", path=str(other / "img_align_celeba.zip"), download=False)))
    assert len([p for p in (cache / "celeba").iterdir() if p.suffix == ".npz"]) == 3


def test_celeba_kaggle_layout_and_missing_annotations(env, capsys):
    user, _, _ = env
    inner = user / "celeba" / "img_align_celeba" / "img_align_celeba"  # Kaggle's nested folder, CSV files
    inner.mkdir(parents=True)
    for name in CELEBA:
        (inner / name).write_bytes(face(name))
    (user / "celeba" / "list_attr_celeba.csv").write_bytes(attr_text(csv=True))
    (user / "celeba" / "list_eval_partition.csv").write_bytes(partition_text(csv=True))
    cfg = DataConfig(dataset="celeba", data_dir=str(user), download=False)
    check_celeba(load_data(cfg))
    (user / "celeba" / "list_attr_celeba.csv").unlink()
    (user / "celeba" / "list_eval_partition.csv").unlink()
    td = load_data(cfg)  # the partition by image number: the 7 images all lie in the training range
    assert tuple(td.x.shape) == (7, 3, 64, 64) and td.y is None
    err = capsys.readouterr().err
    assert "by image number" in err and "no labels" in err


def test_celeba_truncated_zip_on_disk_says_so_and_caches_nothing(env):
    user, cache, _ = env
    bad = user / "img_align_celeba.zip"
    bad.write_bytes(celeba_zip()[:3000])
    (user / "list_eval_partition.txt").write_bytes(partition_text())
    with pytest.raises(DataError, match="truncated or corrupt") as e:
        load_data(DataConfig(dataset="celeba", path=str(bad), download=False))
    assert str(bad) in str(e.value)
    assert not (cache / "celeba").exists() or not list((cache / "celeba").glob("*.npz"))


@pytest.fixture
def celeba_server(http_root, monkeypatch):
    """The three CelebA files on the local server, and the dataset's RemoteFiles pointed at them."""
    www, base = http_root
    files = {"img_align_celeba.zip": celeba_zip(), "list_attr_celeba.txt": attr_text(),
             "list_eval_partition.txt": partition_text()}
    for name, data in files.items():
        (www / name).write_bytes(data)
    for attr, rf in (("IMAGES_ZIP", celeba.IMAGES_ZIP), ("ATTRIBUTES", celeba.ATTRIBUTES),
                     ("PARTITION", celeba.PARTITION)):
        monkeypatch.setattr(celeba, attr, RemoteFile(rf.filename, (f"{base}/{rf.filename}",),
                                                     md5=md5(files[rf.filename]), local_names=rf.local_names))
    return www, base


def test_celeba_download(env, celeba_server):
    _, cache, _ = env
    check_celeba(load_data(DataConfig(dataset="celeba")))
    names = sorted(p.name for p in (cache / "celeba").iterdir())
    assert names[:3] == ["img_align_celeba.zip", "list_attr_celeba.txt", "list_eval_partition.txt"]
    assert len(names) == 4 and names[3].startswith("train-")  # and the cropped arrays, nothing else


def test_celeba_download_with_a_wrong_checksum_leaves_nothing(env, celeba_server):
    _, cache, _ = env
    www, _ = celeba_server
    (www / "img_align_celeba.zip").write_bytes(celeba_zip()[:-100])  # a truncated archive on the server
    with pytest.raises(DataError, match="corrupt") as e:
        load_data(DataConfig(dataset="celeba"))
    assert "img_align_celeba.zip" in str(e.value) and "bytes received" in str(e.value)
    assert list((cache / "celeba").iterdir()) == []


def test_celeba_interrupted_download_leaves_nothing(env, celeba_server, monkeypatch):
    _, cache, _ = env
    _, base = celeba_server
    rf = celeba.IMAGES_ZIP  # the server promises 1000 bytes, sends 10 and hangs up
    monkeypatch.setattr(celeba, "IMAGES_ZIP", RemoteFile(rf.filename, (f"{base}/truncated/x.zip",), md5=rf.md5))
    with pytest.raises(DataError, match="closed after 10 of 1000 bytes"):
        load_data(DataConfig(dataset="celeba"))
    assert list((cache / "celeba").iterdir()) == []


def test_a_web_page_instead_of_the_file_is_named(env, celeba_server, monkeypatch):
    _, cache, _ = env
    www, base = celeba_server
    (www / "quota.html").write_text("<html>Google Drive - quota exceeded</html>")
    rf = celeba.IMAGES_ZIP
    monkeypatch.setattr(celeba, "IMAGES_ZIP", RemoteFile(rf.filename, (f"{base}/quota.html",), md5=rf.md5))
    with pytest.raises(DataError, match="sent a web page"):
        load_data(DataConfig(dataset="celeba"))
    assert list((cache / "celeba").iterdir()) == []


# ----------------------------------------------------------------------------------------------------
# CIFAR-10's download path on the local server


@pytest.fixture
def cifar_server(http_root, tmp_path, monkeypatch):
    www, base = http_root
    members, x, y, _, _ = make_cifar_members()
    archive = write_cifar_tar(www / "cifar-10-binary.tar.gz", members)
    monkeypatch.setattr(images, "CIFAR_FILE", RemoteFile(archive.name, (f"{base}/{archive.name}",),
                                                         md5=md5(archive.read_bytes())))
    return www, x, y


def test_cifar10_download(env, cifar_server):
    _, cache, _ = env
    _, x, y = cifar_server
    td = load_data(DataConfig(dataset="cifar10"))
    np.testing.assert_allclose(td.x.numpy(), x / 255.0, atol=1e-6)
    assert td.y.tolist() == y.tolist()
    assert sorted(p.name for p in (cache / "cifar10").iterdir()) == ["cifar-10-binary.tar.gz"]


def test_cifar10_truncated_download_leaves_nothing(env, cifar_server):
    _, cache, _ = env
    www, _, _ = cifar_server
    archive = www / "cifar-10-binary.tar.gz"
    archive.write_bytes(archive.read_bytes()[:500])
    with pytest.raises(DataError, match="corrupt"):
        load_data(DataConfig(dataset="cifar10"))
    assert list((cache / "cifar10").iterdir()) == []
