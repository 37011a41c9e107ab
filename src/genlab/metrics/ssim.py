"""Diversity as 1 - mean pairwise MS-SSIM of generated images (Odena et al. 2017; reported by alpha-GAN).

MS-SSIM (Wang, Simoncelli, Bovik 2003): SSIM's contrast-structure term at each of M scales (the image
halved by 2x2 average pooling between scales) and the full SSIM at the coarsest, combined as
prod_j cs_j^w_j * ssim_M^w_M, with Gaussian windows (sigma 1.5), data range 1, C1 = 0.01^2, C2 = 0.03^2
and negative terms clipped to 0 (as common implementations do).

The standard form uses 5 scales and an 11x11 window, which needs images of at least 176 pixels a side.
For the small images genlab works with, ``ms_ssim_plan`` uses a 7x7 window and as many scales (at most
5) as keep the coarsest image at least as large as the window, with the standard weights of those scales
renormalized to sum to 1: 28x28 gets 3 scales (28, 14, 7), 32x32 gets 3 (32, 16, 8), 8x8 gets 1 (plain
SSIM). Numbers for different image sizes are therefore not comparable with each other or with papers
that used 64x64 or larger images.

``--diversity within-class`` (the ``diversity`` setting) computes the number per class and averages over classes, as the alpha-GAN talk
reports it (a model that draws varied images of one class each time is not diverse within any class):
generated images are grouped by the domain classifier's prediction, real ones by their labels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import HIGHER, EvalContext, NotApplicable, register_metric
from .samples import N_SAMPLES, REAL_SUBSET_SEED, real_examples

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SIGMA = 1.5
C1, C2 = 0.01**2, 0.03**2
PAIR_CHUNK = 500


def ms_ssim_plan(side: int) -> dict:
    """Window size, number of scales and their weights for square-ish images whose smaller side is `side`."""
    if side >= 11 * 2 ** (len(WEIGHTS) - 1):
        window, scales = 11, len(WEIGHTS)
    else:
        window = min(7, side if side % 2 else side - 1)
        scales = 1
        while scales < len(WEIGHTS) and side // 2**scales >= window:
            scales += 1
    w = torch.tensor(WEIGHTS[:scales], dtype=torch.float64)
    return {"window": window, "scales": scales, "weights": (w / w.sum()).tolist()}


def _gaussian_window(size: int, sigma: float = SIGMA) -> torch.Tensor:
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-t**2 / (2 * sigma**2))
    return g / g.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Images (B, C, H, W) blurred by a Gaussian of standard deviation `sigma` pixels, same size (edges
    replicated, so a constant image stays constant); the window spans 3 sigma each side."""
    radius = max(1, int(3 * sigma + 0.5))
    g = _gaussian_window(2 * radius + 1, sigma).to(x)
    return _separable(F.pad(x, (radius, radius, radius, radius), mode="replicate"), g)


def _separable(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """x (B, C, H, W) convolved with the 1-D window g along the width, then the height, per channel (valid)."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term per image (B,), Gaussian-weighted over valid windows."""
    def blur(t):
        return _separable(t, g)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    cs = (2 * cxy + C2) / (vx + vy + C2)
    lum = (2 * mx * my + C1) / (mx**2 + my**2 + C1)
    return {"ssim": (lum * cs).flatten(1).mean(1), "cs": cs.flatten(1).mean(1)}


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of each pair of images x[i], y[i] (B, C, H, W) in [0, 1]; returns (B,) in float64."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ms_ssim needs two (B, C, H, W) batches of the same shape, got {x.shape} and {y.shape}")
    plan = ms_ssim_plan(min(x.shape[-2:]))
    g = _gaussian_window(plan["window"])
    x, y = x.double(), y.double()
    out = torch.ones(len(x), dtype=torch.float64)
    for j, w in enumerate(plan["weights"]):
        terms = _ssim_terms(x, y, g)
        last = j == plan["scales"] - 1
        out = out * (terms["ssim"] if last else terms["cs"]).clamp_min(0) ** w
        if not last:
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return out


def mean_ms_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean MS-SSIM over the pairs (a[i], b[i]), computed in fixed-size chunks."""
    total = sum(ms_ssim(a[i: i + PAIR_CHUNK], b[i: i + PAIR_CHUNK]).sum().item()
                for i in range(0, len(a), PAIR_CHUNK))
    return total / len(a)


def within_class_diversity(x: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """1 - mean MS-SSIM over pairs of images of the same class, computed per class and averaged over the
    classes that hold at least two images (pairs i, i + n_k / 2 within class k, in the order given)."""
    per_class = []
    for k in range(num_classes):
        idx = (labels == k).nonzero().flatten()
        pairs = len(idx) // 2
        per_class.append(1 - mean_ms_ssim(x[idx[:pairs]], x[idx[pairs: 2 * pairs]]) if pairs else None)
    used = [v for v in per_class if v is not None]
    if not used:
        raise NotApplicable("within-class diversity needs two images of one class; no class has two")
    return {"diversity": sum(used) / len(used), "per_class": per_class, "classes_used": len(used)}


def _images(run_config: dict) -> str | None:
    info = run_config["data_info"]
    return None if info["kind"] == "image" else f"diversity (MS-SSIM) is for images; {info['name']!r} holds points"


@register_metric("diversity", "1 - mean MS-SSIM between pairs of generated images (higher is more diverse); "
                 "--diversity within-class: per class (by the domain classifier) and averaged",
                 "sample quality", {"diversity": HIGHER, "classes_used": HIGHER},
                 settings={"n_samples": N_SAMPLES, "diversity": "all"}, applies=_images, features="classifier")
def diversity_metric(ctx: EvalContext) -> dict:
    info = ctx.model.info
    mode = ctx.config.diversity
    size = ctx.sample_size()
    n = size.n
    pairs = n // 2
    x = ctx.samples(n)
    ref, other = ctx.real(size.split, n), ctx.real(size.other, n)
    plan = ms_ssim_plan(min(info.shape[-2:]))
    settings = {"n_fake": n, "n_real": n, "reference_split": size.split, "diversity_mode": mode,
                "ms_ssim_scales": plan["scales"], "ms_ssim_window": plan["window"], "ms_ssim_sigma": SIGMA}
    if mode == "within-class":
        return {**_within_class(ctx, x, ref, n), "settings": settings}
    return {
        "diversity": 1 - mean_ms_ssim(x[:pairs], x[pairs: 2 * pairs]),
        "diversity_real": 1 - mean_ms_ssim(other[:pairs], ref[:pairs]),
        "settings": {**settings, "n_pairs": pairs,
                     "pairs": "samples i and i + N/2; real: other split i with reference split i"},
    }


def _within_class(ctx: EvalContext, x: torch.Tensor, ref: torch.Tensor, n: int) -> dict:
    """Within-class diversity of the samples (classes: the domain classifier's argmax) and of the reference
    images (classes: their labels), as the alpha-GAN talk reports it."""
    info = ctx.model.info
    if info.num_classes < 2:
        raise NotApplicable(f"within-class diversity needs labelled images; {info.name!r} has no labels")
    sets = ctx.feature_sets()  # the domain classifier's (the metric's features)
    fake = within_class_diversity(x, torch.from_numpy(sets.fake["probs"].argmax(1)), info.num_classes)
    labels = real_examples(ctx.data(ctx.sample_size().split).y, n, ctx.seed + REAL_SUBSET_SEED)
    true = within_class_diversity(ref, labels, info.num_classes)
    return {"diversity": fake["diversity"], "diversity_real": true["diversity"], "classes_used": fake["classes_used"],
            "diversity_per_class": fake["per_class"], "diversity_per_class_real": true["per_class"]}
