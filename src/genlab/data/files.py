"""Finding dataset files on disk and downloading the missing ones.

A dataset NAME's files are looked for in ``<root>/<NAME>/<filename>`` for each root of
``search_roots``, in this order:

1. the user's data directory: ``data_dir=DIR`` (``--data-dir DIR``), else ``$GENLAB_DATA``;
2. genlab's cache: ``$GENLAB_CACHE``, else ``$XDG_CACHE_HOME/genlab``, else ``~/.cache/genlab``;
3. the system's dataset directory, ``/usr/share/datasets`` (where Debian's ``dataset-*`` packages put
   their files). Tests and unusual systems can point it elsewhere with ``$GENLAB_SYSTEM_DATA``
   (or by changing ``SYSTEM_DATA_DIR``).

Files that are missing everywhere are downloaded into ``<cache>/<NAME>/`` (when ``download=true``),
streamed to a temporary file in that folder, checked against their checksum and only then renamed to
their final name: an interrupted or corrupted download never leaves a file under the final name.
Checksums are checked only for downloads: files found on disk (Debian re-compresses its copies, so
their checksums differ from the official ones) are validated by the readers' structure checks.

Datasets derived from these files (coloured digits, CelebA cropped to 64x64) keep their arrays in
``<cache>/<NAME>/`` (``cached_arrays``), under a key of the source files' identity (``files_key``) and of
the recipe, written atomically like the downloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..cache import cache_dir
from ..config import DataConfig
from ..errors import DataError
from .base import Availability

SYSTEM_DATA_DIR = "/usr/share/datasets"  # overridden by $GENLAB_SYSTEM_DATA when that is set
CONNECT_TIMEOUT_S = 10.0  # seconds to connect, and the longest stall allowed while reading
CHUNK_BYTES = 1 << 20
USER_AGENT = "genlab (python urllib)"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, where to download it (mirrors, in order) and its checksum.

    ``local_names`` are other names the file may have on disk (e.g. the uncompressed
    ``train-images-idx3-ubyte`` for ``train-images-idx3-ubyte.gz``); they are never downloaded.
    """

    filename: str
    urls: tuple[str, ...]
    md5: Optional[str] = None
    sha256: Optional[str] = None
    local_names: tuple[str, ...] = field(default=())

    def __post_init__(self):
        if not self.urls:
            raise ValueError(f"RemoteFile {self.filename!r} needs at least one URL")
        if (self.md5 is None) == (self.sha256 is None):
            raise ValueError(f"RemoteFile {self.filename!r} needs exactly one of md5 or sha256")

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the file is looked for under, the canonical one first."""
        return (self.filename, *self.local_names)

    def checksum(self) -> tuple[str, str]:
        """(hashlib algorithm, expected lowercase hex digest)."""
        if self.md5 is not None:
            return "md5", self.md5.lower()
        return "sha256", str(self.sha256).lower()


# ----------------------------------------------------------------------------------------------------
# where to look


def user_data_dir(cfg: DataConfig) -> Optional[Path]:
    """The user's data directory: ``cfg.data_dir``, else ``$GENLAB_DATA``, else None."""
    text = cfg.data_dir or os.environ.get("GENLAB_DATA", "")
    return Path(text).expanduser().absolute() if text else None


def system_data_dir() -> Path:
    """The system's dataset directory: ``$GENLAB_SYSTEM_DATA``, else ``SYSTEM_DATA_DIR``."""
    return Path(os.environ.get("GENLAB_SYSTEM_DATA") or SYSTEM_DATA_DIR).expanduser().absolute()


def search_roots(cfg: DataConfig) -> list[Path]:
    """The folders searched for ``<NAME>/<filename>``, in order (duplicates removed)."""
    roots = [user_data_dir(cfg), cache_dir(), system_data_dir()]
    out: list[Path] = []
    for r in roots:
        if r is not None and r not in out:
            out.append(r)
    return out


def locate(name: str, rf: RemoteFile, cfg: DataConfig) -> tuple[Optional[Path], list[Path]]:
    """The first existing file for ``rf`` in the search roots, and every path that was tried."""
    tried: list[Path] = []
    for root in search_roots(cfg):
        for fname in rf.names:
            p = root / name / fname
            tried.append(p)
            if p.is_file():
                return p, tried
    return None, tried


# ----------------------------------------------------------------------------------------------------
# downloading


def _progress_enabled() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


def fetch(url: str, rf: RemoteFile, dest: Path) -> None:
    """Download ``url`` to ``dest`` atomically, verifying ``rf``'s checksum.

    The data is streamed to a temporary file next to ``dest`` and renamed over ``dest`` only once it
    is complete and its checksum matches; the temporary file is removed on every failure (including
    Ctrl-C). Network errors propagate (``OSError``, ``http.client.HTTPException``); a checksum
    mismatch raises DataError naming the URL and the file.
    """
    algo, expected = rf.checksum()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
            with urllib.request.urlopen(req, timeout=CONNECT_TIMEOUT_S) as resp:
                kind = resp.headers.get("Content-Type", "")
                if kind.startswith("text/html") and not rf.filename.endswith((".html", ".htm")):
                    # Google Drive's quota and virus-scan pages, a captive portal's login page ...
                    raise ConnectionError(f"the server sent a web page ({kind}) instead of the file")
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                digest = hashlib.new(algo)
                received = 0
                with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=rf.filename,
                          disable=not _progress_enabled(), leave=False) as bar:
                    while chunk := resp.read(CHUNK_BYTES):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                if total is not None and received != total:
                    raise ConnectionError(f"the connection closed after {received} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if got != expected:
            raise DataError(
                f"the file {rf.filename} downloaded from {url} is corrupt (truncated or altered): its {algo} "
                f"is {got} over the {received} bytes received, expected {expected}. Nothing was saved; try again later, or download the file by hand "
                f"and put it in {dest.parent}/"
            )
        os.replace(tmp, dest)
        done = True
    finally:
        if not done:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def download(name: str, rf: RemoteFile) -> tuple[Optional[Path], list[str]]:
    """Try each mirror of ``rf`` in turn; return (path in the cache or None, one error line per failure).

    Raises DataError when a download is corrupt (checksum mismatch) or the cache cannot be written.
    """
    folder = cache_dir() / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"cannot create genlab's download folder {folder}: {e}. Set GENLAB_CACHE to a writable folder, "
            f"or put the files of dataset {name!r} in DIR/{name}/ and pass --data-dir DIR"
        ) from None
    dest = folder / rf.filename
    errors: list[str] = []
    for url in rf.urls:
        try:
            fetch(url, rf, dest)
            return dest, errors
        except urllib.error.HTTPError as e:
            errors.append(f"{url}: HTTP {e.code} {e.reason}")
        except urllib.error.URLError as e:
            errors.append(f"{url}: {e.reason}")
        except (OSError, http.client.HTTPException, ValueError) as e:
            errors.append(f"{url}: {type(e).__name__}: {e}")
    return None, errors


# ----------------------------------------------------------------------------------------------------
# the public entry points


def find_or_download(name: str, files: Sequence[RemoteFile], cfg: DataConfig,
                     hints: Sequence[str] = (), also_tried: Sequence[Path] = ()) -> dict[str, Path]:
    """Paths of all ``files`` of dataset ``name``: found in the search roots, or downloaded.

    Each file may come from a different root. Missing files are downloaded into the cache when
    ``cfg.download`` is true. When some file can be neither found nor downloaded, one DataError names
    every path tried, the download errors and how to provide the files (``hints`` adds dataset-specific
    ways, e.g. a Debian package; ``also_tried``: other paths the caller looked at, for the message).
    """
    found: dict[str, Path] = {}
    tried: dict[str, list[Path]] = {}
    for rf in files:
        path, paths = locate(name, rf, cfg)
        if path is not None:
            found[rf.filename] = path
        else:
            tried[rf.filename] = paths
    missing = [rf for rf in files if rf.filename not in found]
    if not missing:
        return found
    if not cfg.download:
        raise DataError(_missing_message(name, missing, tried, also_tried, None, hints))
    for rf in missing:
        path, errors = download(name, rf)
        if path is None:
            # the network is down or the mirrors are gone: no point trying the other files
            raise DataError(_missing_message(name, missing, tried, also_tried, errors, hints))
        found[rf.filename] = path
    return found


def available(name: str, files: Sequence[RemoteFile], cfg: DataConfig) -> Availability:
    """Whether every file of ``name`` is on disk (no download), and where; for ``genlab datasets``."""
    dirs: list[str] = []
    missing: list[str] = []
    for rf in files:
        path, _ = locate(name, rf, cfg)
        if path is None:
            missing.append(rf.filename)
        elif str(path.parent) not in dirs:
            dirs.append(str(path.parent))
    if not missing:
        return Availability(True, ", ".join(dirs))
    looked = ", ".join(str(r / name) for r in search_roots(cfg))
    then = "downloads on first use" if cfg.download else "download=false"
    return Availability(False, f"missing {', '.join(missing)} (looked in {looked}); {then}")


def _missing_message(name: str, missing: Sequence[RemoteFile], tried: dict[str, list[Path]],
                     also_tried: Sequence[Path], errors: Optional[list[str]], hints: Sequence[str]) -> str:
    """The one error message for files that are neither on disk nor downloadable."""
    lines = [f"dataset {name!r}: {len(missing)} file(s) not found: {', '.join(rf.filename for rf in missing)}",
             "Looked in:"]
    for rf in missing:
        lines += [f"  {p}" for p in tried[rf.filename]]
    lines += [f"  {p}" for p in also_tried]
    if errors is None:
        lines.append("Downloading is off (download=false); set download=true to fetch the files.")
    else:
        lines.append("Download failed:")
        lines += [f"  {e}" for e in errors]
    lines.append("To fix, do one of:")
    lines.append(f"  - put the files in DIR/{name}/ and pass --data-dir DIR (or set GENLAB_DATA=DIR)")
    lines += [f"  - {h}" for h in hints]
    lines.append(f"  - download them by hand into {cache_dir() / name}/ :")
    lines += [f"      {rf.urls[0]}" for rf in missing]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------
# arrays derived from the files, cached


def files_key(paths: Sequence[Path], recipe: dict) -> str:
    """A short key of source files (path, size, modification time) and of the recipe that turns them into
    arrays: it changes when a file is replaced or the recipe changes, without reading the files."""
    ident = []
    for p in paths:
        st = Path(p).stat()
        ident.append([str(Path(p).absolute()), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"files": ident, "recipe": recipe}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def cached_arrays(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored in ``path`` (.npz); on first use ``build()`` makes them and they are written
    atomically (a temporary file renamed into place), so an interrupted build leaves no cache file behind.
    A damaged cache file is rebuilt; a cache folder that cannot be written is reported and skipped."""
    path = Path(path)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
            print(f"genlab: {path} is damaged; building it again", file=sys.stderr)
    arrays = build()
    try:
        write_npz(path, arrays)
    except OSError as e:
        print(f"genlab: cannot write the cache file {path} ({e}); the data will be built again next time. "
              f"Set GENLAB_CACHE to a writable folder to keep it", file=sys.stderr)
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save arrays as an uncompressed .npz, atomically: a temporary file beside ``path``, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


__all__ = [
    "cached_arrays",
    "files_key",
    "RemoteFile",
    "SYSTEM_DATA_DIR",
    "available",
    "cache_dir",
    "download",
    "fetch",
    "find_or_download",
    "locate",
    "search_roots",
    "system_data_dir",
    "user_data_dir",
]
