"""What `genlab report DIR ...` writes: a run's page, a study folder's page, or several runs' comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..errors import ConfigError, RunDirError
from .comparison import write_comparison_report
from .runpage import write_run_report
from .study import STUDY, render_study


def write_report(paths: list[str | Path], out: Optional[str | Path] = None) -> Path:
    """The page of one run directory, of a reproduction's or sweep's folder, or of several runs (`out`
    required); returns the file written."""
    if out is not None and Path(out).suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"--out names the page to write, an .html file; got {str(out)!r}")
    if len(paths) > 1:
        if out is None:
            raise ConfigError("several runs make one comparison page: say where to write it with --out FILE.html")
        return write_comparison_report(paths, out)
    path = Path(paths[0])
    if path.is_dir() and not (path / "config.json").exists():
        if (path / STUDY).exists():
            return render_study(path, out)
        raise RunDirError(f"{path} is neither a run directory (no config.json) nor a study's folder (no {STUDY}); "
                          f"name a run directory made by `genlab train`, or a `genlab reproduce` folder")
    return write_run_report(path, out)
