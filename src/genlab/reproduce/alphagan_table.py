"""`genlab reproduce alphagan-table`: DCGAN, WGAN-GP and alpha-GAN under matched budgets, scored as the
alpha-GAN talk scores them (Rosca, Lakshminarayanan, Warde-Farley & Mohamed 2017, "Variational Approaches
for Auto-Encoding Generative Adversarial Networks", and the talk that presented it).

The talk compares the three on ColorMNIST, CelebA and CIFAR-10 with four numbers, and genlab adds two:
- the Inception Score, exp E KL(p(y|x) || p(y)), from genlab's domain classifier by default (``--features
  inception``: ImageNet Inception, the optional extra), higher is better;
- within-class diversity, 1 - MS-SSIM over pairs of samples of one class, per class and averaged (the
  ``diversity`` metric with ``--diversity within-class``; samples' classes from the domain classifier), to be
  compared with the real images' value: lower means less diverse than the data;
- the independent Wasserstein critic (a fresh WGAN-GP critic trained on training images against samples)
  measured on held-out images and on training images it never saw: the talk's overfitting check (a model
  that memorized its training set is closer to training images than to held-out ones);
- FID and class coverage (classes present among the samples, KL of their histogram to the data's).

Matched budgets: every model trains with the same batch size for the same number of generator updates,
with networks of the same shape (DCGAN convolutions; G's input of the same size). ``quick`` trains on
``color-fashion-mnist`` on a CPU, with WGAN-GP's ``ttur`` preset (one critic update per generator update, at
four times G's step size): with the paper's five critic updates it would see five times the data.
``paper`` trains on CIFAR-10 (``--preset cifar10`` networks) and CelebA (``--preset celeba64``) on a GPU,
with WGAN-GP's own five critic updates per generator update.

Each run is a run directory under ``--out/DATASET/MODEL``: an interrupted reproduction picks up where it
stopped. The checks under the table are computed from the measured numbers.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from . import REPRODUCTIONS, Reproduction, train_or_reuse

NAMES = ("dcgan", "wgan-gp", "alphagan")
METRICS = ["is", "diversity", "critic", "fid", "classes"]
# the talk's numbers beside ours where the protocol matches: none could be found (see the table's note)
PUBLISHED: dict[tuple[str, str], dict[str, float]] = {}


@dataclass(frozen=True)
class Setting:
    """One dataset of a protocol and each model's settings on it (on top of its defaults)."""

    dataset: str
    models: dict[str, dict[str, str]]


@dataclass(frozen=True)
class Protocol:
    settings: tuple[Setting, ...]
    batch_size: int
    epochs: int  # used when steps == 0 (every model draws one batch per generator update then)
    steps: int  # generator updates
    n_eval: int
    critic_steps: int
    note: str
    checks: tuple[str, ...] = field(default=())  # the checks measured to hold under this protocol


# 28x28 colour: DCGAN networks of width 64 and a 64-dimensional z for every model
QUICK_MODELS = {
    "dcgan": {"noise_dim": "64"},
    "wgan-gp": {"preset": "ttur", "noise_dim": "64", "net": "conv"},
    "alphagan": {"latent_dim": "64", "net": "conv", "init": "dcgan"},
}


def _paper_models(preset: str) -> dict[str, dict[str, str]]:
    return {name: {"preset": preset} for name in NAMES}


PROTOCOLS = {
    "quick": Protocol(
        (Setting("color-fashion-mnist", QUICK_MODELS),), 64, 2, 0, 5000, 500,
        "a CPU budget: 2 epochs at batch 64 (1,874 generator updates) for every model, metrics on 5,000 samples "
        "against 5,000 test images",
        checks=("classes", "no-overfitting", "critic-floor")),
    "paper": Protocol(
        (Setting("cifar10", _paper_models("cifar10")), Setting("celeba", _paper_models("celeba64"))), 64, 0,
        50_000, 10_000, 2000,
        "50,000 generator updates at batch 64 for every model (WGAN-GP with its 5 critic updates each), metrics "
        "on 10,000 samples against 10,000 test images (a GPU job)",
        checks=("classes", "no-overfitting", "critic-floor")),
}

# (column, metric, key, format, better): what the table shows, in order
COLUMNS = [
    ("IS", "is", "is", ".2f", "higher"),
    ("1-MS-SSIM within class", "diversity", "diversity", ".3f", "as real"),
    ("critic, held-out", "critic", "critic", ".3f", "lower"),
    ("critic, training", "critic", "critic_other", ".3f", "lower"),
    ("FID", "fid", "fid", ".1f", "lower"),
    ("classes", "classes", "classes", "d", "higher"),
    ("class KL", "classes", "class_kl", ".3f", "lower"),
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=sorted(PROTOCOLS), default="quick", help="protocol (default: quick)")
    p.add_argument("--dataset", help="run only this dataset of the protocol, or the quick protocol on another "
                   "colour dataset (e.g. color-mnist; color-digits for a smoke run)")
    p.add_argument("--out", default="runs/alphagan-table", help="folder for the runs, the table and the figures")
    p.add_argument("--epochs", type=int, help="override the protocol's length in epochs (the same for every model)")
    p.add_argument("--steps", type=int, help="override the protocol's length in generator updates")
    p.add_argument("--n", type=int, help="override the protocol's number of samples per metric")
    p.add_argument("--critic-steps", type=int, help="override the independent critic's training steps")
    p.add_argument("--features", choices=["classifier", "inception"], default="classifier",
                   help="features of IS and FID (default classifier; inception needs genlab[inception])")
    p.add_argument("--models", default=",".join(NAMES), help=f"comma-separated (default: {','.join(NAMES)})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"])
    p.add_argument("--data-dir", help="look here first for the datasets' files")


def settings_to_run(proto: Protocol, dataset: str | None) -> list[Setting]:
    """The protocol's datasets, or the one asked for (another dataset takes the first setting's models)."""
    if dataset is None:
        return list(proto.settings)
    chosen = [s for s in proto.settings if s.dataset == dataset]
    return chosen or [Setting(dataset, proto.settings[0].models)]


def run(args: argparse.Namespace) -> int:
    from ..api import resolve_device
    from ..evaluate import evaluate

    proto = PROTOCOLS[args.preset]
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in names if m not in NAMES]
    if bad or not names:
        raise ConfigError(f"unknown model {', '.join(bad) or '(none given)'} for alphagan-table; "
                          f"choose from: {', '.join(NAMES)}")
    if args.epochs is not None and args.steps is not None:
        raise ConfigError("give --epochs or --steps, not both")
    length = ({"epochs": str(args.epochs), "steps": "0"} if args.epochs else
              {"epochs": "0", "steps": str(args.steps)} if args.steps else
              {"epochs": str(proto.epochs), "steps": str(proto.steps)})
    n_eval, critic_steps = args.n or proto.n_eval, args.critic_steps or proto.critic_steps
    if min(int(length["epochs"]) + int(length["steps"]), n_eval - 1, critic_steps) < 1:
        raise ConfigError("--epochs or --steps, --critic-steps must be at least 1 and --n at least 2")
    device = str(resolve_device(args.device))
    out = Path(args.out)
    t0 = time.time()
    sections = []
    for setting in settings_to_run(proto, args.dataset):
        results: dict[str, dict] = {}
        for name in names:
            path = out / setting.dataset / name
            overrides = {**length, "batch_size": str(proto.batch_size), "seed": str(args.seed),
                         "device": args.device, "sample_every": "1", "log_every": "100", **setting.models[name]}
            if args.data_dir:
                overrides["data_dir"] = args.data_dir
            started = time.time()
            train_or_reuse(name, name, setting.dataset, path, overrides)
            trained = time.time() - started
            started = time.time()
            results[name] = evaluate(path, METRICS, {"n": n_eval, "seed": args.seed, "device": device,
                                                     "critic_steps": critic_steps, "features": args.features,
                                                     "diversity": "within-class"})
            print(f"[{setting.dataset}/{name}] IS {results[name]['is']['is']:.2f}, FID {results[name]['fid']['fid']:.1f} "
                  f"(train {trained:.0f} s, evaluate {time.time() - started:.0f} s)", flush=True)
        from .vae_vs_gan import samples_figure

        figure = samples_figure(out / setting.dataset, names)
        sections.append((setting, results, figure))
    from ..compare import write_outputs

    result = table(sections, names, args, proto, length, n_eval, critic_steps, time.time() - t0)
    write_outputs(result, str(out / "table"))
    print(result.markdown())
    print(f"wrote {out / 'table.md'}, {out / 'table.csv'} and "
          + ", ".join(str(figure) for _, _, figure in sections))
    return 0


def _value(ev: dict, metric: str, key: str):
    return ev.get(metric, {}).get(key)


def checks(results: dict, names: list[str], which: tuple[str, ...]) -> list[tuple[str, bool]]:
    """The statements measured to hold under the protocol (``which``), computed again from these numbers."""
    out = []
    get = lambda n, m, k: results[n][m][k]  # noqa: E731
    first = results[names[0]]
    if "classes" in which:
        k_real = first["classes"]["classes_real"]
        out.append((f"every model's samples hold all {k_real} classes the classifier finds in real images ("
                    + ", ".join(f"{n} {get(n, 'classes', 'classes')}" for n in names) + ")",
                    all(get(n, "classes", "classes") >= k_real for n in names)))
    if "no-overfitting" in which:
        # the talk's overfitting check: a critic trained on training images finds the samples no closer to other
        # training images than to held-out ones (within the real-versus-real floor's size)
        tol = max(abs(first["critic"]["critic_real"]), 0.05)
        gaps = {n: get(n, "critic", "critic") - get(n, "critic", "critic_other") for n in names}
        out.append((f"no model is closer to its training images than to held-out ones: critic(held-out) - "
                    f"critic(training) within {tol:.3f} (" + ", ".join(f"{n} {g:+.3f}" for n, g in gaps.items()) + ")",
                    all(g <= tol for g in gaps.values())))
    if "critic-floor" in which:
        real = first["critic"]["critic_real"]
        out.append((f"the independent critic tells every model from real images better than real from real ("
                    + ", ".join(f"{n} {get(n, 'critic', 'critic'):.3f}" for n in names) + f" > {real:.3f})",
                    all(get(n, "critic", "critic") > real for n in names)))
    return out


def table(sections: list, names: list[str], args, proto: Protocol, length: dict, n_eval: int, critic_steps: int,
          seconds: float):
    """One ``compare.Table`` (markdown and CSV): a row per dataset and model, the real data's row (training
    against test images) after each dataset's models, the talk's rows where there are any; each dataset's
    checks and features as a section, then the settings."""
    from ..compare import Table

    header = ["dataset", "model"] + [c[0] for c in COLUMNS]
    t = Table(header, [], title=f"DCGAN, WGAN-GP and alpha-GAN as the alpha-GAN talk compares them, reproduced by "
                                f"genlab: preset {args.preset}",
              labels={c[0]: f"{c[0]} ({c[4]})" for c in COLUMNS}, formats={c[0]: c[3] for c in COLUMNS if c[3] != "d"})
    for setting, results, figure in sections:
        first = results[names[0]]
        t.rows += [[setting.dataset, n] + [_value(results[n], c[1], c[2]) for c in COLUMNS] for n in names]
        t.rows.append([setting.dataset, "real data"] + [_value(first, c[1], f"{c[2]}_real") for c in COLUMNS])
        t.rows += [[setting.dataset, f"{n} (the talk)"] + [PUBLISHED[(setting.dataset, n)].get(c[0]) for c in COLUMNS]
                   for n in names if (setting.dataset, n) in PUBLISHED]
        settings = first["fid"]["settings"]
        t.sections.append((f"{setting.dataset}: checks (computed from the rows above)",
                           "".join(f"- [{'x' if ok else ' '}] {text}\n" for text, ok in checks(results, names, proto.checks))
                           + f"\nFeatures: {settings.get('features')} ({settings.get('features_id')}); samples: "
                             f"{figure.name}\n"))
    lines = [f"- protocol: {proto.note}; epochs {length['epochs']}, generator updates {length['steps']} (0: from the "
             f"epochs), batch {proto.batch_size}, seed {args.seed}"]
    lines += [f"- {setting.dataset}: " + "; ".join(f"{n} {' '.join(f'{k}={v}' for k, v in setting.models[n].items())}"
                                                   for n in names) for setting, _, _ in sections]
    lines += [f"- metrics on {n_eval} samples against {n_eval} test images; IS over 10 splits; within-class "
              f"diversity: samples grouped by the domain classifier, real test images by their labels; independent "
              f"critic: {critic_steps} steps on training images against samples, measured on test images "
              f"(held-out) and on training images it did not see (training); real data: training against test images",
              "- the talk's numbers: none beside ours. Its table could not be found in the sources available "
              "offline, and its protocol (Inception features on CIFAR-10, its own networks and budgets) differs "
              "from this one wherever genlab's classifier features are used",
              f"- wall time: {seconds / 60:.1f} min (training and evaluation, on this machine)"]
    t.sections.append(("Settings", "\n".join(lines) + "\n"))
    return t


REPRODUCTIONS.add("alphagan-table", Reproduction(
    "DCGAN vs WGAN-GP vs alpha-GAN with matched budgets, as the alpha-GAN talk: Inception Score, within-class "
    "1 - MS-SSIM, independent critic on training vs held-out images, FID, class coverage (quick: "
    "color-fashion-mnist on a CPU; paper: CIFAR-10 and CelebA on a GPU)",
    add_arguments, run))
