"""Pure readers for the dataset file formats, with structure checks.

Every reader raises DataError naming the file when the file is not what it should be (wrong magic
number, truncated, corrupt compression, inconsistent sizes), so that a damaged download shows up as a
clear message instead of a traceback. Nothing here runs code from a data file: CIFAR-10 is read from
its binary version (not the Python pickles) and npz files are loaded with ``allow_pickle=False``.

- ``read_idx``: MNIST-style IDX files, gzipped or plain.
- ``read_cifar10``: CIFAR-10's binary batches, from the .tar.gz (read in memory) or an extracted folder.
- ``read_image_folder``: a folder of images, optionally in class sub-folders.
- ``read_npz``: arrays saved with ``numpy.savez``.
- ``CelebaImages``, ``parse_celeba_attributes``, ``parse_celeba_partition``: CelebA's aligned images (from
  the zip, read in place, or a folder) and its two annotation files (the official text files or CSV copies).
"""

from __future__ import annotations

import gzip
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..errors import DataError
from .base import ArrayData

_REDOWNLOAD = "delete or replace it (genlab downloads missing files again)"

# ----------------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)

IDX_UINT8 = 0x08
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes_maybe_gzip(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip data (detected by its magic, not its name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e}") from None
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; EOFError: truncated
        raise DataError(f"{path} is not a valid gzip file ({e}): it is truncated or corrupt; {_REDOWNLOAD}") from None


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """Decode IDX bytes (magic 0x0000 08 NDIM, NDIM big-endian int32 sizes, uint8 data)."""
    if len(data) < 4:
        raise DataError(f"{source} is too short to be an IDX file ({len(data)} bytes); {_REDOWNLOAD}")
    if data[0] != 0 or data[1] != 0 or data[3] < 1:
        raise DataError(
            f"{source} is not an IDX file (magic number {data[:4].hex()}, expected 000008 followed by the "
            f"number of dimensions); {_REDOWNLOAD}"
        )
    if data[2] != IDX_UINT8:
        raise DataError(f"{source} holds IDX data of type 0x{data[2]:02x}; genlab reads uint8 (0x08) IDX files")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{source} is truncated (the header is incomplete); {_REDOWNLOAD}")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    if min(dims) < 0:
        raise DataError(f"{source} has a header with a negative size ({'x'.join(map(str, dims))}): the file is "
                        f"corrupt; {_REDOWNLOAD}")
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) - header != expected:
        raise DataError(
            f"{source} holds {len(data) - header} bytes of data but its header says {'x'.join(map(str, dims))} "
            f"({expected} bytes): the file is truncated or corrupt; {_REDOWNLOAD}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_idx(path: Path | str) -> np.ndarray:
    """Read a gzipped or plain IDX file of uint8 data into an array of the header's shape."""
    return parse_idx(read_bytes_maybe_gzip(Path(path)), str(path))


# ----------------------------------------------------------------------------------------------------
# CIFAR-10, binary version

CIFAR_DIR = "cifar-10-batches-bin"
CIFAR_SPLITS = {
    "train": [f"data_batch_{i}.bin" for i in range(1, 6)],
    "test": ["test_batch.bin"],
}
CIFAR_META = "batches.meta.txt"
CIFAR_RECORD = 1 + 3 * 32 * 32
CIFAR_CLASSES = 10


def parse_cifar_batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode a CIFAR-10 binary batch: records of 1 label byte + 3072 bytes (R, G, B planes of 32x32)."""
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataError(
            f"{source} is not a CIFAR-10 binary batch: its size ({len(data)} bytes) is not a positive multiple "
            f"of {CIFAR_RECORD}; it is truncated or corrupt; {_REDOWNLOAD}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    y = records[:, 0].astype(np.int64)
    if y.max() >= CIFAR_CLASSES:
        raise DataError(f"{source} has a label {int(y.max())} (CIFAR-10 labels are 0..9): the file is corrupt; "
                        f"{_REDOWNLOAD}")
    x = records[:, 1:].reshape(-1, 3, 32, 32).copy()
    return x, y


def parse_cifar_meta(data: bytes, source: str) -> list[str]:
    """Class names from ``batches.meta.txt`` (one a line)."""
    names = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if len(names) != CIFAR_CLASSES:
        raise DataError(f"{source} should list {CIFAR_CLASSES} class names, found {len(names)}; {_REDOWNLOAD}")
    return names


def _cifar_members_from_tar(path: Path, wanted: Sequence[str]) -> dict[str, bytes]:
    """Read the members ``cifar-10-batches-bin/<name>`` for each wanted name into memory (no extraction)."""
    want = {f"{CIFAR_DIR}/{n}": n for n in wanted}
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|*") as tar:  # streamed: one pass over the archive
            for member in tar:
                key = member.name[2:] if member.name.startswith("./") else member.name
                if key not in want or not member.isfile():
                    continue
                f = tar.extractfile(member)
                data = f.read() if f is not None else b""
                if len(data) != member.size:
                    raise DataError(f"{path} is truncated (member {member.name} is incomplete); {_REDOWNLOAD}")
                out[want[key]] = data
                if len(out) == len(want):
                    break
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise DataError(f"{path} is not a readable .tar.gz archive ({e}): it is truncated or corrupt; "
                        f"{_REDOWNLOAD}") from None
    lost = [f"{CIFAR_DIR}/{n}" for n in wanted if n not in out]
    if lost:
        raise DataError(f"{path} lacks {', '.join(lost)}: it is not the CIFAR-10 binary archive, or it is "
                        f"truncated; {_REDOWNLOAD}")
    return out


def _cifar_members_from_folder(folder: Path, wanted: Sequence[str]) -> dict[str, bytes]:
    if (folder / CIFAR_DIR).is_dir():
        folder = folder / CIFAR_DIR
    out: dict[str, bytes] = {}
    for n in wanted:
        p = folder / n
        try:
            out[n] = p.read_bytes()
        except FileNotFoundError:
            raise DataError(
                f"{p} is missing: a CIFAR-10 folder holds {CIFAR_META}, data_batch_1.bin .. data_batch_5.bin "
                f"and test_batch.bin (extract cifar-10-binary.tar.gz there)"
            ) from None
        except OSError as e:
            raise DataError(f"cannot read {p}: {e}") from None
    return out


def read_cifar10(path: Path | str, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """CIFAR-10 ``split`` ('train' or 'test') as (x uint8 (N,3,32,32), y int64 (N,), class names).

    ``path`` is either ``cifar-10-binary.tar.gz`` (read in memory, nothing extracted) or a folder: the
    extracted ``cifar-10-batches-bin/`` or the folder holding it.
    """
    path = Path(path)
    if split not in CIFAR_SPLITS:
        raise DataError(f"unknown split {split!r} for CIFAR-10; choose train or test")
    names = [*CIFAR_SPLITS[split], CIFAR_META]
    if path.is_dir():
        members = _cifar_members_from_folder(path, names)
        prefix = f"{path / CIFAR_DIR if (path / CIFAR_DIR).is_dir() else path}/"  # errors name the file
    else:
        members = _cifar_members_from_tar(path, names)
        prefix = f"{path}:{CIFAR_DIR}/"  # errors name the archive and its member
    classes = parse_cifar_meta(members[CIFAR_META], prefix + CIFAR_META)
    parts = [parse_cifar_batch(members[n], prefix + n) for n in CIFAR_SPLITS[split]]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return x, y, classes


# ----------------------------------------------------------------------------------------------------
# image folders

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
GREY_MODES = {"L", "1", "LA", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"}


def is_image_file(p: Path) -> bool:
    return p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES


def list_image_folder(path: Path) -> tuple[list[Path], Optional[list[int]], Optional[list[str]]]:
    """(image files, labels or None, class names or None) of a folder, in a fixed (sorted) order.

    Either class sub-folders (sorted names = classes; images directly inside each) or images directly
    in the folder (no labels). A folder holding both is refused as ambiguous.
    """
    if not path.is_dir():
        raise DataError(f"{path} is not a folder")
    entries = sorted(path.iterdir())
    loose = [p for p in entries if is_image_file(p)]
    class_dirs = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    class_dirs = [d for d in class_dirs if any(is_image_file(p) for p in d.iterdir())]
    suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
    if loose and class_dirs:
        raise DataError(
            f"{path} holds both images and class sub-folders with images ({class_dirs[0].name}/ ...); "
            f"put every image in a class sub-folder, or keep only loose images"
        )
    if loose:
        return loose, None, None
    if not class_dirs:
        raise DataError(f"{path} holds no images ({suffixes}), neither directly nor in class sub-folders")
    files: list[Path] = []
    labels: list[int] = []
    for k, d in enumerate(class_dirs):
        imgs = sorted(p for p in d.iterdir() if is_image_file(p))
        files += imgs
        labels += [k] * len(imgs)
    return files, labels, [d.name for d in class_dirs]


def _open_image(p: Path, load: bool = True):
    """Open an image with Pillow (``load=False``: read the header only); DataError naming it if unreadable."""
    from PIL import Image

    errors = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
    try:
        im = Image.open(p)
    except errors as e:
        raise DataError(f"cannot read the image {p} ({e}); delete or replace it") from None
    if load:
        try:
            im.load()
        except errors as e:
            im.close()
            raise DataError(f"cannot read the image {p} ({e}); delete or replace it") from None
    return im


def _to_mode(im, grey: bool):
    """Convert a Pillow image to 'L' or 'RGB'; 16/32-bit grey is scaled to 8 bits (Pillow would clip)."""
    from PIL import Image

    if im.mode.startswith("I"):  # 16-bit grey (I;16*, or I as older Pillows read 16-bit PNGs)
        a = np.asarray(im, dtype=np.float64) / 257.0
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    elif im.mode == "F":  # float grey: [0, 1] when it fits, else 0..255
        a = np.asarray(im, dtype=np.float64)
        a = a * 255.0 if a.size and a.max() <= 1.0 else a
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
    if im.mode == "P":
        im = im.convert("RGBA")  # palette transparency is handled properly this way
    want = "L" if grey else "RGB"
    return im if im.mode == want else im.convert(want)


def detect_grey(files: Sequence[Path]) -> bool:
    """Whether every image is grey (mode L, 1, LA, I, I;16 or F); reads the headers only."""
    for p in files:
        with _open_image(p, load=False) as im:
            if im.mode not in GREY_MODES:
                return False
    return True


def read_image_folder(path: Path | str, image_size: int = 0, channels: int = 0
                      ) -> tuple[np.ndarray, Optional[np.ndarray], Optional[list[str]]]:
    """Read a folder of images into (x uint8 (N,C,H,W), y int64 (N,) or None, class names or None).

    channels: 1 grey, 3 RGB, 0 grey when every image is grey (modes L, 1, LA, I, I;16, F) else RGB.
    image_size: N resizes every image to NxN (scaling the shorter side to N and cropping the centre);
    0 keeps the size, and then all images must share one size.
    """
    from PIL import Image, ImageOps

    path = Path(path)
    files, labels, classes = list_image_folder(path)
    grey = detect_grey(files) if channels == 0 else channels == 1
    arrays = []
    first_size = None
    for p in files:
        with _open_image(p) as src:
            im = _to_mode(src, grey)
            if image_size and im.size != (image_size, image_size):
                im = ImageOps.fit(im, (image_size, image_size), method=Image.Resampling.LANCZOS)
            a = np.array(im, dtype=np.uint8)  # a copy, made before the file is closed
        size = (a.shape[1], a.shape[0])  # (width, height)
        if not image_size:
            if first_size is None:
                first_size = (p, size)
            elif size != first_size[1]:
                (p0, (w0, h0)), (w1, h1) = first_size, size
                raise DataError(
                    f"the images in {path} have different sizes: {p0} is {w0}x{h0} but {p} is {w1}x{h1}; "
                    f"resize them all to one size with image_size=N (e.g. image_size={min(w0, h0, w1, h1)})"
                )
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    x = np.ascontiguousarray(np.stack(arrays))
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    return x, y, classes


# ----------------------------------------------------------------------------------------------------
# CelebA: the aligned images (zip or folder), the attribute list and the evaluation partition

CELEBA_IMAGES = "img_align_celeba"
CELEBA_PARTITIONS = {"train": 0, "valid": 1, "test": 2}


def _text_rows(data: bytes, source: str) -> list[list[str]]:
    """The non-empty lines of a whitespace- or comma-separated text file, split into fields."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{source} is not a text file; {_REDOWNLOAD}") from None
    sep = "," if "," in text.split("\n", 1)[0] else None  # the CSV copies (e.g. Kaggle's) have a header line
    return [line.split(sep) for line in text.splitlines() if line.strip()]


def parse_celeba_partition(data: bytes, source: str) -> dict[str, int]:
    """``list_eval_partition.txt`` (``000001.jpg 0`` per line; or its CSV copy with a header):
    image name -> 0 (train), 1 (validation) or 2 (test)."""
    rows = _text_rows(data, source)
    if rows and rows[0][0].strip() == "image_id":
        rows = rows[1:]
    out: dict[str, int] = {}
    for i, row in enumerate(rows, 1):
        if len(row) != 2 or row[1].strip() not in ("0", "1", "2"):
            raise DataError(f"{source}, line {i}: expected 'IMAGE.jpg PARTITION' with a partition of 0, 1 or 2, "
                            f"got {' '.join(row)[:60]!r}; {_REDOWNLOAD}")
        out[row[0].strip()] = int(row[1])
    if not out:
        raise DataError(f"{source} lists no images; {_REDOWNLOAD}")
    return out


def parse_celeba_attributes(data: bytes, source: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """``list_attr_celeba.txt`` (a count line, a line of 40 names, then ``000001.jpg -1 1 ...``; or its CSV
    copy, whose header starts with ``image_id``): (attribute names, image name -> int8 (A,) of 0/1)."""
    rows = _text_rows(data, source)
    if len(rows) >= 2 and rows[0][0].strip() == "image_id":  # CSV: header, then rows
        names, body = [n.strip() for n in rows[0][1:]], rows[1:]
    elif len(rows) >= 2 and len(rows[0]) == 1 and rows[0][0].strip().isdigit():
        names, body = rows[1], rows[2:]
        if int(rows[0][0]) != len(body):
            raise DataError(f"{source} says it lists {rows[0][0]} images but holds {len(body)}: it is truncated "
                            f"or corrupt; {_REDOWNLOAD}")
    else:
        raise DataError(f"{source} is not a CelebA attribute list (a line with the number of images, a line of "
                        f"attribute names, then one line per image); {_REDOWNLOAD}")
    out: dict[str, np.ndarray] = {}
    for i, row in enumerate(body, 1):
        values = [v.strip() for v in row[1:]]
        if len(values) != len(names) or any(v not in ("1", "-1") for v in values):
            raise DataError(f"{source}: the line for {row[0].strip()!r} should hold {len(names)} values of 1 or -1; "
                            f"{_REDOWNLOAD}")
        out[row[0].strip()] = (np.array(values, dtype=np.int8) > 0).astype(np.int8)
    return names, out


def celeba_crop(im, crop: int, size: int):
    """A Pillow image -> its centred ``crop`` x ``crop`` square (smaller when the image is), resized to
    ``size`` x ``size`` (bilinear with antialiasing), RGB."""
    from PIL import Image

    im = im.convert("RGB")
    w, h = im.size
    side = min(crop, w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)


class CelebaImages:
    """The aligned CelebA images, from ``img_align_celeba.zip`` (read in place) or a folder of JPEGs
    (``img_align_celeba/``, or the folder that holds it). ``read(names, crop, size)`` -> uint8 (N, 3, size, size)."""

    def __init__(self, source: Path):
        self.source = Path(source)
        self.zip: Optional[zipfile.ZipFile] = None
        if self.source.is_dir():
            inner = self.source / CELEBA_IMAGES
            while inner.is_dir():  # img_align_celeba/ (and Kaggle's img_align_celeba/img_align_celeba/)
                self.source, inner = inner, inner / CELEBA_IMAGES
            return
        try:
            self.zip = zipfile.ZipFile(self.source)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise DataError(f"{self.source} is not a complete zip archive ({e}): it is truncated or corrupt; "
                            f"{_REDOWNLOAD}") from None
        self.members = {Path(i.filename).name: i for i in self.zip.infolist() if not i.is_dir()}

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def raw(self, name: str) -> bytes:
        """The JPEG bytes of one image."""
        if self.zip is None:
            try:
                return (self.source / name).read_bytes()
            except FileNotFoundError:
                raise DataError(f"{self.source / name} is missing: the CelebA image folder is incomplete") from None
        info = self.members.get(name)
        if info is None:
            raise DataError(f"{self.source} has no image {name}: it is not the aligned CelebA archive, or it is "
                            f"incomplete; {_REDOWNLOAD}")
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as e:
            raise DataError(f"{self.source}: cannot read {name} ({e}): the archive is truncated or corrupt; "
                            f"{_REDOWNLOAD}") from None

    def read(self, names: Sequence[str], crop: int, size: int, workers: int = 0,
             progress: Optional[bool] = None) -> np.ndarray:
        """The images ``names``, centre-cropped and resized: uint8 (N, 3, size, size). JPEG decoding runs on
        ``workers`` threads (0: one per CPU core), the archive is read by this one; ``progress``: a progress bar
        (None: on a terminal)."""
        import io
        import os
        from concurrent.futures import ThreadPoolExecutor

        from PIL import Image
        from tqdm import tqdm

        out = np.empty((len(names), 3, size, size), dtype=np.uint8)

        def decode(item: tuple[int, str, bytes]) -> None:
            i, name, data = item
            try:
                with Image.open(io.BytesIO(data)) as im:
                    out[i] = np.asarray(celeba_crop(im, crop, size)).transpose(2, 0, 1)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                raise DataError(f"cannot read the image {name} of {self.source} ({e}); {_REDOWNLOAD}") from None

        chunk = 2048
        with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool, \
                tqdm(total=len(names), desc="CelebA: cropping", unit="img",
                     disable=None if progress is None else not progress, leave=False) as bar:
            for start in range(0, len(names), chunk):
                batch = [(start + j, n, self.raw(n)) for j, n in enumerate(names[start: start + chunk])]
                list(pool.map(decode, batch))
                bar.update(len(batch))
        return out


# ----------------------------------------------------------------------------------------------------
# npz

NPZ_KEYS = {"train": (("x_train", "y_train"), ("x", "y")), "test": (("x_test", "y_test"),)}


def _npz_pick(keys: list[str], split: str, source: str) -> tuple[str, Optional[str]]:
    """The (x key, y key or None) to use for ``split``."""
    for kx, ky in NPZ_KEYS[split]:
        if kx in keys:
            return kx, (ky if ky in keys else None)
    if split == "train" and len(keys) == 1:
        return keys[0], None
    if split == "test":
        raise DataError(
            f"{source} has no test split: save the test data as 'x_test' (and labels as 'y_test') "
            f"next to 'x_train'/'y_train' (arrays found: {', '.join(keys)})"
        )
    raise DataError(
        f"{source} holds several arrays ({', '.join(keys)}) and none is named 'x' or 'x_train'; "
        f"save the data as x= (and labels as y=) with numpy.savez"
    )


def _npz_images(x: np.ndarray, source: str) -> np.ndarray:
    """Images in any accepted layout -> (N, C, H, W), C in 1 or 3."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        if x.shape[1] in (1, 3):
            return x
        if x.shape[3] in (1, 3):
            return x.transpose(0, 3, 1, 2)
    raise DataError(
        f"{source}: cannot read an array of shape {x.shape}; use (N, D) points, or images as (N, H, W), "
        f"(N, C, H, W) or (N, H, W, C) with C = 1 or 3"
    )


def _npz_values(x: np.ndarray, source: str) -> np.ndarray:
    """Image values as uint8 0..255 or float32 in [0, 1]."""
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    if np.issubdtype(x.dtype, np.integer):
        if x.size and (x.min() < 0 or x.max() > 255):
            raise DataError(f"{source}: integer images must be in 0..255 (found {x.min()}..{x.max()}); "
                            f"images must be uint8 0..255 or floats in [0, 1]")
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all():
            raise DataError(f"{source}: the images hold NaN or infinite values")
        if x.size and (x.min() < 0 or x.max() > 1):
            raise DataError(f"{source}: float images must be in [0, 1] (found {x.min():g}..{x.max():g}); "
                            f"images must be uint8 0..255 or floats in [0, 1]")
        return x.astype(np.float32)
    raise DataError(f"{source}: cannot use images of type {x.dtype}; use uint8 0..255 or floats in [0, 1]")


def _npz_labels(y: np.ndarray, n: int, source: str) -> np.ndarray:
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{source}: the labels must be a 1-D array of {n} integers (one per example), "
                        f"got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{source}: the labels must be integers (class indices), got type {y.dtype}")
    if n and y.min() < 0:
        raise DataError(f"{source}: the labels must be class indices >= 0 (found {y.min()})")
    return y.astype(np.int64)


def read_npz(path: Path | str, split: str = "train") -> ArrayData:
    """Read arrays saved with ``numpy.savez`` (``allow_pickle=False``: a file cannot run code).

    train: 'x_train' (+ 'y_train'), else 'x' (+ 'y'), else the file's only array; test: 'x_test' (+
    'y_test'). Images: (N,H,W), (N,C,H,W) or (N,H,W,C), C in 1, 3, as uint8 or floats in [0, 1];
    (N, D) arrays are points. Optional 'classes': an array of class names.
    """
    path = Path(path)
    source = str(path)
    if split not in NPZ_KEYS:
        raise DataError(f"unknown split {split!r}; choose train or test")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise DataError(f"cannot read {source}: {e.strerror or e}") from None
    if not head.startswith((b"PK", b"\x93NUMPY")):  # a zip archive (.npz) or a .npy array
        raise DataError(f"{source} is not a numpy .npz file (it starts with {head!r}, not as a zip archive); "
                        f"save your arrays with numpy.savez")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise DataError(f"cannot read {source} as a numpy .npz file ({e}); save it with numpy.savez") from None
    try:
        if isinstance(npz, np.ndarray):  # a .npy file: one array
            arrays = {"x": npz}
            kx, ky = "x", None
        else:
            keys = [k for k in npz.files if k != "classes"]
            kx, ky = _npz_pick(keys, split, source)
            wanted = [kx] + ([ky] if ky else []) + (["classes"] if "classes" in npz.files else [])
            arrays = {k: npz[k] for k in wanted}
    except ValueError as e:  # e.g. an object array: loading it would need pickle
        raise DataError(f"{source} holds an array genlab will not load ({e}); save plain numeric arrays") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{source} is truncated or corrupt ({e}); save it again") from None
    finally:
        if not isinstance(npz, np.ndarray):
            npz.close()
    x = arrays[kx]
    if x.dtype == object:
        raise DataError(f"{source}: array {kx!r} holds Python objects; save plain numeric arrays")
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{source}: array {kx!r} holds no examples (shape {x.shape})")
    y = None if ky is None else _npz_labels(arrays[ky], len(x), source)
    classes = None
    if "classes" in arrays:
        c = arrays["classes"]
        if c.ndim != 1 or c.dtype.kind not in "US":
            raise DataError(f"{source}: 'classes' must be a 1-D array of class names (strings)")
        classes = [str(v) for v in c.tolist()]
        if y is not None and y.max() >= len(classes):
            raise DataError(f"{source}: label {y.max()} but only {len(classes)} class names in 'classes'")
    if x.ndim == 2:
        if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            raise DataError(f"{source}: points must be real numbers, got type {x.dtype}")
        pts = x.astype(np.float32)
        if not np.isfinite(pts).all():
            raise DataError(f"{source}: the points hold NaN or infinite values")
        return ArrayData(x=pts, y=y, kind="points", classes=classes)
    imgs = np.ascontiguousarray(_npz_values(_npz_images(x, source), source))
    return ArrayData(x=imgs, y=y, kind="image", classes=classes)


__all__ = [
    "CELEBA_IMAGES",
    "CelebaImages",
    "celeba_crop",
    "parse_celeba_attributes",
    "parse_celeba_partition",
    "CIFAR_DIR",
    "IMAGE_SUFFIXES",
    "detect_grey",
    "is_image_file",
    "list_image_folder",
    "parse_cifar_batch",
    "parse_idx",
    "read_cifar10",
    "read_idx",
    "read_image_folder",
    "read_npz",
]
