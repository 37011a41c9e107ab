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
import io
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..report.study import write_study_report
from . import REPRODUCTIONS, Reproduction, train_or_reuse, write_table

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
    from ..evaluate import evaluate

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
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results, test_size = {}, None
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
        opts = {"k": eval_k, "n": eval_n or None, "split": "test", "seed": args.seed, "device": _device(args.device)}
        started = time.time()
        if test_size is None:
            test_size = _test_size(args.dataset, args.data_dir)
        ev = _stored_evaluation(path, opts, test_size) or evaluate(path, ["nll", "active-units"], opts)
        print(f"[{name}] NLL {ev['nll']['nll_nats']:.2f} +- {ev['nll']['nll_se']:.2f} nats, "
              f"{ev['active-units']['active_units']} active units (train {trained:.0f} s, eval {time.time() - started:.0f} s)",
              flush=True)
        results[(model, n, k)] = ev
    md, rows = table(results, layers, args, proto, epochs, eval_k, eval_n, time.time() - t0)
    write_table(out / "table.md", out / "table.csv", md, rows)
    print(md)
    print(f"wrote {out / 'table.md'} and {out / 'table.csv'}")
    print(f"wrote {write_study_report(out, md, [], args)}")
    return 0


def _test_size(dataset: str, data_dir: str | None) -> int:
    """The number of images in the dataset's test split (what --eval-n 0, "all", evaluates)."""
    from ..config import DataConfig
    from ..registry import DATASETS

    cfg = DataConfig(dataset=dataset, split="test", data_dir=data_dir or "")
    return len(DATASETS.get(dataset).load(cfg, "test").x)


def _stored_evaluation(path: Path, opts: dict, test_size: int) -> dict | None:
    """The run's stored nll and active-units when they were computed with these settings after its last
    checkpoint (so a re-run of the table does not pay for K = 5000 again); else None. ``test_size``: the
    images in the test split, so that "all" (n None) and an n above it both mean that many."""
    import json

    file, ckpts = path / "evaluation.json", sorted((path / "checkpoints").glob("*"))
    if not file.exists() or not ckpts or file.stat().st_mtime < max(c.stat().st_mtime for c in ckpts):
        return None
    stored = json.loads(file.read_text())
    nll, au = stored.get("nll", {}).get("settings", {}), stored.get("active-units", {}).get("settings", {})
    want_n = min(opts["n"] or test_size, test_size)  # the metrics evaluate min(n, test images)
    if (nll.get("k"), nll.get("split"), nll.get("seed"), nll.get("n_images")) != (opts["k"], "test", opts["seed"], want_n):
        return None
    if (au.get("split"), au.get("seed"), au.get("n_images")) != ("test", opts["seed"], want_n):
        return None
    return {"nll": stored["nll"], "active-units": stored["active-units"]}


def _device(name: str) -> str:
    from ..api import resolve_device

    return str(resolve_device(name))


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


def table(results: dict, layers, args, proto: Protocol, epochs: int, eval_k: int, eval_n: int,
          seconds: float) -> tuple[str, list[dict]]:
    get = lambda m, n, k: results[("vae" if k == 1 else m, n, k)]  # noqa: E731  (K=1 is one run)
    nll = {(m, n, k): get(m, n, k)["nll"]["nll_nats"] for m in ("vae", "iwae") for n in layers for k in KS}
    rows = []
    for n in layers:
        for k in KS:
            v, i = get("vae", n, k), get("iwae", n, k)
            rows.append({
                "layers": n, "k": k,
                "vae_nll": round(v["nll"]["nll_nats"], 3), "vae_se": round(v["nll"]["nll_se"], 3),
                "iwae_nll": round(i["nll"]["nll_nats"], 3), "iwae_se": round(i["nll"]["nll_se"], 3),
                "vae_active_units": v["active-units"]["active_units"],
                "iwae_active_units": i["active-units"]["active_units"],
                "paper_vae_nll": PUBLISHED[(n, k)][0], "paper_iwae_nll": PUBLISHED[(n, k)][1],
            })
    settings = results[next(iter(results))]["nll"]["settings"]
    out = io.StringIO()
    out.write(f"# IWAE table (Burda et al. 2015, Table 1) reproduced by genlab: {args.dataset}, preset {args.preset}\n\n")
    out.write("Test NLL in nats (lower is better), mean +- standard error over test images; active units "
              "(Var_x E_q[z|x] > 0.01) of layer 1 + layer 2.\n\n")
    out.write("| layers | K | VAE NLL | IWAE NLL | VAE active | IWAE active | paper VAE | paper IWAE |\n")
    out.write("|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        out.write(f"| {r['layers']} | {r['k']} | {r['vae_nll']:.2f} +- {r['vae_se']:.2f} | "
                  f"{r['iwae_nll']:.2f} +- {r['iwae_se']:.2f} | {r['vae_active_units']} | {r['iwae_active_units']} | "
                  f"{r['paper_vae_nll']} | {r['paper_iwae_nll']} |\n")
    out.write("\nThe paper's numbers are for dynamically binarized MNIST; on Fashion-MNIST NLLs are much higher "
              "(compare the differences between rows, not the levels).\n\n")
    out.write("## The table's shape\n\n")
    for text, ok in shape_checks(nll, layers):
        out.write(f"- [{'x' if ok else ' '}] {text}\n")
    out.write("\n## Settings\n\n")
    out.write(f"- protocol: {proto.note}\n")
    out.write(f"- dataset: {args.dataset}, dynamically binarized in training; epochs {epochs}, batch {proto.batch_size}, "
              f"lr schedule {proto.lr_schedule}, seed {args.seed}\n")
    out.write("- architectures: 784-200-200-z50 (tanh) for 1 layer; 784-[200,200]-z1 100-[100,100]-z2 50 for 2 layers; "
              "Bernoulli output; the VAE with K samples averages K one-sample ELBO estimates (sampled KL)\n")
    out.write(f"- evaluation: K = {eval_k} importance samples, {settings['n_images']} {settings['split']} images, "
              f"{settings['binarization']}\n")
    out.write("- K = 1: VAE and IWAE are the same objective; one run fills both columns\n")
    out.write(f"- wall time for the whole table: {seconds / 60:.1f} min\n")
    return out.getvalue(), rows


REPRODUCTIONS.add("iwae-table", Reproduction(
    "Burda et al. 2015 Table 1: VAE vs IWAE, K = 1, 5, 50, 1 and 2 stochastic layers, test NLL",
    add_arguments, run))
