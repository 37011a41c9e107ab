"""Image datasets read from files: MNIST, Fashion-MNIST, CIFAR-10 and the user's own folder or npz file.

MNIST, Fashion-MNIST and CIFAR-10 are looked for under ``<root>/<name>/`` in the folders listed by
``files.search_roots`` (the user's data directory, genlab's cache, /usr/share/datasets) and downloaded
into the cache when missing. ``folder`` and ``npz`` read the file or folder given by ``path=``.
"""

from __future__ import annotations

import dataclasses
import sys
import zipfile
from pathlib import Path

import numpy as np

from ..config import DataConfig, image_shape
from ..errors import DataError
from .base import ArrayData, Availability, DatasetSpec, check_num_classes, register_dataset
from .files import RemoteFile, available, find_or_download, locate, search_roots
from .formats import (
    CIFAR_DIR,
    detect_grey,
    is_image_file,
    list_image_folder,
    read_cifar10,
    read_idx,
    read_image_folder,
    read_npz,
)

SPLITS = ("train", "test")


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"dataset {name!r} has no split {split!r}; choose train or test")


# ----------------------------------------------------------------------------------------------------
# MNIST and Fashion-MNIST: IDX files

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
FASHION_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
MNIST_CLASSES = [str(i) for i in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]


def idx_files(mirrors: tuple[str, ...], md5s: dict[str, str]) -> dict[str, RemoteFile]:
    """RemoteFiles of an MNIST-style dataset; the uncompressed name is accepted on disk too."""
    return {
        fn: RemoteFile(fn, tuple(m + fn for m in mirrors), md5=md5, local_names=(fn[: -len(".gz")],))
        for fn, md5 in md5s.items()
    }


def check_idx_pair(x: np.ndarray, y: np.ndarray, images: Path, labels: Path, n_classes: int) -> None:
    """An MNIST-style pair: (N, 28, 28) images and N labels below n_classes."""
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise DataError(f"{images} holds an array of shape {x.shape}, not 28x28 images; is it the right file?")
    if y.ndim != 1:
        raise DataError(f"{labels} holds an array of shape {y.shape}, not labels; is it the right file?")
    if len(x) != len(y):
        raise DataError(f"{images} holds {len(x)} images but {labels} holds {len(y)} labels; "
                        f"the files do not belong together: delete or replace them")
    if len(y) and int(y.max()) >= n_classes:
        raise DataError(f"{labels} has a label {int(y.max())}, expected 0..{n_classes - 1}; delete or replace it")


# name -> (files, class names, hints) of each MNIST-style dataset, for the datasets built from them
IDX_DATASETS: dict[str, tuple[dict[str, RemoteFile], list[str], tuple[str, ...]]] = {}


def idx_paths(name: str, cfg: DataConfig, split: str) -> tuple[Path, Path]:
    """(images, labels) files of an MNIST-style dataset's split: found on disk or downloaded."""
    _check_split(name, split)
    files, _, hints = IDX_DATASETS[name]
    fx, fy = IDX_FILES[split]
    paths = find_or_download(name, [files[fx], files[fy]], cfg, hints=hints)
    return paths[fx], paths[fy]


def read_idx_pair(name: str, images: Path, labels: Path) -> ArrayData:
    """An MNIST-style split from its two IDX files, checked."""
    classes = IDX_DATASETS[name][1]
    x, y = read_idx(images), read_idx(labels)
    check_idx_pair(x, y, images, labels, len(classes))
    return ArrayData(x=x[:, None], y=y.astype(np.int64), kind="image", classes=list(classes))


def _idx_dataset(name: str, files: dict[str, RemoteFile], classes: list[str], hints: tuple[str, ...]):
    """(load, available, files on disk) for an MNIST-style dataset."""
    IDX_DATASETS[name] = (files, classes, hints)

    def load(cfg: DataConfig, split: str) -> ArrayData:
        return read_idx_pair(name, *idx_paths(name, cfg, split))

    def avail(cfg: DataConfig) -> Availability:
        return available(name, list(files.values()), cfg)

    def on_disk(cfg: DataConfig) -> list[Path]:
        return [p for rf in files.values() if (p := locate(name, rf, cfg)[0]) is not None]

    return load, avail, on_disk


FASHION_HINTS = ("install Debian's package: apt-get install dataset-fashion-mnist "
                 "(it puts the files in /usr/share/datasets/fashion-mnist/)",)


_mnist_load, _mnist_avail, _mnist_files = _idx_dataset("mnist", idx_files(MNIST_MIRRORS, MNIST_MD5),
                                                       MNIST_CLASSES, ())
register_dataset(DatasetSpec(
    name="mnist", kind="image", profile="image-28", load=_mnist_load, available=_mnist_avail, files=_mnist_files,
    description="MNIST, 28x28 grey handwritten digits, 10 classes (60,000 train / 10,000 test); downloaded",
))


_fashion_load, _fashion_avail, _fashion_files = _idx_dataset(
    "fashion-mnist", idx_files(FASHION_MIRRORS, FASHION_MD5), FASHION_CLASSES, FASHION_HINTS
)
register_dataset(DatasetSpec(
    name="fashion-mnist", kind="image", profile="image-28", load=_fashion_load, available=_fashion_avail,
    files=_fashion_files,
    description="Fashion-MNIST, 28x28 grey clothing, 10 classes (60,000 train / 10,000 test); "
                "download or Debian package dataset-fashion-mnist",
))

# ----------------------------------------------------------------------------------------------------
# CIFAR-10, binary version (never the Python pickles: unpickling can run code)

CIFAR_NAME = "cifar10"
CIFAR_FILE = RemoteFile(
    "cifar-10-binary.tar.gz", ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
    md5="c32a1d4ab5d03f1284b67883e8d87530",
)
CIFAR_HINTS = (f"extract cifar-10-binary.tar.gz into DIR/{CIFAR_NAME}/ (giving DIR/{CIFAR_NAME}/{CIFAR_DIR}/) "
               f"and pass --data-dir DIR",)


def find_cifar_on_disk(cfg: DataConfig) -> Path | None:
    """The first extracted ``cifar-10-batches-bin/`` folder or archive in the search roots, or None."""
    for root in search_roots(cfg):
        folder = root / CIFAR_NAME / CIFAR_DIR
        if folder.is_dir():
            return folder
        archive = root / CIFAR_NAME / CIFAR_FILE.filename
        if archive.is_file():
            return archive
    return None


def load_cifar10(cfg: DataConfig, split: str) -> ArrayData:
    _check_split(CIFAR_NAME, split)
    source = find_cifar_on_disk(cfg)
    if source is None:
        folders = [root / CIFAR_NAME / CIFAR_DIR for root in search_roots(cfg)]
        found = find_or_download(CIFAR_NAME, [CIFAR_FILE], cfg, hints=CIFAR_HINTS, also_tried=folders)
        source = found[CIFAR_FILE.filename]
    x, y, classes = read_cifar10(source, split)
    return ArrayData(x=x, y=y, kind="image", classes=classes)


def cifar10_available(cfg: DataConfig) -> Availability:
    source = find_cifar_on_disk(cfg)
    if source is not None:
        return Availability(True, str(source))
    return available(CIFAR_NAME, [CIFAR_FILE], cfg)


def cifar10_files(cfg: DataConfig) -> list[Path]:
    source = find_cifar_on_disk(cfg)
    if source is None:
        return []
    return sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]


register_dataset(DatasetSpec(
    name=CIFAR_NAME, kind="image", profile="image-32", load=load_cifar10, available=cifar10_available,
    files=cifar10_files,
    description="CIFAR-10, 32x32 colour photos, 10 classes (50,000 train / 10,000 test); downloaded (162 MB)",
))

# ----------------------------------------------------------------------------------------------------
# the user's own data: a folder of images, or an npz file


def user_path(cfg: DataConfig, dataset: str, what: str) -> Path:
    """``cfg.path`` as an existing Path; DataError saying what to give when it is empty or missing."""
    if not cfg.path:
        raise DataError(f"dataset {dataset!r} needs path={what}")
    p = Path(cfg.path).expanduser()
    if not p.exists():
        raise DataError(f"dataset {dataset!r}: path {p} does not exist; give path={what}")
    return p


def user_path_available(cfg: DataConfig, what: str) -> Availability:
    if not cfg.path:
        return Availability(False, f"give path={what}")
    p = Path(cfg.path).expanduser()
    return Availability(True, str(p)) if p.exists() else Availability(False, f"{p} does not exist")


FOLDER_WHAT = "DIR (a folder of images, or of class sub-folders; optionally split into train/ and test/)"


def _has_split_folders(root: Path) -> bool:
    return (root / "train").is_dir() or (root / "test").is_dir()


def folder_for_split(root: Path, split: str) -> tuple[Path, bool]:
    """The folder holding ``split``'s images, and whether ``root`` uses the train/ test/ layout."""
    if _has_split_folders(root):
        target = root / split
        if not target.is_dir():
            raise DataError(f"{root} has a train/ or test/ sub-folder but no {split}/; "
                            f"give it both {root}/train/ and {root}/test/ (each with the same class sub-folders)")
        return target, True
    if split == "test":
        raise DataError(
            f"{root} has no test split. To evaluate on held-out images, arrange them as {root}/train/... and "
            f"{root}/test/... (each holding the images, or the same class sub-folders), or hold out a share of "
            f"them with test_fraction=0.1"
        )
    return root, False


def _folder_root(cfg: DataConfig) -> Path:
    root = user_path(cfg, "folder", FOLDER_WHAT)
    if not root.is_dir():
        raise DataError(f"dataset 'folder': {root} is not a folder; give path={FOLDER_WHAT}")
    return root


def load_folder(cfg: DataConfig, split: str) -> ArrayData:
    _check_split("folder", split)
    root = _folder_root(cfg)
    if cfg.test_fraction and not _has_split_folders(root):
        return held_out(load_folder(dataclasses.replace(cfg, test_fraction=0), "train"), split, cfg, str(root))
    folder, has_splits = folder_for_split(root, split)
    channels = cfg.channels
    if has_splits and channels == 0:
        # decide grey/RGB from both splits, so that train and test images have the same shape
        files = list_image_folder(root / "train")[0] + list_image_folder(root / "test")[0]
        channels = 1 if detect_grey(files) else 3
    x, y, classes = read_image_folder(folder, cfg.image_size, channels)
    if has_splits and split == "test":
        if not cfg.image_size:
            w, h = first_image_size(root / "train")
            if x.shape[2:] != (h, w):
                raise DataError(f"the images in {root}/test/ are {x.shape[3]}x{x.shape[2]} but those in "
                                f"{root}/train/ are {w}x{h}; resize both with image_size=N")
        y, classes = _relabel_like_train(root, y, classes)
    return ArrayData(x=x, y=y, kind="image", classes=classes)


def first_image_size(folder: Path) -> tuple[int, int]:
    """(width, height) of the first image of an image folder (header only)."""
    from PIL import Image

    first = list_image_folder(folder)[0][0]
    try:
        with Image.open(first) as im:
            return im.size
    except OSError as e:
        raise DataError(f"cannot read the image {first} ({e}); delete or replace it") from None


def _relabel_like_train(root: Path, y, classes):
    """Test labels as indices into the train folder's classes (test may lack some classes)."""
    _, _, train_classes = list_image_folder(root / "train")
    if (classes is None) != (train_classes is None):
        raise DataError(f"{root}/train/ and {root}/test/ must both use class sub-folders, or neither")
    if classes is None:
        return y, None
    unknown = sorted(set(classes) - set(train_classes))
    if unknown:
        raise DataError(f"{root}/test/ has classes that {root}/train/ lacks: {', '.join(unknown)}")
    index = np.array([train_classes.index(c) for c in classes], dtype=np.int64)
    return index[y], list(train_classes)


def folder_probe(cfg: DataConfig) -> tuple[str, tuple[int, ...]]:
    """("image", (H, W)) of a folder's images: image_size, else the first training image's (header only)."""
    root = _folder_root(cfg)
    if cfg.image_size:
        return "image", (cfg.image_size, cfg.image_size)
    w, h = first_image_size(folder_for_split(root, "train")[0])
    return "image", (h, w)


def folder_available(cfg: DataConfig) -> Availability:
    return user_path_available(cfg, "DIR")


def folder_files(cfg: DataConfig) -> list[Path]:
    """Every image under the folder (any depth): train/, test/ and class sub-folders."""
    root = user_path(cfg, "folder", FOLDER_WHAT)
    return sorted(p for p in root.rglob("*") if is_image_file(p))


register_dataset(DatasetSpec(
    name="folder", kind="image", load=load_folder, available=folder_available, files=folder_files,
    probe=folder_probe,
    description="your images: path=DIR of images or class sub-folders (optional train/ test/); "
                "image_size=N, channels=1|3",
))

NPZ_WHAT = "FILE.npz (saved with numpy.savez: x, and labels y; or x_train, y_train, x_test, y_test)"


def _npz_path(cfg: DataConfig) -> Path:
    path = user_path(cfg, "npz", NPZ_WHAT)
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file (a device, FIFO or socket)"
        raise DataError(f"dataset 'npz': {path} is {what}; give path={NPZ_WHAT}")
    if cfg.image_size or cfg.channels:
        raise DataError("image_size and channels apply to the 'folder' dataset; for npz arrays of flat rows "
                        "state the images' shape=CxHxW (e.g. shape=1x28x28)")
    return path


def load_npz(cfg: DataConfig, split: str) -> ArrayData:
    _check_split("npz", split)
    path = _npz_path(cfg)
    if cfg.test_fraction and not npz_has_test(path):
        return held_out(as_images(read_npz(path, "train"), cfg, str(path)), split, cfg, str(path))
    return as_images(read_npz(path, split), cfg, str(path))


HELD_OUT_SEED = 20240917  # the held-out test split is the same in every run, whatever the run's seed


def held_out(arrays: ArrayData, split: str, cfg: DataConfig, source: str) -> ArrayData:
    """The train or test part of data that has no test split: ``test_fraction`` of the examples, drawn with a
    fixed seed (the same examples in every run and evaluation), are the test split; the rest train."""
    n = len(arrays.x)
    n_test = max(1, round(cfg.test_fraction * n))
    if n_test >= n:  # too few to hold any out: all of it trains, and there is no test split
        if split == "train":
            return arrays
        raise DataError(f"{source}: {n} examples are too few to hold out test_fraction={cfg.test_fraction:g} of "
                        f"them as a test split; give more data")
    test = np.zeros(n, dtype=bool)
    test[np.random.default_rng(HELD_OUT_SEED).permutation(n)[:n_test]] = True
    _say_once(f"held-out:{source}:{cfg.test_fraction}",
              f"{source} has no test split: {n_test:,} of its {n:,} examples (test_fraction={cfg.test_fraction:g}, "
              f"drawn with a fixed seed) are held out as the test split")
    keep = test if split == "test" else ~test
    classes = arrays.classes
    if arrays.y is not None and classes is None:  # both parts know every class, whichever part holds the last
        classes = [str(k) for k in range(check_num_classes(int(arrays.y.max()) + 1, cfg.dataset))]
    return dataclasses.replace(arrays, x=arrays.x[keep], y=None if arrays.y is None else arrays.y[keep],
                               classes=classes)


def as_images(arrays: ArrayData, cfg: DataConfig, source: str) -> ArrayData:
    """Rows of D numbers as images where ``shape=CxHxW`` says so, or where D = s*s or 3*s*s (s >= 8) and the
    values are pixels (said in one line); points otherwise, and always with ``shape=points``."""
    if arrays.kind != "points" or cfg.shape == "points":
        if arrays.kind == "image" and cfg.shape not in ("", "points") and image_shape(cfg.shape) != arrays.x.shape[1:]:
            raise DataError(f"{source} holds images of shape {'x'.join(map(str, arrays.x.shape[1:]))}, "
                            f"not shape={cfg.shape}; leave shape out for images")
        return arrays
    x = arrays.x
    d = x.shape[1]
    stated = image_shape(cfg.shape) if cfg.shape else None
    if stated is None:
        stated = _square_images(d)
        if stated is None or not _pixels(x):
            return arrays
        _say_once(f"images:{source}", f"{source}: rows of {d} numbers read as {stated[1]}x{stated[2]} "
                                       f"{'grey' if stated[0] == 1 else 'colour'} images (shape={'x'.join(map(str, stated))}; "
                                       f"shape=points keeps them as points)")
    elif int(np.prod(stated)) != d:
        raise DataError(f"{source}: shape={cfg.shape} holds {int(np.prod(stated))} numbers, but each row has {d}; "
                        f"give a shape CxHxW with C*H*W = {d}")
    elif not _pixels(x):
        raise DataError(f"{source}: shape={cfg.shape} asks for images, but the values are not pixels "
                        f"({x.min():g}..{x.max():g}); images must be uint8 0..255 or floats in [0, 1]")
    imgs = x.reshape(len(x), *stated)
    imgs = imgs.astype(np.uint8) if imgs.max() > 1 else imgs.astype(np.float32)
    return dataclasses.replace(arrays, x=np.ascontiguousarray(imgs), kind="image")


def _square_images(d: int) -> tuple[int, int, int] | None:
    """(C, s, s) when D = C*s*s for C in 1, 3 and s >= 8; None otherwise (unambiguous: 3*s*s is no square)."""
    for c in (1, 3):
        s = round((d / c) ** 0.5)
        if d % c == 0 and s >= 8 and c * s * s == d:
            return c, s, s
    return None


def _pixels(x: np.ndarray) -> bool:
    """Values in [0, 1], or whole numbers in 0..255."""
    if x.size == 0 or x.min() < 0:
        return False
    return bool(x.max() <= 1 or (x.max() <= 255 and np.all(x == np.round(x))))


_said: set[str] = set()


def _say_once(key: str, text: str) -> None:
    """A note on stderr, once per process (the data is loaded several times in one command)."""
    if key not in _said:
        _said.add(key)
        print(text, file=sys.stderr, flush=True)


def npz_has_test(path: Path) -> bool:
    """Whether an npz file holds a test split ('x_test')."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False  # a broken file: read_npz says what is wrong
    if isinstance(npz, np.ndarray):  # a .npy file: one array
        return False
    with npz:
        return "x_test" in npz.files


_probed: dict[tuple, tuple] = {}


def npz_probe(cfg: DataConfig) -> tuple[str, tuple[int, ...]]:
    """(kind, example shape) of an npz file's training arrays as ``load_npz`` reads them (flat rows may be
    images: their values decide), kept per file version: a sweep asks once per setting."""
    path = _npz_path(cfg)
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, cfg.shape)
    if key not in _probed:
        arrays = as_images(read_npz(path, "train"), cfg, str(path))
        _probed[key] = (arrays.kind, tuple(arrays.x.shape[1:]))
    return _probed[key]


def npz_available(cfg: DataConfig) -> Availability:
    return user_path_available(cfg, "FILE.npz")


def npz_files(cfg: DataConfig) -> list[Path]:
    return [user_path(cfg, "npz", NPZ_WHAT)]


register_dataset(DatasetSpec(
    name="npz", kind="image", load=load_npz, available=npz_available, files=npz_files, probe=npz_probe,
    description="your arrays: path=FILE.npz with x (and y), or x_train/y_train/x_test/y_test; "
                "images (uint8 or [0, 1]; flat rows of s*s or 3*s*s pixels too, or shape=CxHxW) or points",
))
