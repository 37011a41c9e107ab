"""CelebA (Liu et al. 2015) at 64x64: ``celeba``.

The aligned and cropped images (178x218 JPEGs of ``img_align_celeba.zip``) are centre-cropped to 108x108
and resized to 64x64 (bilinear, antialiased), the preprocessing of the DCGAN code most 64x64 GAN papers
follow for CelebA (DCGAN-tensorflow's ``--crop``: a 108-pixel centre crop of the aligned faces); images of
another size are cropped to their largest centred square up to 108 pixels. Splits are the official
evaluation partition (``list_eval_partition.txt``): train = partition 0 (162,770 images), test = partition 2
(19,962); the validation partition (19,867) is not used. Labels, where the attribute list
(``list_attr_celeba.txt``) is present, are its ``Male`` attribute (class 1: Male, class 0: not); all 40
attributes are kept beside the images (``celeba_attributes``).

Where the images come from, first found first:
1. ``path=FILE.zip`` or ``path=DIR`` (the aligned-image zip, or a folder of its JPEGs);
2. ``ROOT/celeba/img_align_celeba/`` or ``ROOT/celeba/img_align_celeba.zip`` in the usual search roots
   (``--data-dir``, genlab's cache, /usr/share/datasets); Kaggle's copy (a nested
   ``img_align_celeba/img_align_celeba/`` and ``.csv`` annotation files) is read as it is;
3. downloaded into the cache (1.4 GB; md5 checked), with the two annotation files.
The annotation files are looked for beside the images, then in the search roots, then downloaded. Without
the partition file the official partition is used by image number (the file holds exactly that); without
the attribute file the images have no labels. Either case is said on stderr.

The cropped arrays are kept in genlab's cache (``<cache>/celeba/<split>-<key>.npz``, written atomically)
under a key of the source files' identity and of the recipe: decoding 200,000 JPEGs takes minutes, once.
As float32 in memory the training split needs about 8 GB; ``subset=N`` trains on fewer images.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import numpy as np

from ..config import DataConfig
from ..errors import DataError
from .base import ArrayData, Availability, DatasetSpec, register_dataset
from .files import RemoteFile, available, cache_dir, cached_arrays, download, files_key, find_or_download, locate
from .files import search_roots
from .formats import CELEBA_IMAGES, CELEBA_PARTITIONS, CelebaImages, parse_celeba_attributes, parse_celeba_partition

NAME = "celeba"
CROP, SIZE = 108, 64
RECIPE = {"version": 1, "crop": CROP, "size": SIZE, "resize": "bilinear"}
LABEL_ATTRIBUTE = "Male"
SPLIT_PARTITION = {"train": CELEBA_PARTITIONS["train"], "test": CELEBA_PARTITIONS["test"]}
# the official partition by image number (1-based, inclusive), for when list_eval_partition.txt is missing
PARTITION_RANGES = {0: (1, 162_770), 1: (162_771, 182_637), 2: (182_638, 202_599)}


def _drive(file_id: str) -> str:
    return f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"


IMAGES_ZIP = RemoteFile(
    f"{CELEBA_IMAGES}.zip",
    ("https://s3-us-west-1.amazonaws.com/udacity-dlnfd/datasets/celeba.zip", _drive("0B7EVK8r0v71pZjFTYXZWM3FlRnM")),
    md5="00d2c5bc6d35e252742224ab0c1e8fcb",
)
ATTRIBUTES = RemoteFile("list_attr_celeba.txt", (_drive("0B7EVK8r0v71pblRyaVFSWGxPY0U"),),
                        md5="75e246fa4810816ffd6ee81facbd244c", local_names=("list_attr_celeba.csv",))
PARTITION = RemoteFile("list_eval_partition.txt", (_drive("0B7EVK8r0v71pY0NSMzRuSXJEVkk"),),
                       md5="d32c9cbf5e040fd4025c592c306e6668", local_names=("list_eval_partition.csv",))
HINTS = (f"download img_align_celeba.zip, list_attr_celeba.txt and list_eval_partition.txt from the CelebA "
         f"page (mmlab.ie.cuhk.edu.hk/projects/CelebA.html) into DIR/{NAME}/ and pass --data-dir DIR, or give "
         f"path=FILE.zip (or path=DIR of the extracted images)",)


def _note(text: str) -> None:
    print(f"genlab: celeba: {text}", file=sys.stderr)


def find_images(cfg: DataConfig) -> Optional[Path]:
    """The images' source on disk (``path=``, then the search roots), or None."""
    if cfg.path:
        p = Path(cfg.path).expanduser()
        if not p.exists():
            raise DataError(f"dataset 'celeba': path {p} does not exist; give path=FILE.zip (img_align_celeba.zip) "
                            f"or path=DIR (a folder of its images)")
        return p
    for root in search_roots(cfg):
        for candidate in (root / NAME / CELEBA_IMAGES, root / NAME / IMAGES_ZIP.filename):
            if candidate.exists():
                return candidate
    return None


def images_source(cfg: DataConfig) -> Path:
    """The images' source: found on disk or downloaded."""
    found = find_images(cfg)
    if found is not None:
        return found
    folders = [root / NAME / CELEBA_IMAGES for root in search_roots(cfg)]
    return find_or_download(NAME, [IMAGES_ZIP], cfg, hints=HINTS, also_tried=folders)[IMAGES_ZIP.filename]


def annotation(rf: RemoteFile, cfg: DataConfig, near: Path) -> Optional[Path]:
    """An annotation file: beside the images, in the search roots, or downloaded; None when none can be had
    (a download that arrives corrupt is an error)."""
    for folder in dict.fromkeys((near.parent, near.parent.parent)):
        for name in rf.names:
            if (folder / name).is_file():
                return folder / name
    path, _ = locate(NAME, rf, cfg)
    if path is None and cfg.download:
        path, errors = download(NAME, rf)
        if path is None:
            _note(f"could not download {rf.filename}: " + "; ".join(errors))
    return path


def partition_by_number(names: list[str]) -> dict[str, int]:
    """The official partition of images named by their number (000001.jpg ...)."""
    out = {}
    for n in names:
        stem = Path(n).stem
        number = int(stem) if stem.isdigit() else 0
        out[n] = next((k for k, (lo, hi) in PARTITION_RANGES.items() if lo <= number <= hi), -1)
    return out


def build_split(images: Path, attributes: Optional[Path], partition: Optional[Path], split: str,
                progress: Optional[bool] = None) -> dict[str, np.ndarray]:
    """The cropped images of one split, with their names and (where present) attributes, as arrays."""
    with CelebaImages(images) as src:
        if partition is not None:
            parts = parse_celeba_partition(partition.read_bytes(), str(partition))
        else:
            listed = sorted(src.members) if src.zip is not None else sorted(p.name for p in src.source.glob("*.jpg"))
            parts = partition_by_number(listed)
        names = sorted(n for n, k in parts.items() if k == SPLIT_PARTITION[split])
        if not names:
            raise DataError(f"dataset 'celeba': no images of the {split} split (partition {SPLIT_PARTITION[split]}) "
                            f"in {partition or images}")
        arrays = {"x": src.read(names, CROP, SIZE, progress=progress), "names": np.array(names)}
    if attributes is not None:
        attr_names, table = parse_celeba_attributes(attributes.read_bytes(), str(attributes))
        missing = [n for n in names if n not in table]
        if missing:
            raise DataError(f"{attributes} has no attributes for {missing[0]} (and {len(missing) - 1} more images); "
                            f"it does not belong to these images: delete or replace it")
        if LABEL_ATTRIBUTE not in attr_names:
            raise DataError(f"{attributes} has no {LABEL_ATTRIBUTE!r} attribute; is it CelebA's attribute list?")
        arrays["attributes"] = np.stack([table[n] for n in names])  # (N, 40) of 0/1
        arrays["attribute_names"] = np.array(attr_names)
    return arrays


def load_arrays(cfg: DataConfig, split: str) -> dict[str, np.ndarray]:
    """The cached arrays of a split (built on first use)."""
    if split not in SPLIT_PARTITION:
        raise DataError(f"dataset 'celeba' has no split {split!r}; choose train or test")
    images = images_source(cfg)
    attributes = annotation(ATTRIBUTES, cfg, images)
    partition = annotation(PARTITION, cfg, images)
    if partition is None:
        _note("list_eval_partition.txt is missing: using the official partition by image number")
    if attributes is None:
        _note("list_attr_celeba.txt is missing: the images have no labels")
    sources = [p for p in (images, attributes, partition) if p is not None]
    key = files_key(sources, {**RECIPE, "split": split, "attributes": attributes is not None,
                              "partition": partition is not None})
    return cached_arrays(cache_dir() / NAME / f"{split}-{key}.npz",
                         lambda: build_split(images, attributes, partition, split))


def load_celeba(cfg: DataConfig, split: str) -> ArrayData:
    arrays = load_arrays(cfg, split)
    if "attributes" not in arrays:
        return ArrayData(x=arrays["x"], y=None, kind="image")
    column = list(arrays["attribute_names"]).index(LABEL_ATTRIBUTE)
    y = arrays["attributes"][:, column].astype(np.int64)
    return ArrayData(x=arrays["x"], y=y, kind="image", classes=[f"not {LABEL_ATTRIBUTE}", LABEL_ATTRIBUTE])


def celeba_attributes(cfg: DataConfig, split: str) -> tuple[np.ndarray, list[str]]:
    """All 40 attributes of a split's images, in the dataset's order: (int8 (N, 40) of 0/1, names)."""
    arrays = load_arrays(cfg, split)
    if "attributes" not in arrays:
        raise DataError("dataset 'celeba' was read without list_attr_celeba.txt; put it beside the images")
    return arrays["attributes"], [str(n) for n in arrays["attribute_names"]]


def celeba_available(cfg: DataConfig) -> Availability:
    try:
        found = find_images(cfg)
    except DataError as e:
        return Availability(False, str(e))
    if found is not None:
        return Availability(True, str(found))
    return available(NAME, [IMAGES_ZIP], cfg)


def celeba_files(cfg: DataConfig) -> list[Path]:
    """The sources the arrays are built from (the zip or the images' folder, the annotations), as found on disk."""
    images = find_images(cfg)
    if images is None:
        return []
    near = [folder / name for folder in dict.fromkeys((images.parent, images.parent.parent))
            for rf in (ATTRIBUTES, PARTITION) for name in rf.names]
    return [images] + [p for p in near if p.is_file()]


register_dataset(DatasetSpec(
    name=NAME, kind="image", profile="image-64", load=load_celeba, available=celeba_available, files=celeba_files,
    recipe=RECIPE,
    description="CelebA faces, 64x64 colour (108 px centre crop), labels: the Male attribute (162,770 train / "
                "19,962 test); downloaded (1.4 GB), or path=img_align_celeba.zip or a folder",
))
