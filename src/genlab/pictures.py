"""Pictures of a trained run, read from its run directory (`genlab pictures DIR`; `genlab train` and
`genlab resume` draw them after training). Every model has its sample grid and loss curves (written by the trainer); models with an
encoder (``models.base.Encodes``: the VAE family and the autoencoding GANs) also get:

    reconstructions.png   rows of test images, each above the row of their reconstructions (rows labelled)
    interpolations.png    decodings of straight lines in z between pairs of test images
    latent.png            test-set posterior means coloured by class (named in the legend): the code itself for 2-D latents,
                          a t-SNE map of it for larger ones
    manifold.png          2-D latents: the decoder's mean over a grid of z at the prior's quantiles
                          (Kingma & Welling 2013, figure 4)

Translation models (``models.base.Translates``: CycleGAN) on images get:

    translations.png      test images of each domain above their translations and cycle reconstructions

Models with latent codes (``models.base.InfersCodes``: InfoGAN) on images get:

    traversals.png        one panel per code: along each row one code varies (every category, or a continuous
                          code from -2 to 2), the noise and the other codes stay fixed
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .errors import DataError
from .load import load_trained, relocated
from .models.base import Encodes, InfersCodes, Translates
from .plots import _pyplot, _save, save_labelled_grid

N_SCATTER = 1000  # test images in the latent scatter (t-SNE cost grows with it)
MAX_LEGEND = 20  # classes named in the latent scatter's legend; more get a colour scale


def make_pictures(path: str | Path, device: str = "cpu", checkpoint: str = "latest", data_path: Optional[str] = None,
                  data_dir: Optional[str] = None) -> list[Path]:
    """Write the pictures that apply to the run at `path`, then its page (``report.html``) with them;
    returns the pictures written. Another `checkpoint` than the latest (best, step-N) names its pictures
    NAME-CHECKPOINT.png. `data_path`, `data_dir`: where the run's data is now, if it moved (``relocated``)."""
    from .data.fingerprint import check_data_unchanged
    from .report.live import refresh_run_report

    run, cfg, model = load_trained(path, device, checkpoint)

    def data():  # only the pictures drawn from data ask where it is now (a GAN's need none)
        moved = relocated(cfg, data_path, data_dir)
        if data_path or data_dir:
            check_data_unchanged(moved.get("data_fingerprint"), moved["data"], f"cannot draw {run.path}'s pictures",
                                 False)
        return _eval_data(moved, model, device)

    written = _draw(run, model, data, "" if checkpoint == "latest" else f"-{checkpoint}")
    refresh_run_report(run.path, final=True)
    return written


def _draw(run, model, eval_data, sfx: str) -> list[Path]:
    encodes = isinstance(model, Encodes)
    translates = isinstance(model, Translates) and model.info.kind == "image"
    if isinstance(model, InfersCodes) and model.info.kind == "image":
        return [_traversals(model, run.samples / f"traversals{sfx}.png")]
    if not (encodes or translates):
        return []
    data, split = eval_data()
    out = run.samples
    written = []
    gen = torch.Generator(device=model.device).manual_seed(0)
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))[:N_SCATTER].to(data.x.device)
    batch = data.batch(idx, gen)
    if translates:
        written.append(_translations(model, batch.x[:8], batch.x_b[:8], out / f"translations{sfx}.png",
                                     f"{run.path.name}: {split} images of each domain"))
    if not encodes:
        return written
    x, y = batch.x, batch.y
    cond_y = y if model.conditional else None
    info = model.info
    if info.kind == "image":
        written.append(_reconstructions(model, x[:32], None if cond_y is None else cond_y[:32],
                                        out / f"reconstructions{sfx}.png", f"{run.path.name}: {split} images"))
        written.append(_interpolations(model, x[:16], None if cond_y is None else cond_y[:16],
                                       out / f"interpolations{sfx}.png", f"{run.path.name}: {split} images"))
    z = model.posterior_mean(x, cond_y)["z1"].cpu().numpy()
    written.append(_latent_scatter(z, None if y is None else y.cpu().numpy(), out / f"latent{sfx}.png",
                                   f"{run.path.name}: posterior means of {len(z)} {split} examples", data.classes))
    if info.kind == "image" and z.shape[1] == 2 and getattr(model.cfg, "layers", 1) == 1 and not model.conditional:
        written.append(_manifold(model, out / f"manifold{sfx}.png", run.path.name))
    return written


def _eval_data(cfg: dict, model, device: str):
    from .config import DataConfig, from_dict
    from .data.base import load_data

    dcfg = from_dict(DataConfig, {**cfg["data"], "subset": 0}, "data")
    try:
        return load_data(dcfg, preferred_range=model.info.range, device=device, split="test"), "test"
    except DataError:  # a user's folder or npz file may have no test split: say so in the pictures
        return load_data(dcfg, preferred_range=model.info.range, device=device, split="train"), "train"


def _to_images(model, x: torch.Tensor) -> np.ndarray:
    return model.info.to_data_space(x).float().cpu().numpy()


TRAVERSAL_ROWS, TRAVERSAL_STEPS = 8, 9


def _traversals(model, path: Path) -> Path:
    """One panel per latent code: rows of fixed noise, the code varied along each row."""
    from .plots import image_grid

    panels = model.traversals(TRAVERSAL_ROWS, TRAVERSAL_STEPS, torch.Generator(device=model.device).manual_seed(0))
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.9), dpi=110, squeeze=False)
    for ax, (title, images) in zip(axes[0], panels):
        ax.imshow(image_grid(_to_images(model, images.flatten(0, 1)), nrow=images.shape[1]))  # a row per z
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


@torch.no_grad()
def _reconstructions(model, x: torch.Tensor, y: Optional[torch.Tensor], path: Path, title: str) -> Path:
    per = min(8, len(x))  # whole rows of `per` images
    x, y = x[:len(x) // per * per], None if y is None else y[:len(x) // per * per]
    rec = model.reconstruct(x, y)
    rows = []
    for i in range(0, len(x), per):  # a row of inputs, then the row of their reconstructions
        rows += [("input", _to_images(model, x[i:i + per])), ("reconstruction", _to_images(model, rec[i:i + per]))]
    return save_labelled_grid(rows, path, f"{title} and their reconstructions")


@torch.no_grad()
def _translations(model, a: torch.Tensor, b: torch.Tensor, path: Path, title: str) -> Path:
    n = min(len(a), len(b))
    rows = model.translation_rows(a[:n], b[:n])  # one row each, e.g. a, G(a), F(G(a)), b, F(b), G(F(b))
    return save_labelled_grid([(label, _to_images(model, r)) for label, r in rows], path,
                              f"{title}: translations (G: a to b, F: b to a) and cycles")


@torch.no_grad()
def _interpolations(model, x: torch.Tensor, y: Optional[torch.Tensor], path: Path, title: str,
                    steps: int = 10) -> Path:
    mu = model.encode(x, y)[0]  # (B, Z)
    a, b = mu[0:len(mu) // 2 * 2:2], mu[1::2]  # pairs of test images
    t = torch.linspace(0, 1, steps, device=mu.device).view(1, steps, 1)
    z = (1 - t) * a.unsqueeze(1) + t * b.unsqueeze(1)  # (P, steps, Z)
    ys = None if y is None else y[0:len(a) * 2:2].repeat_interleave(steps)
    images = _to_images(model, model.decode_mean(z.reshape(-1, z.shape[-1]), ys)).reshape(len(a), steps, *x.shape[1:])
    return save_labelled_grid([(f"pair {i + 1}", row) for i, row in enumerate(images)], path,
                              f"{title}: decodings of (1 - t) z_a + t z_b, z = the posterior means of a pair",
                              columns=[f"t={v:.2g}" for v in t.flatten().tolist()])


@torch.no_grad()
def _manifold(model, path: Path, name: str, n: int = 20) -> Path:
    from statistics import NormalDist

    q = torch.tensor([NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, n)], dtype=torch.float32)
    zy, zx = torch.meshgrid(q.flip(0), q, indexing="ij")  # z2 grows upward, as in the classic figure
    z = torch.stack([zx, zy], dim=-1).view(-1, 2).to(model.device)
    images = _to_images(model, model.decode_mean(z)).reshape(n, n, *model.info.shape)
    every = max(1, n // 5)  # label every few rows and columns
    return save_labelled_grid([(f"z2={v:.2f}" if i % every == 0 else "", row) for i, (v, row) in
                               enumerate(zip(q.flip(0).tolist(), images))], path,
                              f"{name}: the decoder's mean over z at the prior's 5%..95% quantiles",
                              columns=[f"z1={v:.2f}" if j % every == 0 else "" for j, v in enumerate(q.tolist())])


def _latent_scatter(z: np.ndarray, y: Optional[np.ndarray], path: Path, title: str,
                    classes: Optional[list[str]] = None) -> Path:
    if z.shape[1] > 2:
        from sklearn.manifold import TSNE

        z = TSNE(n_components=2, init="pca", perplexity=min(30.0, (len(z) - 1) / 3), random_state=0).fit_transform(z)
        title = title + " (t-SNE)"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5), dpi=100)
    if y is not None and len(np.unique(y)) <= MAX_LEGEND:  # one colour per class, named in the legend
        cmap = plt.get_cmap("tab10" if len(np.unique(y)) <= 10 else "tab20")
        for k in np.unique(y):
            name = classes[k] if classes and k < len(classes) else f"class {k}"
            ax.scatter(z[y == k, 0], z[y == k, 1], s=4, color=cmap(int(k) % cmap.N), label=name, rasterized=True)
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, markerscale=3, frameon=False)
    elif y is not None:  # too many classes to name: a colour scale of the class index
        sc = ax.scatter(z[:, 0], z[:, 1], s=4, c=y, cmap="viridis", rasterized=True)
        fig.colorbar(sc, ax=ax, label="class index")
    else:  # data without labels: one colour (a colour map would warn that it has nothing to map)
        ax.scatter(z[:, 0], z[:, 1], s=4, c="tab:blue", rasterized=True)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
