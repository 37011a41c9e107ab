"""`genlab reproduce iwae-table`: Table 1 of Burda, Grosse & Salakhutdinov (2015), "Importance Weighted
Autoencoders": test NLL and active units of the VAE and the IWAE for K = 1, 5, 50 samples and 1 or 2
stochastic layers, beside the published values.

With K = 1 the two objectives are the same function (the one-sample ELBO), so that row is trained once and
reported in both columns, as in the paper. Each run is its own run directory under --out: an interrupted
reproduction picks up where it stopped (finished runs are kept, unfinished ones resumed, evaluations with
the same settings re-used).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..report.study import write_study_report
from . import REPRODUCTIONS, Reproduction, train_or_reuse

if TYPE_CHECKING:
    from ..compare import Table

# Burda et al. 2015, Table 1 (dynamically binarized MNIST, K = 5000 evaluation): (layers, k) -> (VAE, IWAE)
PUBLISHED = {(1, 1): (86.76, 86.76), (1, 5): (86.47, 85.54), (1, 50): (86.35, 84.78),
             (2, 1): (85.33, 85.33), (2, 5): (85.01, 83.89), (2, 50): (84.78, 82.90)}
KS = (1, 5, 50)
LAYERS = (1, 2)


@dataclass(frozen=True)
class Protocol:
    epochs: int
    batch_size: int
    lr_schedule: str
    eval_k: int
    eval_n: int  # test images scored (0: all)
    note: str


PROTOCOLS = {
    "paper": Protocol(3280, 20, "iwae", 5000, 0,
                      "the paper's protocol: batch 20, Adam eps 1e-4, 8 stages of 3^i epochs at 1e-3 * 10^(-i/7), "
                      "3280 epochs, K = 5000 on the whole test set (a GPU job)"),
    "quick": Protocol(5, 100, "constant", 5000, 1000,
                      "a CPU budget: batch 100, constant lr 1e-3 (Adam eps 1e-4), 5 epochs, K = 5000 on the first "
                      "1000 test images"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", choices=sorted(PROTOCOLS), default="quick", help="protocol (default: quick)")
    p.add_argument("--dataset", default="fashion-mnist", choices=["mnist", "fashion-mnist"],
                   help="dynamically binarized (default: fashion-mnist, which genlab can find on more machines)")
    p.add_argument("--out", default="runs/iwae-table", help="folder for the runs and the table")
    p.add_argument("--epochs", type=int, help="override the preset's number of epochs")
    p.add_argument("--eval-k", type=int, help="override the preset's importance samples per test image")
    p.add_argument("--eval-n", type=int, help="override the preset's number of test images (0: all)")
    p.add_argument("--layers", default="1,2", help="stochastic layers to run (default: 1,2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", choices=["cpu", "cuda", "auto"])
    p.add_argument("--data-dir", help="look here first for the dataset's files")


def grid(layers: tuple[int, ...]) -> list[tuple[str, int, int]]:
    """(model, layers, k) of every run: K = 1 once per number of layers."""
    runs = []
    for n in layers:
        runs.append(("vae", n, 1))
        for k in KS[1:]:
            runs += [("vae", n, k), ("iwae", n, k)]
    return runs


def run_name(model: str, layers: int, k: int) -> str:
    return f"l{layers}-k1" if k == 1 else f"l{layers}-{model}-k{k}"


def run(args: argparse.Namespace) -> int:
    from ..compare import write_outputs
    from ..evaluate import EvalConfig, evaluate
    from ..load import resolve_device

    proto = PROTOCOLS[args.preset]
    epochs = args.epochs or proto.epochs
    eval_k = args.eval_k or proto.eval_k
    eval_n = proto.eval_n if args.eval_n is None else args.eval_n
    try:
        layers = tuple(sorted({int(v) for v in args.layers.split(",")}))
    except ValueError:
        raise ConfigError(f"--layers takes 1, 2 or 1,2; got {args.layers!r}") from None
    if not set(layers) <= set(LAYERS):
        raise ConfigError(f"--layers takes 1, 2 or 1,2; got {args.layers!r}")
    # stored evaluations with these settings on the same checkpoints are re-used (a re-run costs no K = 5000)
    config = EvalConfig(metrics=("nll", "active-units"), k=eval_k, n_data=eval_n or None, split="test",
                        seed=args.seed, device=str(resolve_device(args.device)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    t0 = time.time()
    for model, n, k in grid(layers):
        name = run_name(model, n, k)
        path = out / name
        overrides = {"preset": "iwae-paper" if n == 1 else "iwae-paper-2", "k": str(k), "kl": "mc",
                     "epochs": str(epochs), "batch_size": str(proto.batch_size), "lr_schedule": proto.lr_schedule,
                     "seed": str(args.seed), "device": args.device, "log_every": "200", "sample_every": "0"}
        if args.data_dir:
            overrides["data_dir"] = args.data_dir
        if model == "iwae":
            overrides.pop("kl")
        started = time.time()
        train_or_reuse(name, model, args.dataset, path, overrides,
                       what=f"{model} with {n} stochastic layer(s), K = {k}, {epochs} epochs")
        trained = time.time() - started
        started = time.time()
        ev = evaluate(path, config)
        print(f"[{name}] NLL {ev['nll']['nll_nats']:.2f} +- {ev['nll']['nll_se']:.2f} nats, "
              f"{ev['active-units']['active_units']} active units (train {trained:.0f} s, eval {time.time() - started:.0f} s)",
              flush=True)
        results[(model, n, k)] = ev
    result = table(results, layers, args, proto, epochs, eval_k, time.time() - t0)
    written = write_outputs(result, str(out / "table"))
    print(result.markdown())
    print(f"wrote {' and '.join(str(p) for p in written)}")
    print(f"wrote {write_study_report(out, result.markdown(), [], args)}")
    return 0


def shape_checks(nll: dict, layers: tuple[int, ...]) -> list[tuple[str, bool]]:
    """The table's shape: for each number of layers, IWAE K=50 < K=5 < K=1 and IWAE < VAE at K > 1."""
    checks = []
    for n in layers:
        i1, i5, i50 = nll[("iwae", n, 1)], nll[("iwae", n, 5)], nll[("iwae", n, 50)]
        checks.append((f"{n} layer(s): IWAE K=50 ({i50:.2f}) < K=5 ({i5:.2f}) < K=1 ({i1:.2f})", i50 < i5 < i1))
        for k in KS[1:]:
            iw, va = nll[("iwae", n, k)], nll[("vae", n, k)]
            checks.append((f"{n} layer(s), K={k}: IWAE ({iw:.2f}) < VAE ({va:.2f})", iw < va))
    return checks


def table(results: dict, layers, args, proto: Protocol, epochs: int, eval_k: int, seconds: float) -> Table:
    from ..compare import Estimate, Table

    get = lambda m, n, k: results[("vae" if k == 1 else m, n, k)]  # noqa: E731  (K=1 is one run)
    nll = {(m, n, k): get(m, n, k)["nll"]["nll_nats"] for m in ("vae", "iwae") for n in layers for k in KS}
    rows = []
    for n in layers:
        for k in KS:
            v, i = get("vae", n, k), get("iwae", n, k)
            rows.append([n, k, Estimate(v["nll"]["nll_nats"], v["nll"]["nll_se"]),
                         Estimate(i["nll"]["nll_nats"], i["nll"]["nll_se"]),
                         v["active-units"]["active_units"], i["active-units"]["active_units"], *PUBLISHED[(n, k)]])
    settings = results[next(iter(results))]["nll"]["settings"]
    checks = "\n".join(f"- [{'x' if ok else ' '}] {text}" for text, ok in shape_checks(nll, layers))
    about = "\n".join([
        f"- protocol: {proto.note}",
        f"- dataset: {args.dataset}, dynamically binarized in training; epochs {epochs}, batch {proto.batch_size}, "
        f"lr schedule {proto.lr_schedule}, seed {args.seed}",
        "- architectures: 784-200-200-z50 (tanh) for 1 layer; 784-[200,200]-z1 100-[100,100]-z2 50 for 2 layers; "
        "Bernoulli output; the VAE with K samples averages K one-sample ELBO estimates (sampled KL)",
        f"- evaluation: K = {eval_k} importance samples, {settings['n_images']} {settings['split']} images, "
        f"{settings['binarization']}",
        "- K = 1: VAE and IWAE are the same objective; one run fills both columns",
        f"- wall time for the whole table: {seconds / 60:.1f} min",
    ])
    return Table(
        header=["layers", "k", "vae_nll", "iwae_nll", "vae_active_units", "iwae_active_units",
                "paper_vae_nll", "paper_iwae_nll"],
        rows=rows,
        title=f"IWAE table (Burda et al. 2015, Table 1) reproduced by genlab: {args.dataset}, preset {args.preset}",
        intro="Test NLL in nats (lower is better), mean +- standard error over test images; active units "
              "(Var_x E_q[z|x] > 0.01) of layer 1 + layer 2.",
        labels={"k": "K", "vae_nll": "VAE NLL", "iwae_nll": "IWAE NLL", "vae_active_units": "VAE active",
                "iwae_active_units": "IWAE active", "paper_vae_nll": "paper VAE", "paper_iwae_nll": "paper IWAE"},
        formats={"vae_nll": ".2f", "iwae_nll": ".2f"},
        notes=["The paper's numbers are for dynamically binarized MNIST; on Fashion-MNIST NLLs are much higher "
               "(compare the differences between rows, not the levels)."],
        sections=[("The table's shape", checks), ("Settings", about)],
        digits=3,
    )


REPRODUCTIONS.add("iwae-table", Reproduction(
    "Burda et al. 2015 Table 1: VAE vs IWAE, K = 1, 5, 50, 1 and 2 stochastic layers, test NLL",
    add_arguments, run))
