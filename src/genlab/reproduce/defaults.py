"""`genlab reproduce defaults`: every registered model trained exactly as `genlab train MODEL --dataset NAME`
trains it with no options, on ring8, grid25 and Fashion-MNIST (3 epochs), in one table (GitHub issue 24).

It measures whatever the defaults are when it runs: each run's configs are ``make_configs(model, dataset, {})``
plus only settings that do not change what a run learns (the device, no progress bar) and, on image data,
``epochs=3`` (the issue's "Fashion-MNIST (3 epochs)"); the seed is 0, or 0..N-1 with ``--seeds N``. Re-run it
after any change to a model or the trainer, into a new ``--out``: it is the regression guard of the defaults.

Per model and dataset: on the 2-D mixtures, modes captured and the share of high-quality samples of 2,500
samples (``genlab.metrics.modes``, VEEGAN's count); on images, FID in the domain classifier's features and the
classes present among the samples (10,000 samples in the quick preset), with the real-vs-real floor; and the
run's training wall time, read from its metrics.jsonl (the trainer's clock, carried over a resume), so that a
re-used run reports the time it took when it was trained. A model that cannot train on a dataset (a
translation model on one-domain data, a conditional model on unlabelled data) is left out with the reason.

The checks under the table are the issue's targets, computed from the table's numbers: every GAN-family
model and hybrid captures >= 7 of 8 ring modes with >= 50% high-quality samples and >= 20 of 25 grid modes;
no run on points trains longer than 5 minutes; every image model's samples hold every class; the best GAN
scores FID < 40. Which models are GANs, hybrids or VAEs is read from the model classes (an adversarial
model's config has the generator's and the discriminator's step sizes; a hybrid also encodes; a VAE has a
likelihood bound), not from a list of names.

Each (model, dataset, seed) is its own run directory under ``--out/runs``: an interrupted reproduction picks
up where it stopped (finished runs are re-used, unfinished ones resumed); a run made with other settings
(defaults changed since) is refused before anything trains.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from ..errors import ConfigError, NonFiniteLossError
from ..report.study import write_study_report
from ..sweep.results import mean_se  # None for the standard error of one seed
from . import REPRODUCTIONS, Reproduction, check_same_settings, map_jobs, names_from, train_or_reuse

if TYPE_CHECKING:
    from ..compare import Table

DATASETS = ("ring8", "grid25", "fashion-mnist")
FAMILIES = ("GAN", "hybrid", "VAE", "other")  # the table's order of rows


@dataclass(frozen=True)
class Preset:
    seeds: int
    image_epochs: int  # epochs on image data (0: the defaults' length)
    steps: int  # every run's length in steps (0: the defaults' length); for smoke tests
    n_points: int  # samples the mode counter scores
    n_images: int  # samples scored by FID and the classifier, against as many real test images
    note: str


PRESETS = {
    "quick": Preset(1, 3, 0, 2500, 10_000, "every model at its defaults; 3 epochs on image data; modes counted on "
                                           "2,500 samples, FID and classes on 10,000 samples; one seed by default"),
    "smoke": Preset(1, 0, 3, 500, 200, "a check that the reproduction works, in seconds: 3 steps per run (not the "
                                       "defaults' length), 500 samples on points, 200 on images; seed 0"),
}


@dataclass(frozen=True)
class Targets:
    """Issue 24's bar at the defaults."""

    ring_modes: float = 7  # of 8, for every GAN-family model and hybrid
    ring_hq: float = 50.0  # % high-quality samples on ring8, the same models
    grid_modes: float = 20  # of 25, the same models
    points_minutes: float = 5.0  # the longest training on points
    fid: float = 40.0  # the best GAN's FID on images, classifier features


TARGETS = Targets()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                   help="quick: the defaults' lengths; smoke: 3 steps per run, to see that it works (default: quick)")
    p.add_argument("--models", help="comma-separated registered models (default: every one; see genlab models)")
    p.add_argument("--datasets", default=",".join(DATASETS),
                   help=f"comma-separated: ring8, grid25 and labelled image datasets (default: {','.join(DATASETS)}; "
                        f"digits for a toy check)")
    p.add_argument("--seeds", type=int, help="seeds 0..N-1 (default: the preset's, 1; 3 for the issue's 3-seed "
                                             "target: mean +- standard error)")
    p.add_argument("--epochs", type=int,
                   help="epochs on image data (default: the preset's, 3; 0: the defaults' length)")
    p.add_argument("--steps", type=int, help="every run this many steps instead of its defaults' length (a smoke test)")
    p.add_argument("--n", type=int, help="samples for FID and classes on images (default: the preset's, 10,000)")
    p.add_argument("--out", default="runs/defaults", help="folder for the runs, the table and the pictures (a new "
                                                          "one after each change: the same one re-uses its runs)")
    p.add_argument("--jobs", type=int, default=1, help="runs trained at once, one process each (default 1: more "
                                                       "share the cores and lengthen each run's wall time)")
    p.add_argument("--threads", type=int, help="CPU threads of each run (default: PyTorch's choice, as genlab train, "
                                               "with --jobs 1; the cores shared out with more)")
    p.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"])
    p.add_argument("--data-dir", help="look here first for the image datasets' files")


def family(cls) -> str:
    """GAN (adversarial: its config has the step sizes of a generator and a discriminator), hybrid (adversarial
    with an encoder), VAE (a likelihood bound), or other."""
    from ..models.base import AdversarialOptim, Encodes, HasLikelihood

    if issubclass(cls.Config, AdversarialOptim):
        return "hybrid" if issubclass(cls, Encodes) else "GAN"
    return "VAE" if issubclass(cls, HasLikelihood) else "other"


def not_applicable(cls, info) -> str:
    """Why model class `cls` cannot train on data described by `info` (a DataInfo), or ""."""
    if cls.domains != info.domains:
        return "it translates between two domains; the data holds one" if cls.domains == 2 \
            else "it models one domain; the data holds two"
    if cls.conditional and info.num_classes < 2:
        return "it needs class labels; the data has none"
    return ""


def data_info(dataset: str, data_dir: Optional[str]):
    """The DataInfo of `dataset` (from its test split), refused when the table cannot score it."""
    from ..config import DataConfig
    from ..data.base import load_data
    from ..data.toy import MIXTURES
    from ..registry import DATASETS as REGISTERED

    spec = REGISTERED.get(dataset)
    if spec.kind == "points" and dataset not in MIXTURES:
        raise ConfigError(f"invalid value for --datasets: {dataset} holds points the mode counter does not know; "
                          f"give {' or '.join(MIXTURES)}, or an image dataset")
    info = load_data(DataConfig(dataset=dataset, data_dir=(data_dir or "") if spec.kind == "image" else ""),
                     split="test").info
    if info.kind == "image" and (info.num_classes < 2 or info.domains != 1):
        raise ConfigError(f"invalid value for --datasets: {dataset} is not a labelled one-domain image dataset; FID "
                          f"in the classifier's features and the classes present need one (e.g. fashion-mnist)")
    return info


@dataclass(frozen=True)
class Job:
    model: str
    dataset: str
    kind: str  # points or image
    seed: int
    path: str
    overrides: dict[str, str]
    n: int  # evaluation samples
    device: str  # evaluation device
    threads: Optional[int]


@dataclass
class Result:
    job: Job
    what: str  # trained, resumed, re-used or diverged
    numbers: Optional[dict[str, float]]  # None: diverged
    message: str
    length: str = ""  # how long it trained: "30 epochs = 5,850 steps at batch 512"


def run(args: argparse.Namespace) -> int:
    from ..api import resolve_device
    from ..registry import MODELS

    from .. import models as _models  # noqa: F401  (registration)

    preset = PRESETS[args.preset]
    models = names_from(args.models, MODELS.names(), "model") if args.models else MODELS.names()
    datasets = names_from(args.datasets, list(_dataset_names()), "dataset")
    seeds = preset.seeds if args.seeds is None else args.seeds
    epochs = preset.image_epochs if args.epochs is None else args.epochs
    steps = preset.steps if args.steps is None else args.steps
    n_images = preset.n_images if args.n is None else args.n
    for flag, value, low in (("--seeds", seeds, 1), ("--epochs", epochs, 0), ("--steps", steps, 0),
                             ("--n", n_images, 2), ("--jobs", args.jobs, 1),
                             ("--threads", 1 if args.threads is None else args.threads, 1)):
        if value < low:
            raise ConfigError(f"invalid value for {flag}: {value}; it must be at least {low}")
    infos = {d: data_info(d, args.data_dir) for d in datasets}
    families = {m: family(MODELS.get(m)) for m in models}
    models = sorted(models, key=lambda m: (FAMILIES.index(families[m]), m))
    skipped = {(m, d): why for m in models for d in datasets if (why := not_applicable(MODELS.get(m), infos[d]))}
    device = str(resolve_device(args.device))
    threads = args.threads or (None if args.jobs == 1 else max(1, (os.cpu_count() or 1) // args.jobs))
    out = Path(args.out)
    jobs = []
    for m in models:
        for d in datasets:
            if (m, d) in skipped:
                continue
            kind = infos[d].kind
            overrides = {"device": args.device}
            if kind == "image" and epochs:
                overrides["epochs"] = str(epochs)
            if kind == "image" and args.data_dir:
                overrides["data_dir"] = args.data_dir
            if steps:
                overrides.update(steps=str(steps), epochs="0")
            for seed in range(seeds):
                path = out / "runs" / f"{m}-{d}-s{seed}"
                job = Job(m, d, kind, seed, str(path), {**overrides, "seed": str(seed)},
                          preset.n_points if kind == "points" else n_images, device, threads)
                if (path / "config.json").exists():  # refused now, not after hours of training the others
                    check_same_settings(path, m, d, job.overrides)
                jobs.append(job)
    out.mkdir(parents=True, exist_ok=True)
    for d in datasets:
        if infos[d].kind == "image":  # once, before the workers (each would train its own)
            _classifier(d, args.data_dir)
    print(f"[defaults] {len(jobs)} runs ({len(models)} models x {len(datasets)} datasets x {seeds} seeds, "
          f"{len(skipped) * seeds} left out) in {out / 'runs'}", flush=True)
    results: dict[tuple[str, str], list[Result]] = {(m, d): [] for m in models for d in datasets}
    started = time.time()
    for r in map_jobs(run_job, jobs, args.jobs):
        results[(r.job.model, r.job.dataset)].append(r)
        print(f"[{r.job.model} {r.job.dataset} seed {r.job.seed}] {r.message}", flush=True)
    minutes = (time.time() - started) / 60
    doc = table(results, models, families, datasets, infos, skipped, args, preset, seeds, epochs, steps, device,
                minutes)
    from ..compare import write_outputs

    write_outputs(doc, str(out / "table"))
    figures = [f for d in datasets if (f := samples_figure(out, models, d)) is not None]
    md = doc.markdown()
    print(md)
    print(f"wrote {out / 'table.md'}, {out / 'table.csv'}" + "".join(f", {f}" for f in figures)
          + f" ({minutes:.1f} min)")
    print(f"wrote {write_study_report(out, md, figures, args)}")
    return 0


def _dataset_names():
    """ring8, grid25 and every registered image dataset (whether it is labelled is checked once loaded)."""
    from ..data.toy import MIXTURES
    from ..registry import DATASETS as REGISTERED

    from .. import data as _data  # noqa: F401  (registration)

    yield from MIXTURES
    yield from (name for name, spec in REGISTERED.items() if spec.kind == "image")


def _classifier(dataset: str, data_dir: Optional[str]) -> None:
    from ..config import DataConfig, to_dict
    from ..metrics.classifier import load_classifier

    load_classifier(to_dict(DataConfig(dataset=dataset, data_dir=data_dir or "")))


def training_seconds(path: str | Path) -> Optional[float]:
    """The run's training wall time: the trainer's clock at its last training row of metrics.jsonl (carried over
    resumes; the final checkpoint and pictures after it are not counted). None when no row was logged."""
    from ..rundir import RunDir

    times = [row["time"] for row in RunDir(path).read_metrics() if "metric" not in row and "time" in row]
    return float(times[-1]) if times else None


def run_job(job: Job) -> Result:
    """Train (or resume, or re-use) one run at its defaults and score it; a diverged run has no numbers."""
    import torch

    from ..evaluate import evaluate
    from ..rundir import RunDir

    if job.threads:
        torch.set_num_threads(job.threads)
    try:
        what = train_or_reuse(job.model, job.model, job.dataset, job.path, job.overrides, progress=False,
                              quiet=True, keep_failed=True)
    except NonFiniteLossError as e:  # a result too: counted, not averaged
        return Result(job, "diverged", None, f"diverged: {e}")
    if what == "failed":
        return Result(job, "diverged", None, f"diverged earlier; left out (delete {job.path} to train it again)")
    run = RunDir(job.path)
    seconds, steps, train = training_seconds(job.path), run.read_status()["step"], run.read_config()["train"]
    numbers = {"minutes": None if seconds is None else seconds / 60, "steps": steps}
    length = f"{steps:,} steps at batch {train['batch_size']}"
    if not train["steps"]:
        length = f"{train['epochs']} epochs = {length}"
    if job.kind == "points":
        ev = evaluate(job.path, ["modes"], {"n": job.n, "seed": 0, "device": job.device})["modes"]
        numbers.update(modes=ev["modes"], hq_percent=ev["hq_percent"])
        shown = f"{ev['modes']}/{ev['num_modes']} modes, {ev['hq_percent']:.1f}% high quality"
    else:
        ev = evaluate(job.path, ["fid", "classes"], {"n": job.n, "seed": 0, "device": job.device,
                                                     "features": "classifier"})
        numbers.update(fid=ev["fid"]["fid"], fid_real=ev["fid"]["fid_real"], classes=ev["classes"]["classes"],
                       classes_real=ev["classes"]["classes_real"])
        shown = f"FID {numbers['fid']:.1f}, {numbers['classes']} of {numbers['classes_real']} classes"
    took = "training time not recorded" if seconds is None else f"{seconds / 60:.1f} min of training"
    return Result(job, what, numbers, f"{what} ({steps} steps, {took}): {shown}", length)


# ----------------------------------------------------------------------------------------------------
# the table and its checks

def _numbers(results: list[Result], key: str) -> list[float]:
    return [r.numbers[key] for r in results if r.numbers is not None and r.numbers.get(key) is not None]


def _mean(results: list[Result], key: str) -> Optional[float]:
    return mean_se(_numbers(results, key))[0]


def _cell(results: list[Result], key: str, first: bool):
    """A model's number on one dataset over its seeds: the value (one seed) or mean +- standard error; the
    dataset's first column says how many seeds diverged."""
    from ..compare import Estimate

    values = _numbers(results, key)
    diverged = sum(r.numbers is None for r in results)
    if not values:
        return ("diverged" if diverged else None) if first else None
    mean, se = mean_se(values)
    note = f"{diverged} of {len(results)} seeds diverged" if diverged and first else ""
    return Estimate(mean, se, note)


def columns(datasets: list[str], infos: dict, seeds: int) -> list[tuple[str, str, str, str, str]]:
    """(column, number, label, format, better) per dataset: modes and % HQ on points, FID and classes (and
    their real-vs-real floors) on images, then the training time. Counts are whole numbers for one seed."""
    from ..data.toy import MIXTURES

    count = ".2f" if seeds > 1 else ".0f"
    out = []
    for d in datasets:
        if infos[d].kind == "points":
            k = len(MIXTURES[d]["modes"]())
            out += [(f"{d} modes", "modes", f"{d} modes /{k}", count, "higher"),
                    (f"{d} % HQ", "hq_percent", f"{d} % HQ", ".1f", "higher")]
        else:
            out += [(f"{d} FID", "fid", f"{d} FID", ".1f", "lower"),
                    (f"{d} FID real", "fid_real", f"{d} FID real", ".1f", ""),
                    (f"{d} classes", "classes", f"{d} classes /{infos[d].num_classes}", count, "higher"),
                    (f"{d} classes real", "classes_real", f"{d} classes real", ".0f", "")]
        out.append((f"{d} min", "minutes", f"{d} train min", ".1f", "lower"))
    return out


def table(results: dict, models: list[str], families: dict[str, str], datasets: list[str], infos: dict,
          skipped: dict, args, preset: Preset, seeds: int, epochs: int, steps: int, device: str, minutes: float
          ) -> Table:
    """One ``compare.Table`` (markdown and CSV): a row per model, each dataset's numbers as columns, the
    real-vs-real floors in a last row; the checks and the settings as sections."""
    from ..compare import FLOOR, FLOOR_NOTE, Table

    cols = columns(datasets, infos, seeds)
    rows = []
    for m in models:
        row: list = [m, families[m]]
        for d in datasets:
            mine = [(col, key) for col, key, *_ in cols if col.startswith(f"{d} ")]
            # a floor is one number per dataset (the same for every run): the mean, no standard error
            row += [_mean(results[(m, d)], key) if key.endswith("_real") else
                    _cell(results[(m, d)], key, first=(j == 0)) for j, (col, key) in enumerate(mine)]
        rows.append(row)
    header = ["model", "family"] + [c[0] for c in cols]
    doc = Table(header, rows, labels={c[0]: c[2] for c in cols}, formats={c[0]: c[3] for c in cols},
                directions={c[0]: c[4] for c in cols if c[4]},
                floors={c[0]: c[0].removesuffix(" real") for c in cols if c[1].endswith("_real")},
                floor_label=FLOOR, floor_note=FLOOR_NOTE,
                title=f"genlab's defaults: every model as `genlab train MODEL --dataset NAME` trains it, preset "
                      f"{args.preset}",
                intro=_intro(preset, seeds, epochs, steps, infos, datasets))
    reasons: dict[tuple[str, str], list[str]] = {}
    for (m, d), why in skipped.items():
        reasons.setdefault((m, why), []).append(d)
    doc.notes += [f"not run: {m} on {', '.join(ds)}: {why}" for (m, why), ds in reasons.items()]
    conditional = [m for m in models if _is_conditional(m)]
    if conditional:
        doc.notes.append(f"{', '.join(conditional)}: conditional, given the class (on the mixtures, the mode index) "
                         f"while training; sampled with classes drawn uniformly")
    doc.sections = [("Checks: issue 24's targets (computed from the rows above)",
                     "".join(f"- [{'x' if ok else ' '}] {text}\n"
                             for text, ok in checks(results, models, families, datasets, infos, skipped))),
                    ("Settings", settings(results, models, datasets, args, preset, device, minutes))]
    return doc


def _is_conditional(model: str) -> bool:
    from ..registry import MODELS

    return MODELS.get(model).conditional


def _intro(preset: Preset, seeds: int, epochs: int, steps: int, infos: dict, datasets: list[str]) -> str:
    length = (f"every run {steps} steps (not the defaults' length: a smoke test)" if steps else
              "the defaults' length" + (f" on points, {epochs} epochs on images" if epochs else ""))
    over = "seed 0" if seeds == 1 else f"mean +- standard error over seeds 0..{seeds - 1}"
    parts = [f"Each model trained with `make_configs(model, dataset, {{}})`: {length}; {over}."]
    if any(infos[d].kind == "points" for d in datasets):
        parts.append(f"Points: {preset.n_points:,} samples; a sample is high quality (HQ) within 3 std of its nearest "
                     f"mode, a mode is captured when an HQ sample falls to it (VEEGAN's count).")
    if any(infos[d].kind == "image" for d in datasets):
        parts.append("Images: FID in the domain classifier's features and the classes the classifier finds among the "
                     "samples, N samples against N test images.")
    parts.append("train min: the run's training wall time (the trainer's clock, as the run recorded it).")
    return " ".join(parts)


def _met(text: str, members: dict[str, bool], shown: dict[str, str], also: str = "") -> tuple[str, bool]:
    """A check that every member passes: `text`, how many do, `also`, and the numbers of those that do not."""
    failing = [m for m, ok in members.items() if not ok]
    detail = f"{len(members) - len(failing)} of {len(members)} do" + (f"; {also}" if also else "")
    if failing:
        detail += "; not: " + ", ".join(f"{m} {shown[m]}" for m in failing)
    return f"{text} ({detail})", not failing


def checks(results: dict, models: list[str], families: dict[str, str], datasets: list[str], infos: dict,
           skipped: dict) -> list[tuple[str, bool]]:
    """Issue 24's targets, each computed from the measured runs (means over seeds; a diverged seed fails its
    model). A target with no model to speak of is not written (it would pass with nothing measured)."""
    t = TARGETS
    out = []
    ran = {(m, d): results[(m, d)] for m in models for d in datasets if (m, d) not in skipped}

    def every(rs: list[Result]) -> bool:
        return bool(rs) and all(r.numbers is not None for r in rs)

    adversarial = [m for m in models if families[m] in ("GAN", "hybrid")]
    for d, k, need_hq in (("ring8", t.ring_modes, t.ring_hq), ("grid25", t.grid_modes, None)):
        members = {m: ran[(m, d)] for m in adversarial if (m, d) in ran}
        if not members:
            continue
        ok = {m: every(rs) and _mean(rs, "modes") >= k and (need_hq is None or _mean(rs, "hq_percent") >= need_hq)
              for m, rs in members.items()}
        shown = {m: f"{_mean(rs, 'modes'):.3g} modes at {_mean(rs, 'hq_percent'):.1f}% HQ" if _numbers(rs, "modes")
                 else "diverged" for m, rs in members.items()}
        hq = f" with >= {need_hq:g}% high-quality samples" if need_hq is not None else ""
        out.append(_met(f"{d}: every GAN-family model and hybrid captures >= {k:g} of "
                        f"{len(_modes_of(d))} modes{hq}", ok, shown))
    points = {(m, d): rs for (m, d), rs in ran.items() if infos[d].kind == "points" and _numbers(rs, "minutes")}
    if points:
        longest = {f"{m} on {d}": max(_numbers(rs, "minutes")) for (m, d), rs in points.items()}
        worst = max(longest, key=longest.get)
        out.append(_met(f"no run on points trains longer than {t.points_minutes:g} minutes",
                        {w: v <= t.points_minutes for w, v in longest.items()},
                        {w: f"{v:.1f} min" for w, v in longest.items()},
                        also=f"the longest: {worst}, {longest[worst]:.1f} min"))
    for d in (d for d in datasets if infos[d].kind == "image"):
        members = {m: ran[(m, d)] for m in models if (m, d) in ran}
        if members:
            ok = {m: every(rs) and min(_numbers(rs, "classes")) >= min(_numbers(rs, "classes_real"))
                  for m, rs in members.items()}
            shown = {m: f"{min(_numbers(rs, 'classes')):.0f} of {min(_numbers(rs, 'classes_real')):.0f}"
                     if _numbers(rs, "classes") else "diverged" for m, rs in members.items()}
            out.append(_met(f"{d}: every model's samples hold all {infos[d].num_classes} classes, in every seed", ok,
                            shown))
        fids = {m: _mean(ran[(m, d)], "fid") for m in models if families[m] == "GAN" and (m, d) in ran
                and every(ran[(m, d)])}
        if fids:
            best = min(fids, key=fids.get)
            out.append((f"{d}: the best GAN at its defaults scores FID < {t.fid:g}: {best}, {fids[best]:.1f} "
                        f"(GAN family, no encoder: {', '.join(f'{m} {v:.1f}' for m, v in fids.items())})",
                        fids[best] < t.fid))
    return out


def _modes_of(dataset: str):
    from ..data.toy import MIXTURES

    return MIXTURES[dataset]["modes"]()


def settings(results: dict, models: list[str], datasets: list[str], args, preset: Preset, device: str,
             minutes: float) -> str:
    """The preset, each model's length per dataset (its first seed's that finished) and the wall time."""
    lines = [f"- preset {args.preset}: {preset.note}"]
    for m in models:
        parts = []
        for d in datasets:
            done = [r for r in results[(m, d)] if r.numbers is not None]
            if done:
                parts.append(f"{d} {done[0].length}")
        if parts:
            lines.append(f"- {m}: " + "; ".join(parts))
    threads = args.threads or ("PyTorch's default" if args.jobs == 1 else "the cores shared out")
    lines.append(f"- wall time: {minutes:.1f} min for this invocation (re-used runs cost nothing), {args.jobs} run(s) "
                 f"at a time, {threads} thread(s) each, on {device}; evaluation samples drawn with seed 0")
    return "\n".join(lines) + "\n"


def samples_figure(out: Path, models: list[str], dataset: str) -> Optional[Path]:
    """The final fixed-noise samples of each model's first seed on `dataset`, side by side (None: no run)."""
    import math

    import numpy as np
    from PIL import Image

    from ..plots import _pyplot, _save

    shown = [(m, p) for m in models if (p := out / "runs" / f"{m}-{dataset}-s0" / "samples" / "final.png").exists()]
    if not shown:
        return None
    plt = _pyplot()
    cols = min(6, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 3.0 * rows), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (m, p) in zip(axes.flat, shown):
        ax.imshow(np.asarray(Image.open(p)), cmap="gray")
        ax.set_title(m, fontsize=10)
    fig.suptitle(f"{dataset}: each model's final samples (seed 0)")
    fig.tight_layout()
    return _save(fig, out / f"samples-{dataset}.png")


REPRODUCTIONS.add("defaults", Reproduction(
    "every registered model trained at its defaults (genlab train with no options) on ring8, grid25 and "
    "Fashion-MNIST (3 epochs): modes, % high quality, FID, classes, wall time; issue 24's targets checked",
    add_arguments, run))
