"""`genlab models` and `genlab metrics` without loading PyTorch.

Their text comes from registries whose modules import torch (2-5 s on a small machine). The first call makes
the text and stores it in genlab's cache folder (``listings/``); later calls print the stored text, as long as
it was made by the same genlab version, the same Python and the same source files: the path, size and
modification time of every .py file of the installed package, so that an edited or upgraded genlab makes it
again. A stored listing that cannot be read, or is damaged, is made again and rewritten; one that cannot be
written (a read-only or full disk) is not stored: the listing printed is the same either way.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from . import __version__
from .cache import cache_dir

PACKAGE = Path(__file__).resolve().parent


def source_fingerprint(package: Path = PACKAGE) -> list[tuple[str, int, int]]:
    """(path, size, modification time in ns) of every .py file under `package`, in a fixed order."""
    out = []
    for folder, subfolders, files in os.walk(package):
        subfolders.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                st = os.stat(path)
                out.append((os.path.relpath(path, package), st.st_size, st.st_mtime_ns))
    return out


def listing(words: list[str], make: Callable[[], str], registering_module: str) -> str:
    """The text of the listing `words` (e.g. ["models", "vae"]): the stored one, or `make()`'s, then stored.

    When `registering_module` (the module whose import fills the registry) is already imported, the text is
    made and not stored: nothing would be saved, and the registry may hold entries added by this process."""
    if registering_module in sys.modules:
        return make()
    key = hashlib.sha256(json.dumps([__version__, sys.version, source_fingerprint()]).encode()).hexdigest()
    where = hashlib.sha256(json.dumps([str(PACKAGE), words]).encode()).hexdigest()[:24]
    file = cache_dir() / "listings" / f"{where}.json"
    text = _stored(file, key)
    if text is None:
        text = make()
        _store(file, key, words, text)
    return text


def _stored(file: Path, key: str) -> Optional[str]:
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, unreadable or damaged: made again
        return None
    if isinstance(stored, dict) and stored.get("key") == key and isinstance(stored.get("text"), str):
        return stored["text"]
    return None


def _store(file: Path, key: str, words: list[str], text: str) -> None:
    from .rundir import atomic_path

    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(file) as tmp:
            tmp.write_text(json.dumps({"key": key, "words": words, "text": text}), encoding="utf-8")
    except OSError:  # not stored: the next call makes it again (the user asked for a listing, not a cache)
        pass
