"""File-based datasets: readers, search order, downloads (against a local HTTP server) and errors.

Every file is made here, tiny, under tmp_path; no network beyond 127.0.0.1 is used. The environment is
isolated: GENLAB_CACHE and GENLAB_SYSTEM_DATA point into tmp_path, GENLAB_DATA is unset.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import genlab.data  # noqa: F401  (registers the built-in datasets)
import genlab.data.images  # noqa: F401  (registers the file datasets)
from genlab.config import DataConfig
from genlab.data import files as gfiles
from genlab.data.base import load_data
from genlab.data.files import RemoteFile, available, find_or_download, locate, search_roots
from genlab.data.formats import read_cifar10, read_idx, read_image_folder, read_npz
from genlab.errors import DataError

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """Isolated data roots: returns (user data dir, cache dir, system dir), all empty."""
    roots = tmp_path / "user", tmp_path / "cache", tmp_path / "system"
    for r in roots:
        r.mkdir()
    monkeypatch.delenv("GENLAB_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("GENLAB_CACHE", str(roots[1]))
    monkeypatch.setenv("GENLAB_SYSTEM_DATA", str(roots[2]))
    return roots


# ----------------------------------------------------------------------------------------------------
# helpers


def idx_bytes(a: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file."""
    header = bytes([0, 0, 0x08, a.ndim]) + np.asarray(a.shape, dtype=">i4").tobytes()
    return header + np.ascontiguousarray(a, dtype=np.uint8).tobytes()


def write_idx(path: Path, a: np.ndarray, gz: bool = True) -> Path:
    data = idx_bytes(a)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def cifar_batch(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    records = np.concatenate([y[:, None], x.reshape(n, -1)], axis=1)
    return records.tobytes(), x, y.astype(np.int64)


CIFAR_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_cifar_members() -> tuple[dict[str, bytes], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    members, xs, ys = {}, [], []
    for i in range(1, 6):
        data, x, y = cifar_batch(2, seed=i)
        members[f"data_batch_{i}.bin"] = data
        xs.append(x)
        ys.append(y)
    data, xt, yt = cifar_batch(3, seed=9)
    members["test_batch.bin"] = data
    members["batches.meta.txt"] = ("\n".join(CIFAR_NAMES) + "\n\n").encode()
    return members, np.concatenate(xs), np.concatenate(ys), xt, yt


def write_cifar_tar(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def save_image(path: Path, a: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_root(tmp_path):
    """A local HTTP server serving tmp_path/www; yields (folder, base URL)."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(QuietHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def do_GET(self):
            if self.path.startswith("/truncated/"):  # promises 1000 bytes, sends 10, hangs up
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"0123456789")
                self.wfile.flush()
                self.close_connection = True
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------------------------------
# IDX


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    a = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    p = write_idx(tmp_path / "images.gz", a, gz=gz)
    b = read_idx(p)
    assert b.dtype == np.uint8 and b.shape == (3, 28, 28)
    np.testing.assert_array_equal(a, b)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "labels.gz", labels, gz=gz)), labels)


def test_idx_wrong_magic(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(gzip.compress(b"PK\x03\x04 this is not an idx file"))
    with pytest.raises(DataError, match="not an IDX file") as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_idx_size_mismatch(tmp_path):
    data = idx_bytes(RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    p = tmp_path / "short.gz"
    p.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(DataError, match="truncated") as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_idx_truncated_gzip(tmp_path):
    gz = gzip.compress(idx_bytes(RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)))
    p = tmp_path / "cut.gz"
    p.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DataError, match="gzip") as e:
        read_idx(p)
    assert str(p) in str(e.value) and "delete" in str(e.value)


def test_idx_corrupt_gzip(tmp_path):
    gz = bytearray(gzip.compress(idx_bytes(RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8))))
    for i in range(20, len(gz) - 20, 7):
        gz[i] ^= 0xFF
    p = tmp_path / "corrupt.gz"
    p.write_bytes(bytes(gz))
    with pytest.raises(DataError) as e:
        read_idx(p)
    assert str(p) in str(e.value)


# ----------------------------------------------------------------------------------------------------
# CIFAR-10 binary


def test_cifar_from_tar_and_folder(tmp_path):
    members, x, y, xt, yt = make_cifar_members()
    tar = write_cifar_tar(tmp_path / "cifar-10-binary.tar.gz", members)
    for source in (tar,):
        bx, by, classes = read_cifar10(source, "train")
        np.testing.assert_array_equal(bx, x)
        np.testing.assert_array_equal(by, y)
        assert classes == CIFAR_NAMES and bx.shape == (10, 3, 32, 32) and by.dtype == np.int64
    with tarfile.open(tar) as t:
        t.extractall(tmp_path / "extracted", filter="data")
    for source in (tmp_path / "extracted", tmp_path / "extracted" / "cifar-10-batches-bin"):
        bx, by, classes = read_cifar10(source, "test")
        np.testing.assert_array_equal(bx, xt)
        np.testing.assert_array_equal(by, yt)
        assert classes == CIFAR_NAMES


def test_cifar_truncated_tar(tmp_path):
    members, *_ = make_cifar_members()
    tar = write_cifar_tar(tmp_path / "full.tar.gz", members)
    cut = tmp_path / "cifar-10-binary.tar.gz"
    cut.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    with pytest.raises(DataError) as e:
        read_cifar10(cut, "test")
    assert str(cut) in str(e.value)


def test_cifar_bad_batches(tmp_path):
    members, *_ = make_cifar_members()
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name, data in members.items():
        (folder / name).write_bytes(data)
    (folder / "test_batch.bin").write_bytes(members["test_batch.bin"][:-1])
    with pytest.raises(DataError, match="multiple of 3073") as e:
        read_cifar10(folder, "test")
    assert str(folder / "test_batch.bin") in str(e.value)
    bad = bytearray(members["test_batch.bin"])
    bad[0] = 12
    (folder / "test_batch.bin").write_bytes(bytes(bad))
    with pytest.raises(DataError, match="label 12"):
        read_cifar10(folder, "test")
    (folder / "data_batch_3.bin").unlink()
    with pytest.raises(DataError, match="data_batch_3.bin"):
        read_cifar10(folder, "train")


def test_cifar10_dataset_from_data_dir(env):
    user, _, _ = env
    members, x, y, _, _ = make_cifar_members()
    write_cifar_tar(user / "cifar10" / "cifar-10-binary.tar.gz", members)
    cfg = DataConfig(dataset="cifar10", data_dir=str(user), download=False)
    assert genlab.data.images.cifar10_available(cfg).present
    td = load_data(cfg)
    assert tuple(td.x.shape) == (10, 3, 32, 32) and td.classes == CIFAR_NAMES
    np.testing.assert_allclose(td.x.numpy(), x / 255.0, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# image folders


def test_image_folder_classes_grey_rgb_resize(tmp_path):
    root = tmp_path / "imgs"
    grey = RNG.integers(0, 256, (6, 5), dtype=np.uint8)
    save_image(root / "b_cat" / "1.png", grey)
    save_image(root / "b_cat" / "0.PNG", grey)
    save_image(root / "a_dog" / "x.bmp", grey)
    (root / "a_dog" / "notes.txt").write_text("not an image")
    x, y, classes = read_image_folder(root)
    assert classes == ["a_dog", "b_cat"]
    assert y.tolist() == [0, 1, 1] and y.dtype == np.int64
    assert x.shape == (3, 1, 6, 5) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[0, 0], grey)

    save_image(root / "a_dog" / "y.jpg", RNG.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    x, y, _ = read_image_folder(root)
    assert x.shape == (4, 3, 6, 5)  # one colour image: all RGB
    np.testing.assert_array_equal(x[0, 1], grey)  # grey -> RGB repeats the channel
    assert read_image_folder(root, channels=1)[0].shape == (4, 1, 6, 5)
    assert read_image_folder(root, image_size=8)[0].shape == (4, 3, 8, 8)


def test_image_folder_loose_images_and_errors(tmp_path):
    root = tmp_path / "loose"
    save_image(root / "a.png", np.zeros((4, 4), np.uint8))
    save_image(root / "b.png", np.zeros((4, 6), np.uint8))
    with pytest.raises(DataError, match="image_size=") as e:
        read_image_folder(root)
    assert "6x4" in str(e.value) and "4x4" in str(e.value)
    x, y, classes = read_image_folder(root, image_size=4)
    assert x.shape == (2, 1, 4, 4) and y is None and classes is None

    (root / "c.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as e:
        read_image_folder(root, image_size=4)
    assert str(root / "c.png") in str(e.value)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no images"):
        read_image_folder(empty)


def test_folder_dataset_splits(tmp_path):
    root = tmp_path / "ds"
    save_image(root / "cats" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="path="):
        load_data(DataConfig(dataset="folder"))
    with pytest.raises(DataError, match="does not exist"):
        load_data(DataConfig(dataset="folder", path=str(tmp_path / "nope")))
    td = load_data(DataConfig(dataset="folder", path=str(root)))
    assert tuple(td.x.shape) == (1, 1, 4, 4)
    with pytest.raises(DataError, match="too few to hold out"):  # one image: nothing to hold out
        load_data(DataConfig(dataset="folder", path=str(root), split="test"))
    with pytest.raises(DataError, match="train/"):
        load_data(DataConfig(dataset="folder", path=str(root), split="test", test_fraction=0))

    split = tmp_path / "split"
    for cls in ("a", "b", "c"):
        save_image(split / "train" / cls / "0.png", np.full((4, 4), 10, np.uint8))
    save_image(split / "test" / "c" / "0.png", np.full((4, 4), 10, np.uint8))
    te = load_data(DataConfig(dataset="folder", path=str(split)), split="test")
    assert te.y.tolist() == [2] and te.classes == ["a", "b", "c"]  # labels follow train's classes


# ----------------------------------------------------------------------------------------------------
# npz


def test_npz_variants(tmp_path):
    p = tmp_path / "a.npz"
    x = RNG.integers(0, 256, (4, 5, 6), dtype=np.uint8)
    np.savez(p, x=x, y=np.arange(4))
    d = read_npz(p)
    assert d.kind == "image" and d.x.shape == (4, 1, 5, 6) and d.y.tolist() == [0, 1, 2, 3]

    hwc = RNG.random((3, 5, 6, 3)).astype(np.float64)
    np.savez(p, images=hwc)  # the only array
    d = read_npz(p)
    assert d.x.shape == (3, 3, 5, 6) and d.x.dtype == np.float32 and d.y is None
    np.testing.assert_allclose(d.x[1, 2], hwc[1, :, :, 2], rtol=1e-6)

    np.savez(p, x=RNG.standard_normal((7, 2)) * 5)
    d = read_npz(p)
    assert d.kind == "points" and d.x.dtype == np.float32 and d.x.shape == (7, 2)

    np.savez(p, x_train=x, y_train=np.zeros(4, np.int64), x_test=x[:2], y_test=np.ones(2, np.int32))
    assert read_npz(p, "test").y.tolist() == [1, 1]
    assert len(read_npz(p, "train").x) == 4

    np.savez(p, x=x)
    with pytest.raises(DataError, match="x_test"):
        read_npz(p, "test")


def test_npz_rejects_bad_data(tmp_path):
    p = tmp_path / "bad.npz"
    np.savez(p, x=np.full((2, 4, 4), 2.0))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        read_npz(p)
    np.savez(p, a=np.zeros((2, 4, 4)), b=np.zeros(2))
    with pytest.raises(DataError, match="a, b"):
        read_npz(p)
    obj = np.empty(2, dtype=object)
    obj[0], obj[1] = {"a": 1}, [1, 2]
    np.savez(p, x=obj)  # needs pickle to load: refused
    with pytest.raises(DataError, match="bad.npz"):
        read_npz(p)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz"):
        read_npz(tmp_path / "junk.npz")
    np.savez(p, x=np.zeros((2, 4, 4, 5), np.uint8))
    with pytest.raises(DataError, match="shape"):
        read_npz(p)


def test_npz_dataset(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, x=RNG.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8), y=np.array([0, 1, 2, 1]))
    td = load_data(DataConfig(dataset="npz", path=str(p), test_fraction=0))
    assert tuple(td.x.shape) == (4, 3, 8, 8) and td.info.num_classes == 3
    with pytest.raises(DataError, match="path="):
        load_data(DataConfig(dataset="npz"))


# ----------------------------------------------------------------------------------------------------
# search order and downloads


def test_search_order(env, monkeypatch):
    user, cache, system = env
    cfg = DataConfig(data_dir=str(user))
    assert search_roots(cfg) == [user, cache, system]
    rf = RemoteFile("f.bin", ("http://127.0.0.1:1/f.bin",), md5="0" * 32)
    for root in (system, cache, user):
        (root / "ds").mkdir()
        (root / "ds" / "f.bin").write_bytes(root.name.encode())
    for root in (user, cache, system):
        path, _ = locate("ds", rf, cfg)
        assert path == root / "ds" / "f.bin"
        path.unlink()
    assert locate("ds", rf, cfg)[0] is None
    monkeypatch.setenv("GENLAB_DATA", str(user))  # the env var stands in for data_dir
    assert search_roots(DataConfig())[0] == user


def test_download_ok(env, http_root):
    user, cache, _ = env
    www, base = http_root
    payload = bytes(range(256)) * 50
    (www / "f.bin").write_bytes(payload)
    rf = RemoteFile("f.bin", (f"{base}/missing.bin", f"{base}/f.bin"), md5=md5(payload))  # first mirror 404
    cfg = DataConfig(data_dir=str(user))
    assert not available("ds", [rf], cfg).present
    paths = find_or_download("ds", [rf], cfg)
    assert paths["f.bin"] == cache / "ds" / "f.bin"
    assert paths["f.bin"].read_bytes() == payload
    assert sorted(p.name for p in (cache / "ds").iterdir()) == ["f.bin"]  # no temp file left
    assert available("ds", [rf], cfg).present


def test_download_checksum_mismatch(env, http_root):
    _, cache, _ = env
    www, base = http_root
    (www / "f.bin").write_bytes(b"tampered")
    rf = RemoteFile("f.bin", (f"{base}/f.bin",), sha256="0" * 64)
    with pytest.raises(DataError) as e:
        find_or_download("ds", [rf], DataConfig())
    assert f"{base}/f.bin" in str(e.value) and "f.bin" in str(e.value) and "sha256" in str(e.value)
    assert list((cache / "ds").iterdir()) == []  # neither the final file nor a temp file


def test_download_truncated(env, http_root):
    _, cache, _ = env
    _, base = http_root
    rf = RemoteFile("f.bin", (f"{base}/truncated/f.bin",), md5="0" * 32)
    with pytest.raises(DataError, match="closed after 10 of 1000 bytes") as e:
        find_or_download("ds", [rf], DataConfig())
    assert str(cache / "ds" / "f.bin") in str(e.value)
    assert list((cache / "ds").iterdir()) == []


def test_no_network_error_names_every_place(env):
    user, cache, system = env
    port = closed_port()
    files = [RemoteFile(n, (f"http://127.0.0.1:{port}/{n}",), md5="0" * 32) for n in ("a.gz", "b.gz")]
    start = time.monotonic()
    with pytest.raises(DataError) as e:
        find_or_download("ds", files, DataConfig(data_dir=str(user)), hints=("apt-get install something",))
    assert time.monotonic() - start < 5
    msg = str(e.value)
    for root in (user, cache, system):
        for n in ("a.gz", "b.gz"):
            assert str(root / "ds" / n) in msg
    assert f"http://127.0.0.1:{port}/a.gz" in msg and f"http://127.0.0.1:{port}/b.gz" in msg
    assert "Download failed" in msg and "--data-dir" in msg and "GENLAB_DATA" in msg
    assert "apt-get install something" in msg
    assert not (cache / "ds" / "a.gz").exists()


def test_download_off(env):
    rf = RemoteFile("a.gz", ("http://127.0.0.1:1/a.gz",), md5="0" * 32)
    with pytest.raises(DataError, match="download=true"):
        find_or_download("ds", [rf], DataConfig(download=False))


def test_remote_file_needs_one_checksum():
    with pytest.raises(ValueError):
        RemoteFile("a", ("http://x/a",))
    with pytest.raises(ValueError):
        RemoteFile("a", ("http://x/a",), md5="0" * 32, sha256="0" * 64)


# ----------------------------------------------------------------------------------------------------
# end to end


def test_fashion_mnist_end_to_end(env):
    user, _, _ = env
    folder = user / "fashion-mnist"
    x = RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    y = np.array([0, 9, 3, 3, 1], dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", x)
    write_idx(folder / "train-labels-idx1-ubyte", y, gz=False)  # the uncompressed name works too
    cfg = DataConfig(dataset="fashion-mnist", data_dir=str(user), download=False)
    td = load_data(cfg)
    assert tuple(td.x.shape) == (5, 1, 28, 28)
    np.testing.assert_allclose(td.x[:, 0].numpy(), x / 255.0, atol=1e-6)
    assert td.y.tolist() == [0, 9, 3, 3, 1]
    assert td.classes[9] == "Ankle boot" and td.info.num_classes == 10
    with pytest.raises(DataError) as e:  # the test files are missing
        load_data(cfg, split="test")
    assert "dataset-fashion-mnist" in str(e.value) and str(folder / "t10k-images-idx3-ubyte.gz") in str(e.value)


def test_mnist_wrong_files(env):
    user, _, _ = env
    folder = user / "mnist"
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="do not belong together"):
        load_data(DataConfig(dataset="mnist", data_dir=str(user), download=False))


def test_interrupted_download_leaves_nothing(env, http_root, monkeypatch):
    _, cache, _ = env
    www, base = http_root
    (www / "f.bin").write_bytes(b"x" * 1000)

    class Interrupting:  # stands in for tqdm: Ctrl-C in the middle of the transfer
        def __init__(self, *a, **kw):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            raise KeyboardInterrupt

    monkeypatch.setattr(gfiles, "tqdm", Interrupting)
    rf = RemoteFile("f.bin", (f"{base}/f.bin",), md5=md5(b"x" * 1000))
    with pytest.raises(KeyboardInterrupt):
        find_or_download("ds", [rf], DataConfig())
    assert list((cache / "ds").iterdir()) == []


DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (DEBIAN_FASHION / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist(monkeypatch):
    """The real Debian files (re-gzipped: their md5s differ from the official ones) pass the readers' checks."""
    monkeypatch.setenv("GENLAB_SYSTEM_DATA", str(DEBIAN_FASHION.parent))
    cfg = DataConfig(dataset="fashion-mnist", download=False)
    assert genlab.data.images._fashion_avail(cfg).present
    td = load_data(cfg, split="test")
    assert tuple(td.x.shape) == (10000, 1, 28, 28) and sorted(set(td.y.tolist())) == list(range(10))
