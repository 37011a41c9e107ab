"""`genlab reproduce beta-ablation`: the ablation course projects ask for. A beta-VAE (``models/beta_vae.py``)
on dynamically binarized Fashion-MNIST over beta in {0.5, 1, 2, 4, 8} and KL annealing in {none, linear,
cyclical}, 3 seeds each: test NLL (K = 5000 importance samples on 1,000 test images), the KL term of the ELBO
(E_q[log q(z|x) - log p(z)] on the same images), active units (Var_x E_q[z_u|x] > 0.01) and FID in the
domain classifier's features.

It is a fixed grid (disentanglement_lib's way) run by ``genlab sweep``'s machinery: every trial is a run
directory ``DIR/runs/beta=B,anneal=A/seed-S`` made through the train-or-reuse path (a stopped ablation
finishes what is missing), evaluated at its last step; the table has the mean +- standard error over seeds.

Checks computed from the table, for what theory guarantees of the objective E_q log p(x|z) - beta KL:
its optimum's KL term does not increase with beta (a larger weight on a term never makes the minimizer
give it more), and so units that carry information (active units) do not grow in number with beta. Each
check allows the standard error of the two means it compares. Anything else the table shows (which beta
gives the best NLL or FID, what annealing does) is reported as measured, not checked.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

from . import REPRODUCTIONS, Reproduction

BETAS = ("0.5", "1", "2", "4", "8")
ANNEALS = ("none", "linear", "cyclical")
METRICS = ("nll", "elbo", "active-units", "fid")
# the table's columns: number -> (its label, lower is better)
COLUMNS = {"nll_nats": ("NLL (nats)", True), "kl_nats": ("KL term (nats)", True),
           "active_units": ("active units", False), "fid": ("FID (classifier)", True),
           "rec_nats": ("reconstruction (nats)", True)}


@dataclass(frozen=True)
class Protocol:
    epochs: int
    hidden: str
    latent_dim: int
    eval_k: int
    eval_n: int  # test images scored, and generated samples for FID
    note: str


PROTOCOLS = {
    "quick": Protocol(2, "128", 16, 5000, 1000, "a CPU budget: MLP x-128-z16 (ReLU), batch 100, Adam 1e-3"),
    "paper": Protocol(50, "512,512", 32, 5000, 1000, "a GPU job: MLP x-512-512-z32 (ReLU), batch 100, Adam 1e-3"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=sorted(PROTOCOLS), default="quick", help="protocol (default: quick)")
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "mnist", "digits"],
                   help="dynamically binarized (default: fashion-mnist; digits: a toy check in seconds)")
    p.add_argument("--out", default="runs/beta-ablation", help="folder for the runs, the table and the figures")
    p.add_argument("--betas", default=",".join(BETAS), help=f"KL weights (default: {','.join(BETAS)})")
    p.add_argument("--anneals", default=",".join(ANNEALS), help=f"KL schedules (default: {','.join(ANNEALS)})")
    p.add_argument("--seeds", default="0,1,2", help="seeds of every setting (default: 0,1,2)")
    p.add_argument("--epochs", type=int, help="override the preset's number of epochs")
    p.add_argument("--eval-k", type=int, help="override the preset's importance samples per test image")
    p.add_argument("--eval-n", type=int, help="override the preset's number of test images and samples")
    p.add_argument("--jobs", type=int, default=1, help="trials trained at once, one process each (default 1)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, auto, or GPUs taken in turn: cuda:0,cuda:1")
    p.add_argument("--data-dir", help="look here first for the dataset's files")


def fixed_options(args: argparse.Namespace, proto: Protocol) -> dict[str, str]:
    """What every trial is trained and evaluated with."""
    fixed = {"epochs": str(args.epochs or proto.epochs), "batch_size": "100", "lr": "1e-3", "net": "mlp",
             "hidden": proto.hidden, "latent_dim": str(proto.latent_dim), "binarize": "dynamic",
             "log_every": "100", "sample_every": "0", "eval_k": str(args.eval_k or proto.eval_k),
             "eval_n_data": str(args.eval_n or proto.eval_n),
             "eval_features": "classifier", "eval_metrics": ",".join(METRICS)}
    if args.data_dir:
        fixed["data_dir"] = args.data_dir
    return fixed


def settings_text(fixed: dict[str, str]) -> str:
    n = fixed["eval_n_data"]
    return (f"{fixed['epochs']} epochs; NLL (K = {fixed['eval_k']}), the KL term and active units on the first {n} "
            f"test images (all of them where the split has fewer); FID in the classifier's features from as many "
            f"samples against as many test images")


def run(args: argparse.Namespace) -> int:
    from ..metrics.classifier import load_classifier
    from ..objective import parse_objective
    from ..sweep.command import Sweep
    from ..sweep.results import collect
    from ..sweep.space import check_space, grid, parse_params, parse_seeds
    from ..sweep.trials import parse_devices, run_trials

    proto = PROTOCOLS[args.preset]
    fixed = fixed_options(args, proto)
    params = parse_params([f"beta={args.betas}", f"anneal={args.anneals}"])
    types = check_space("beta-vae", args.dataset, params, fixed)
    sweep = Sweep("beta-vae", args.dataset, params, types, parse_seeds(args.seeds), parse_objective("nll"), METRICS,
                  fixed, Path(args.out), "grid", parse_devices(args.device), args.jobs)
    settings = grid(params)
    trials = [sweep.trial(s, seed) for s in settings for seed in sweep.seeds]
    print(f"[beta-ablation] {len(settings)} settings x {len(sweep.seeds)} seeds = {len(trials)} runs in "
          f"{sweep.out}/runs (preset {args.preset}: {proto.note}; {settings_text(fixed)})", flush=True)
    sweep.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    load_classifier({"dataset": args.dataset, "data_dir": args.data_dir or "", "path": ""})  # once, before the workers
    results = []
    for i, r in enumerate(run_trials(trials, sweep.devices, sweep.jobs), 1):
        results.append(r)
        shown = "diverged" if r.results is None else \
            f"NLL {r.results['nll']['nll_nats']:.2f}, KL {r.results['elbo']['kl_nats']:.2f}, " \
            f"{r.results['active-units']['active_units']:.0f} active, FID {r.results['fid']['fid']:.2f}"
        print(f"[beta-ablation] {i}/{len(trials)} {r.trial.label} seed {r.trial.seed}: {r.what} "
              f"({r.seconds:.0f} s), {shown}", flush=True)
    rows = collect([(r.trial.setting, r.trial.seed, r.results) for r in results], settings)
    write_outputs(sweep, rows, args, proto, time.time() - started)
    return 0


def write_outputs(sweep, rows: list, args, proto: Protocol, seconds: float) -> None:
    """table.md and table.csv, one effects figure per number, and the study page."""
    from ..compare import write_outputs as write_md_csv
    from ..objective import Objective
    from ..report.study import write_study_report
    from ..sweep.results import effects_figure

    result = table(rows, sweep, args, proto, seconds)
    md = result.markdown()
    write_md_csv(result, str(sweep.out / "table"))
    figures = []
    for column, (label, low) in COLUMNS.items():
        if column == "rec_nats":
            continue
        obj = Objective(column, column, "min" if low else "max")
        name = "effects.png" if column == "nll_nats" else f"effects-{column.replace('_', '-')}.png"
        path = effects_figure(rows, sweep.params, sweep.types, obj, sweep.out / name, title=f"beta-VAE: {label}")
        if path:
            figures.append((path, f"{label} against beta and against the KL schedule: a point per seed, the "
                                  f"black line through the means, a coloured line per value of the other parameter"))
    print(md)
    print(f"wrote {sweep.out / 'table.md'}, {sweep.out / 'table.csv'}, {', '.join(str(f) for f, _ in figures)}")
    print(f"wrote {write_study_report(sweep.out, md, figures, args)}")


def table(rows: list, sweep, args, proto: Protocol, seconds: float):
    """The sweep's table of the ablation's numbers (``sweep.results.table``, a ``compare.Table``), labelled, with
    theory's checks and the other patterns as sections."""
    from ..sweep.results import table as sweep_table

    for r in rows:  # the table's numbers only
        r.values = {c: v for c, v in r.values.items() if c in COLUMNS}
    intro = (f"beta-VAE on dynamically binarized {args.dataset}, preset {args.preset} ({proto.note}; "
             f"{settings_text(sweep.fixed)}). Each cell is the mean +- standard error over seeds "
             f"{', '.join(map(str, sweep.seeds))}; beta is the KL weight the schedule (anneal) reaches.")
    notes = [f"wall time: {seconds / 60:.1f} min with --jobs {sweep.jobs} on {', '.join(sweep.devices)}"]
    result = sweep_table(rows, [p.key for p in sweep.params], sweep.objective, "beta-VAE ablation: beta x KL annealing",
                         intro, notes)
    result.labels.update({c: label for c, (label, _) in COLUMNS.items()})
    result.sections += [
        ("What theory guarantees (computed checks)", "".join(f"- [{'x' if ok else ' '}] {text}\n"
                                                             for text, ok in checks(rows))),
        ("Other patterns, as measured (not checks)", "".join(f"- {text}\n" for text in patterns(rows)))]
    return result


def _by_anneal(rows: list) -> dict[str, list]:
    """anneal -> its rows in increasing beta (rows with results only)."""
    out: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: float(r.setting["beta"])):
        if r.seeds:
            out.setdefault(r.setting["anneal"], []).append(r)
    return out


def _se(r, column: str) -> float:
    _, se = r.mean_se(column)
    return 0.0 if se is None or math.isnan(se) else se


def monotone(rows: list, column: str) -> list[tuple[str, str, float, float, bool]]:
    """(beta, next beta, mean, next mean, holds) for consecutive betas: the next mean is not above this one by
    more than the two standard errors together."""
    pairs = []
    for a, b in zip(rows, rows[1:]):
        ma, mb = a.mean_se(column)[0], b.mean_se(column)[0]
        if ma is None or mb is None:
            continue
        allowed = math.hypot(_se(a, column), _se(b, column))  # the two standard errors together
        pairs.append((a.setting["beta"], b.setting["beta"], ma, mb, mb <= ma + allowed))
    return pairs


def checks(rows: list) -> list[tuple[str, bool]]:
    out = []
    for anneal, rs in _by_anneal(rows).items():
        for column, what in (("kl_nats", "the KL term does not rise with beta"),
                             ("active_units", "active units do not increase with beta")):
            pairs = monotone(rs, column)
            if not pairs:
                continue
            ok = all(p[4] for p in pairs)
            shown = ", ".join(f"{p[2]:.3g}" for p in pairs[:1]) + "".join(f" -> {p[3]:.3g}" for p in pairs)
            broken = [f"beta {p[0]} -> {p[1]}" for p in pairs if not p[4]]
            out.append((f"anneal={anneal}: {what} beyond the standard error ({column}: {shown}"
                        + (f"; broken at {', '.join(broken)}" if broken else "") + ")", ok))
    return out


def patterns(rows: list) -> list[str]:
    """Where each number is best, and how annealing changes it at the largest beta, as measured."""
    out = []
    done = [r for r in rows if r.seeds]
    for column, (label, low) in COLUMNS.items():
        if column == "kl_nats":  # a smaller KL term is not better in itself
            continue
        scored = [(r.mean_se(column)[0], r) for r in done if r.mean_se(column)[0] is not None]
        if not scored:
            continue
        value, best = (min if low else max)(scored, key=lambda t: t[0])
        out.append(f"{label}: best at beta={best.setting['beta']}, anneal={best.setting['anneal']} ({value:.4g}; "
                   f"{'lower' if low else 'higher'} is better)")
    for beta in sorted({r.setting["beta"] for r in done}, key=float)[-1:]:
        at = {r.setting["anneal"]: r for r in done if r.setting["beta"] == beta}
        for column in ("active_units", "nll_nats"):
            parts = [f"{a} {at[a].mean_se(column)[0]:.4g}" for a in ANNEALS if a in at
                     and at[a].mean_se(column)[0] is not None]
            if len(parts) > 1:
                out.append(f"at beta={beta}, {COLUMNS[column][0]} by schedule: {', '.join(parts)}")
    return out


REPRODUCTIONS.add("beta-ablation", Reproduction(
    "beta-VAE on Fashion-MNIST: beta in {0.5,1,2,4,8} x KL annealing {none,linear,cyclical} x 3 seeds; NLL, KL, "
    "active units, FID, with theory's checks", add_arguments, run))
