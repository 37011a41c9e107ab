"""Sample quality and diversity from features: FID, KID, Inception-style score, precision/recall,
density/coverage and classifier-based mode coverage.

Pure functions from feature arrays to flat dicts of numbers (features -> statistics -> metric, as in
torch-fidelity), then the registered metrics that apply them to a run (``genlab evaluate DIR --metrics
fid,kid,is,prdc,classes``). Each registered metric reports its value for generated samples and, with the
suffix ``_real``, the same metric between real training and real test examples (the floor, or for the
score and class metrics the value real data reaches), with the settings both were computed with.

- FID (Heusel et al. 2017): ||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)). Statistics in float64
  (covariance with N - 1); tr (S_r S_g)^(1/2) is the sum of the square roots of the eigenvalues of the
  symmetric matrix S_r^(1/2) S_g S_r^(1/2), which has the same eigenvalues as S_r S_g.
- KID (Binkowski et al. 2018): the unbiased MMD^2 with kernel k(x, y) = (x.y / d + 1)^3, averaged over
  subsets (100 of 1,000 by default, drawn without replacement); mean and (population) standard deviation.
- Inception-style score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) over 10 equal splits; mean
  and standard deviation across splits.
- Improved precision and recall (Kynkaanniemi et al. 2019, k = 3) and density and coverage (Naeem et
  al. 2020, k = 5), with k-nearest-neighbour balls in feature space.
- Mode coverage by the domain classifier: classes present among the samples, KL(sample class histogram ||
  the real examples' histogram), mean confidence; for conditional models, the accuracy of generating the
  class asked for.
"""

from __future__ import annotations

import math
import numpy as np
import torch

from .base import HIGHER, LOWER, NEITHER, EvalContext, NotApplicable, Value, register_metric
from .features import extract
from .samples import FRESH_SAMPLES_SEED, KID_SEED, N_SAMPLES, REAL_SUBSET_SEED, cpu_generator, draw_samples, real_examples

KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000
IS_SPLITS = 10
K_PR, K_DC = 3, 5
ROW_CHUNK = 1000  # rows of a distance matrix computed at once (a fixed value: results do not depend on it)

# ----------------------------------------------------------------------------------------------------
# FID


def gaussian_stats(features: np.ndarray) -> dict[str, np.ndarray]:
    """Mean (D,) and covariance (D, D) in float64, the covariance normalized by N - 1."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D), got shape {x.shape}")
    mu = x.mean(axis=0)
    xc = x - mu
    return {"mu": mu, "sigma": xc.T @ xc / (len(x) - 1)}


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix (negative rounding clipped)."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)), via the symmetric S1^(1/2) S2 S1^(1/2)."""
    s1h = _sqrt_psd(sigma1)
    eig = np.linalg.eigvalsh(s1h @ sigma2 @ s1h)
    tr_sqrt = np.sqrt(np.clip(eig, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt)


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    a, b = gaussian_stats(real), gaussian_stats(fake)
    return frechet_distance(a["mu"], a["sigma"], b["mu"], b["sigma"])


# ----------------------------------------------------------------------------------------------------
# KID


def mmd2_poly_unbiased(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef: float = 1.0) -> float:
    """Unbiased MMD^2 between x (m, D) and y (m', D) with the kernel (x.y / D + coef)^degree, in float64."""
    x, y = x.double(), y.double()
    d = x.shape[1]
    kxx = (x @ x.T / d + coef) ** degree
    kyy = (y @ y.T / d + coef) ** degree
    kxy = (x @ y.T / d + coef) ** degree
    m, n = len(x), len(y)
    sxx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    syy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(sxx + syy - 2 * kxy.mean())


def kid_subsets(n_real: int, n_fake: int, subsets: int, size: int,
                generator: torch.Generator) -> list[dict[str, torch.Tensor]]:
    """Index sets for KID: `subsets` draws of `size` rows without replacement from each set."""
    return [{"real": torch.randperm(n_real, generator=generator)[:size],
             "fake": torch.randperm(n_fake, generator=generator)[:size]} for _ in range(subsets)]


def kid(real: np.ndarray, fake: np.ndarray, subsets: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """KID: mean and population standard deviation of the unbiased MMD^2 over the index sets."""
    r, f = torch.from_numpy(np.asarray(real)), torch.from_numpy(np.asarray(fake))
    values = np.array([mmd2_poly_unbiased(r[s["real"]], f[s["fake"]]) for s in subsets])
    return {"kid": float(values.mean()), "kid_std": float(values.std())}


# ----------------------------------------------------------------------------------------------------
# Inception-style score


def inception_score(probs: np.ndarray, splits: int = IS_SPLITS) -> dict[str, float]:
    """exp(E_x KL(p(y|x) || p(y))) on each of `splits` contiguous equal parts; mean and std over the parts."""
    p = np.asarray(probs, dtype=np.float64)
    if len(p) < splits:
        raise ValueError(f"the score needs at least {splits} examples for {splits} splits, got {len(p)}")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(part > 0, part * (np.log(part) - np.log(py)), 0.0).sum(axis=1)
        scores.append(math.exp(kl.mean()))
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores))}


# ----------------------------------------------------------------------------------------------------
# precision / recall, density / coverage


def _sq_dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (len(a), len(b))."""
    d = (a * a).sum(1, keepdim=True) - 2 * a @ b.T + (b * b).sum(1)[None, :]
    return d.clamp_min_(0)


def knn_radii(x: torch.Tensor, ks: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """For each k: the squared distance of every row of x to its k-th nearest other row (N,)."""
    kmax = max(ks)
    if len(x) <= kmax:
        raise ValueError(f"k = {kmax} nearest neighbours need more than {kmax} examples, got {len(x)}")
    nearest = torch.cat([_sq_dists(x[i: i + ROW_CHUNK], x).topk(kmax + 1, dim=1, largest=False).values
                         for i in range(0, len(x), ROW_CHUNK)])  # (N, kmax + 1); column 0 is the row itself
    return {k: nearest[:, k] for k in ks}


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = K_PR, k_dc: int = K_DC) -> dict[str, float]:
    """Improved precision and recall (k_pr) and density and coverage (k_dc) of fake against real features.

    precision: fraction of fakes inside some real k_pr-NN ball; recall: fraction of reals inside some fake
    k_pr-NN ball; density: real k_dc-NN balls containing each fake, averaged and divided by k_dc;
    coverage: fraction of reals whose k_dc-NN ball contains a fake. One pass over the real x fake distances.
    """
    r = torch.from_numpy(np.asarray(real, dtype=np.float32))
    f = torch.from_numpy(np.asarray(fake, dtype=np.float32))
    r_real = knn_radii(r, (k_pr, k_dc))
    r_fake = knn_radii(f, (k_pr,))[k_pr]
    fake_in_real = torch.zeros(len(f), dtype=torch.bool)  # precision
    fake_counts = torch.zeros(len(f), dtype=torch.float64)  # density
    recalled, covered = [], []
    for i in range(0, len(r), ROW_CHUNK):
        d = _sq_dists(r[i: i + ROW_CHUNK], f)  # (chunk, M)
        fake_in_real |= (d < r_real[k_pr][i: i + ROW_CHUNK, None]).any(0)
        fake_counts += (d < r_real[k_dc][i: i + ROW_CHUNK, None]).sum(0)
        recalled.append((d < r_fake[None, :]).any(1))
        covered.append(d.min(1).values < r_real[k_dc][i: i + ROW_CHUNK])
    return {
        "precision": fake_in_real.double().mean().item(),
        "recall": torch.cat(recalled).double().mean().item(),
        "density": (fake_counts.sum() / (k_dc * len(f))).item(),
        "coverage": torch.cat(covered).double().mean().item(),
    }


# ----------------------------------------------------------------------------------------------------
# classifier mode coverage


def class_coverage(probs: np.ndarray, reference_probs: np.ndarray) -> dict[str, float]:
    """Classes predicted among `probs` (N, K), KL(their histogram || the reference's), mean confidence.

    The reference histogram counts the classifier's predictions on real examples (so its own errors
    cancel), with empty classes given half a count so that the KL stays finite.
    """
    k = probs.shape[1]
    hist = np.bincount(probs.argmax(1), minlength=k) / len(probs)
    ref = np.bincount(reference_probs.argmax(1), minlength=k).astype(np.float64)
    ref = np.maximum(ref, 0.5) / np.maximum(ref, 0.5).sum()
    nz = hist > 0
    return {
        "classes": int(nz.sum()),
        "class_kl": float((hist[nz] * np.log(hist[nz] / ref[nz])).sum()),
        "confidence": float(probs.max(1).mean()),
    }


# ----------------------------------------------------------------------------------------------------
# the registered metrics


def _with_real(value: dict, real_value: dict, settings: dict) -> dict:
    """{key: value, key_real: real-versus-real value, settings} for a metric's flat result dicts."""
    return {**value, **{f"{k}_real": v for k, v in real_value.items()}, "settings": dict(settings)}


SAMPLES = {"n_samples": N_SAMPLES}  # what every sample-quality metric reads
FEATURES = {**SAMPLES, "features": None}  # ... and those computed in a feature space the user picks


@register_metric("fid", "Frechet distance between Gaussian fits of real and generated features (lower is better)",
                 "sample quality", {"fid": LOWER}, settings=FEATURES)
def fid_metric(ctx: EvalContext) -> dict:
    s = ctx.feature_sets()
    ref = gaussian_stats(s.real["features"])
    value = {}
    for name, feats in (("fid", s.fake["features"]), ("fid_real", s.other["features"])):
        other = gaussian_stats(feats)
        value[name] = frechet_distance(ref["mu"], ref["sigma"], other["mu"], other["sigma"])
    return {**value, "settings": dict(s.settings)}


@register_metric("kid", "kernel inception distance: unbiased MMD^2, cubic kernel, mean and std over subsets "
                 "(lower is better)", "sample quality",
                 {"kid": Value(LOWER, scale=1000), "kid_std": Value(NEITHER, scale=1000)},
                 settings={**FEATURES, "kid_subsets": KID_SUBSETS, "kid_subset_size": KID_SUBSET_SIZE})
def kid_metric(ctx: EvalContext) -> dict:
    s = ctx.feature_sets()
    n = ctx.sample_size().n
    count = ctx.config.kid_subsets
    size = min(ctx.config.kid_subset_size, n)
    subsets = kid_subsets(n, n, count, size, cpu_generator(ctx.seed + KID_SEED))
    settings = {**s.settings, "kid_subsets": count, "kid_subset_size": size, "kernel": "(x.y/d + 1)^3"}
    return _with_real(kid(s.real["features"], s.fake["features"], subsets),
                      kid(s.real["features"], s.other["features"], subsets), settings)


@register_metric("is", "Inception-style score exp E KL(p(y|x) || p(y)), 10 splits, from the feature "
                 "extractor's classifier (higher is better)", "sample quality", {"is": HIGHER, "is_std": NEITHER},
                 settings=FEATURES)
def is_metric(ctx: EvalContext) -> dict:
    s = ctx.feature_sets()
    if "probs" not in s.fake:
        raise NotApplicable(f"the score needs class probabilities; --features {s.settings['features']} has "
                            f"none (use classifier or inception)")
    return _with_real(inception_score(s.fake["probs"]), inception_score(s.other["probs"]),
                      {**s.settings, "is_splits": IS_SPLITS})


@register_metric("prdc", f"improved precision/recall (k={K_PR}) and density/coverage (k={K_DC}) in feature "
                 f"space (higher is better; density about 1 for a match)", "sample quality",
                 {"precision": HIGHER, "recall": HIGHER, "density": NEITHER, "coverage": HIGHER}, settings=FEATURES)
def prdc_metric(ctx: EvalContext) -> dict:
    s = ctx.feature_sets()
    return _with_real(prdc(s.real["features"], s.fake["features"]),
                      prdc(s.real["features"], s.other["features"]),
                      {**s.settings, "k_precision_recall": K_PR, "k_density_coverage": K_DC})


def _labelled_images(run_config: dict) -> str | None:
    info = run_config["data_info"]
    if info["kind"] == "image" and info["num_classes"] >= 2:
        return None
    return (f"class coverage needs labelled images; {info['name']!r} is "
            f"{'unlabelled' if info['num_classes'] < 2 else 'not images'}")


@register_metric("classes", "mode coverage by the domain classifier: classes present, KL of the class "
                 "histogram to the data's, mean confidence; conditional models: accuracy of the asked class",
                 "coverage",
                 {"classes": HIGHER, "class_kl": LOWER, "confidence": HIGHER, "conditional_accuracy": HIGHER},
                 settings=SAMPLES, applies=_labelled_images, features="classifier")
def classes_metric(ctx: EvalContext) -> dict:
    s = ctx.feature_sets()
    out = _with_real(class_coverage(s.fake["probs"], s.real["probs"]),
                     class_coverage(s.other["probs"], s.real["probs"]), s.settings)
    if ctx.model.conditional:
        out.update(conditional_accuracy(ctx))
    return out


def conditional_accuracy(ctx: EvalContext) -> dict[str, float]:
    """How often the classifier recognizes the class a conditional model was asked for (classes in turn),
    beside the classifier's accuracy on the reference split's real examples."""
    size = ctx.sample_size()
    n, k = size.n, ctx.model.info.num_classes
    ext = ctx.extractor()
    y = torch.arange(n) % k
    x = draw_samples(ctx.model, n, ctx.seed + FRESH_SAMPLES_SEED, y=y.to(ctx.model.device), dist=ctx.dist)
    batch = ctx.config.batch_size
    pred = extract(ext, x, batch, ctx.device)["probs"].argmax(1)
    labels = real_examples(ctx.data(size.split).y, n, ctx.seed + REAL_SUBSET_SEED).numpy()
    real_pred = extract(ext, ctx.real(size.split, n), batch, ctx.device)["probs"].argmax(1)
    return {"conditional_accuracy": float((pred == y.numpy()).mean()),
            "conditional_accuracy_real": float((real_pred == labels).mean())}
