"""Data identity: which data a run trained on, and whether it is still the same data.

A fingerprint is a content hash of the arrays genlab reads for a dataset (both splits, as the dataset's
loader returns them: images, labels, class names, a second domain), so that re-encoding a file (a Debian
re-compressed ``.gz``, an npz saved again with the same arrays) keeps it, while any changed example or
label changes it. Hashing reads the data, so the result is cached:

- datasets read from files (``DatasetSpec.files``): on disk, under ``<genlab cache>/fingerprints/``, keyed
  on the files' paths, sizes, modification times and inodes (rewriting a file in place changes the key) and
  on the loader's ``DatasetSpec.recipe`` (a changed recipe makes other arrays of the same files);
- generated and embedded datasets (ring8, digits): once per process.

``train`` records the fingerprint in ``config.json``; ``resume`` and ``evaluate`` compare it with the
data as it is now (``check_data_unchanged``) and the evaluation caches key on it (``data_identity``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..config import DataConfig, from_dict
from ..errors import DataError
from ..registry import DATASETS

FINGERPRINT_VERSION = 1  # bump when the hashed bytes change, so that old cache entries are not used
SPLITS = ("train", "test")
# DataConfig fields that change the arrays a loader returns; the others (binarize, range, subset) are
# applied after loading and are recorded in the run's config
LOADER_FIELDS = ("dataset", "path", "data_dir", "image_size", "channels", "shape", "test_fraction")
_memo: dict[str, dict] = {}


def data_fingerprint(cfg: DataConfig) -> dict:
    """{"sha256": hex digest of every split, "splits": {split: {"n": examples, "sha256": digest}}}.

    A split the dataset does not have (a folder without test/), or whose files are not on this machine, is
    left out."""
    spec = DATASETS.get(cfg.dataset)
    files = spec.files(cfg) if spec.files is not None else None
    key = _cache_key(cfg, files)
    if key in _memo:
        return _memo[key]
    cached = _read_cache(key) if files else None
    if cached is None:
        cached = _compute(cfg)
        if files:
            _write_cache(key, cached)
    _memo[key] = cached
    return cached


def data_identity(data: dict) -> dict:
    """What identifies the data behind a cached evaluation result, for cache keys: the dataset, the
    loader settings that change the arrays, and the content fingerprint (never a path string, which
    two projects can share for different files). `data`: DataConfig fields, as in a run's config."""
    cfg = _data_config(data)
    return {"dataset": cfg.dataset, "image_size": cfg.image_size, "channels": cfg.channels,
            "binarize": cfg.binarize, "fingerprint": data_fingerprint(cfg)["sha256"]}


def check_data_unchanged(recorded: Optional[dict], data: dict, what: str, allow: bool = False) -> Optional[dict]:
    """Compare the fingerprint `recorded` when a run was trained with its data as it is now.

    Raises DataError saying what changed, unless `allow` (``--allow-data-change``). Returns the current
    fingerprint, or None when the run recorded none (made by an older genlab)."""
    if not recorded:
        return None
    now = data_fingerprint(_data_config(data))
    if changed(recorded, now) and not allow:
        raise DataError(f"{what}: the data changed since the run was trained ({describe_change(recorded, now)}); "
                        f"put the original data back, or pass --allow-data-change to go on with the data as it is")
    return now


def changed(old: dict, new: dict) -> bool:
    """Whether a split both fingerprints know differs (a split whose files were missing on one side, such as
    a test split downloaded later, is no change of the data)."""
    a, b = old.get("splits") or {}, new.get("splits") or {}
    common = set(a) & set(b)
    return any(a[s] != b[s] for s in common) if common else old.get("sha256") != new.get("sha256")


def describe_change(old: dict, new: dict) -> str:
    """Which splits differ between two fingerprints, and how ('train: 1500 examples then, 1400 now')."""
    parts = []
    old_splits, new_splits = old.get("splits") or {}, new.get("splits") or {}
    for split in sorted(set(old_splits) & set(new_splits)):
        a, b = old_splits[split], new_splits[split]
        if a == b:
            continue
        if a.get("n") != b.get("n"):
            parts.append(f"{split}: {a.get('n')} examples then, {b.get('n')} now")
        else:
            parts.append(f"{split}: the same number of examples ({b.get('n')}), other content")
    return "; ".join(parts) or "other content"


# ----------------------------------------------------------------------------------------------------


def _data_config(data: dict) -> DataConfig:
    names = {f.name for f in dataclasses.fields(DataConfig)}
    return from_dict(DataConfig, {k: v for k, v in data.items() if k in names}, "data")


def _compute(cfg: DataConfig) -> dict:
    spec = DATASETS.get(cfg.dataset)
    local = dataclasses.replace(cfg, download=False)  # a split whose files are not here is left out, not fetched
    splits = {}
    for split in SPLITS:
        try:
            splits[split] = _digest(spec.load(local, split))
        except DataError:
            continue  # the dataset has no such split, or its files are elsewhere
    if not splits:  # nothing here: load as training would (download, or say what is missing)
        splits["train"] = _digest(spec.load(cfg, "train"))
    total = hashlib.sha256(json.dumps(splits, sort_keys=True).encode()).hexdigest()
    return {"sha256": total, "splits": splits}


def _digest(arrays) -> dict:
    h = hashlib.sha256()
    for name in ("x", "y", "x_b"):
        a = getattr(arrays, name)
        if a is not None:
            a = np.ascontiguousarray(a)
            h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
            h.update(memoryview(a).cast("B"))
    h.update(json.dumps([arrays.kind, arrays.classes]).encode())
    return {"n": int(len(arrays.x)), "sha256": h.hexdigest()}


def _cache_key(cfg: DataConfig, files: Optional[list[Path]]) -> str:
    stats = []
    for p in files or []:
        st = os.stat(p)
        stats.append([str(Path(p).absolute()), st.st_size, st.st_mtime_ns, st.st_ino])
    ident = {"version": FINGERPRINT_VERSION, "data": {k: getattr(cfg, k) for k in LOADER_FIELDS},
             "recipe": DATASETS.get(cfg.dataset).recipe, "files": stats if files is not None else None}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def _cache_file(key: str) -> Path:
    from .files import cache_dir

    return cache_dir() / "fingerprints" / f"{key}.json"


def _read_cache(key: str) -> Optional[dict]:
    try:
        found: Any = json.loads(_cache_file(key).read_text())
    except (OSError, ValueError):
        return None  # not computed yet, or a damaged entry: compute it again
    ok = isinstance(found, dict) and isinstance(found.get("sha256"), str) and isinstance(found.get("splits"), dict)
    return found if ok else None


def _write_cache(key: str, value: dict) -> None:
    from ..rundir import write_json

    file = _cache_file(key)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        write_json(file, value)
    except OSError:
        pass  # a read-only cache only costs the hashing next time
