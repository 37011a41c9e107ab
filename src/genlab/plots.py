"""Pictures written into run directories: sample grids, 2-D scatter plots and loss curves (PNG)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

from .rundir import atomic_path

PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}  # by file name suffix; PNG otherwise


def _format(path: Path) -> str:
    return PICTURE_FORMATS.get(path.suffix.lower(), "PNG")


GRID_WIDTH = 480  # pixels: grids are scaled up (by whole pixels) to at least this width, to be readable
GRID_MAX_SCALE = 8
GRID_MAX_IMAGES = 256  # `genlab sample --grid` draws at most this many (all of them go to --out)


def image_grid(x: np.ndarray, nrow: Optional[int] = None, pad: int = 2, min_cell: int = 28,
               min_width: int = GRID_WIDTH) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> (rows*H', cols*W', 3) uint8; images scaled up by a whole factor (at most
    GRID_MAX_SCALE) to `min_cell` pixels each and to a grid at least `min_width` pixels wide."""
    n, c, h, w = x.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(n))))
    cols = min(n, nrow)
    scale = max(1, math.ceil(min_cell / max(h, w)), math.ceil(((min_width - pad) / cols - pad) / w))
    scale = min(scale, max(GRID_MAX_SCALE, math.ceil(min_cell / max(h, w))))
    x = np.repeat(np.repeat(x, scale, axis=2), scale, axis=3)
    h, w = h * scale, w * scale
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    ncol = int(math.ceil(n / nrow))
    grid = np.full((3, ncol * (h + pad) + pad, nrow * (w + pad) + pad), 0.5, dtype=np.float32)
    for i in range(n):
        r, col = divmod(i, nrow)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = x[i]
    return (np.clip(grid, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)


def save_image_grid(x: np.ndarray, path: str | Path, nrow: Optional[int] = None) -> Path:
    from PIL import Image

    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(image_grid(np.asarray(x, dtype=np.float32), nrow)).save(tmp, format=_format(path))
    return path


def save_labelled_grid(rows: list[tuple[str, np.ndarray]], path: str | Path, title: str,
                       columns: Optional[list[str]] = None) -> Path:
    """Rows of images (each (K, C, H, W) in [0, 1], the same K) in one picture with a title, each row's label
    on its left and, if given, a label over each column."""
    ncol = len(rows[0][1])
    if any(len(r) != ncol for _, r in rows):
        raise ValueError(f"rows of {sorted({len(r) for _, r in rows})} images: every row needs {ncol}")
    grid = image_grid(np.concatenate([np.asarray(r, dtype=np.float32) for _, r in rows]), nrow=ncol)
    plt = _pyplot()
    height, width = grid.shape[:2]
    dpi = 100
    fig_w, fig_h = width / dpi + 1.6, height / dpi + 0.7  # inches: the grid at 1:1, room for labels and title
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=dpi)
    ax = fig.add_axes([1.5 / fig_w, 0.1 / fig_h, width / dpi / fig_w, height / dpi / fig_h])
    ax.imshow(grid, interpolation="nearest")
    row_h, col_w = height / len(rows), width / ncol
    ax.set_yticks([row_h * (i + 0.5) for i in range(len(rows))], [label for label, _ in rows], fontsize=8)
    if columns:
        ax.set_xticks([col_w * (j + 0.5) for j in range(ncol)], columns, fontsize=7)
        ax.xaxis.tick_top()
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.suptitle(title, fontsize=9, y=1 - 0.05 / fig_h, va="top")
    return _save(fig, path)


def save_points(samples: np.ndarray, path: str | Path, reference: Optional[np.ndarray] = None,
                title: str = "") -> Path:
    """Scatter of 2-D samples (blue) over reference data points (grey). Points of more dimensions show their
    first two coordinates; 1-D points are spread over the y axis by their rank, to show their density."""
    samples, reference = _as_2d(samples), None if reference is None else _as_2d(reference)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=2, c="0.75", label="data", rasterized=True)
    ax.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:blue", alpha=0.6, label="samples", rasterized=True)
    if reference is not None:
        lo = np.minimum(reference.min(0), np.percentile(samples, 1, axis=0)) - 0.5
        hi = np.maximum(reference.max(0), np.percentile(samples, 99, axis=0)) + 0.5
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4, fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, path)


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    if x.shape[1] >= 2:
        return x[:, :2]
    rank = np.argsort(np.argsort(x[:, 0])) / max(1, len(x) - 1)  # (N,) in [0, 1]
    return np.stack([x[:, 0], rank], axis=1)


def plot_curves(rows: list[dict], path: str | Path, title: str = "") -> Optional[Path]:
    """One panel per logged term against the step, then one per number of the evaluations during training
    (eval rows, ``{"step", "metric", NUMBER: value, "settings"}``), titled "NUMBER (eval)"."""
    series: dict[str, list[tuple[int, float, float]]] = {}  # name -> (step, value, standard error or 0)
    for r in rows:
        evaluated = "metric" in r
        for k, v in r.items():
            if k in ("step", "epoch", "time", "metric", "settings") or not isinstance(v, (int, float)):
                continue
            if evaluated and k.endswith(("_se", "_std")):  # drawn as the error bars of their number
                continue
            se = r.get(f"{k}_se", r.get(f"{k.rsplit('_', 1)[0]}_se", 0.0)) if evaluated else 0.0
            series.setdefault(f"{k} (eval)" if evaluated else k, []).append((r["step"], v, se))
    keys = sorted(series, key=lambda k: k.endswith(" (eval)"))  # training terms first, in logged order
    if not rows or not keys:
        return None
    plt = _pyplot()
    ncol = min(3, len(keys))
    nrows = int(math.ceil(len(keys) / ncol))
    fig, axes = plt.subplots(nrows, ncol, figsize=(4 * ncol, 2.8 * nrows), dpi=100, squeeze=False)
    for ax, k in zip(axes.flat, keys):
        s, v, se = zip(*series[k])
        if k.endswith(" (eval)"):
            ax.errorbar(s, v, yerr=se if any(se) else None, lw=1.2, marker="o", ms=3, capsize=2)
        else:
            ax.plot(s, v, lw=1.2)
        ax.set_title(k, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def epoch_picks(files: list[Path], panels: int = 3) -> list[Path]:
    """`panels` files evenly spread from the first to the last (fewer when there are fewer)."""
    if not files:
        return []
    return sorted({files[round(i * (len(files) - 1) / max(1, panels - 1))] for i in range(panels)})


def samples_over_epochs(samples_dir: str | Path, path: str | Path, panels: int = 3) -> Optional[Path]:
    """The fixed-noise pictures of the first, middle and last epochs (``epoch-NNNN.png``) side by side, as
    GAN papers show training; None when the run saved no per-epoch picture."""
    picks = epoch_picks(sorted(Path(samples_dir).glob("epoch-*.png")), panels)
    if not picks:
        return None
    from PIL import Image

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(picks), figsize=(4 * len(picks), 4.3), dpi=100, squeeze=False)
    for ax, f in zip(axes[0], picks):
        with Image.open(f) as im:
            ax.imshow(np.asarray(im.convert("RGB")))
        ax.set_title(f"epoch {int(f.stem.split('-')[1])}", fontsize=11)
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    plt = _pyplot()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=_format(path).lower())
    plt.close(fig)
    return path
