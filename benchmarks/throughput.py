"""Training throughput (images/s) through genlab's trainer, printed as a table.

    python benchmarks/throughput.py [--dataset fashion-mnist] [--seconds 10] [--device cpu]

- vae: the 784-512-20 MLP VAE (Bernoulli likelihood), batch 128: the network and batch size of the
  well-known VAE library that trains at about 14,000 images/s on a 2-core machine (TARGETS.md section 5).
- a hand-written PyTorch loop on the same network and data (no trainer), to show the trainer's overhead.
- gan (DCGAN networks on 28x28), batch 128: images/s counted over the discriminator's real batches; beside
  it the same step as a bare PyTorch loop on copies of the same networks (the trainer's overhead on a GAN).
- the VAE family on the same 784-512-20 MLP, batch 128: beta-vae, cvae, vr (K=5) and iwae with K = 1, 5, 50;
  images/s and decoder rows/s (images x K): IWAE with K samples should cost about K times the decoder work.
- one training step of every GAN-family model (DCGAN networks on 28x28, batch 128, each model's own
  k / n_critic / unrolling): images/s = real images the step draws (batch x phases that draw data) per second.
- points: the unrolled GAN's step on ring8 (128-128 MLPs, batch 512, one thread) at K = 0, 1 and 5, each as a
  multiple of the plain gan's step on the same nets, and what each unrolled discriminator update adds.
- one training step of every hybrid (vaegan, aae, bigan, alphagan on 28x28 with DCGAN networks; cyclegan on
  fashion-inverted with its residual translators), batch 128, images/s counted the same way.
Falls back to random 28x28 images when the dataset is not on this machine (said in the output).

    python benchmarks/throughput.py --only hybrid --against REV

measures the chosen rows of this checkout and of git revision REV (a temporary worktree) in turn, in one
run of this script, each row in a fresh single-threaded process timed by its CPU time (so that other work
on a shared machine changes the figures little), alternating the two versions `--repeats` times and keeping
each one's best: images per CPU-second before and after.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from genlab import api
from genlab.data.base import load_data
from genlab.errors import DataError
from genlab.rundir import RunDir
from genlab.trainer import Trainer


GAN_FAMILY = ["dcgan", "cgan", "fgan", "wgan", "wgan-gp", "unrolled", "infogan"]
HYBRIDS = ["vaegan", "aae", "bigan", "alphagan", "cyclegan"]
VAE_FAMILY = [("beta-vae", 1), ("cvae", 1), ("vr", 5), ("iwae", 1), ("iwae", 5), ("iwae", 50)]  # (model, K)
MLP_VAE = {"hidden": "512", "latent_dim": "20", "net": "mlp"}


CLOCK = time.perf_counter  # --row --cpu-clock: process CPU time, for comparisons on a shared machine


def timed(step, batch_size: int, seconds: float, warmup: int = 20, clock=None) -> float:
    clock = clock or CLOCK
    for _ in range(warmup):
        step()
    n, t0 = 0, clock()
    while clock() - t0 < seconds:
        step()
        n += 1
    return n * batch_size / (clock() - t0)


def trainer_for(model: str, dataset: str, overrides: dict, batch_size: int, device: str, tmp: str) -> Trainer:
    cfgs = api.make_configs(model, dataset, overrides, train={"batch_size": batch_size, "device": device,
                                                              "log_every": 100})
    dev = api.resolve_device(device)
    cls = api.MODELS.get(model)
    data = load_data(cfgs["data"], preferred_range=cls.preferred_range, device=dev)
    net = api.build_model(model, cfgs["model"], data.info, dev)
    run = RunDir(f"{tmp}/{model}-{overrides.get('k', '')}")  # train_step writes nothing there
    return Trainer(net, data, cfgs["train"], run)


def plain_loop(data_x: torch.Tensor, batch_size: int, seconds: float) -> float:
    """The same VAE written as a bare PyTorch loop: the reference for the trainer's overhead."""
    import torch.nn.functional as F
    from torch import nn

    enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 40))
    dec = nn.Sequential(nn.Linear(20, 512), nn.ReLU(), nn.Linear(512, 784))
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    n = data_x.shape[0]
    state = {"perm": torch.randperm(n), "pos": 0}

    def step():
        if state["pos"] + batch_size > n:
            state["perm"], state["pos"] = torch.randperm(n), 0
        x = data_x[state["perm"][state["pos"]: state["pos"] + batch_size]].flatten(1)
        state["pos"] += batch_size
        mu, logvar = enc(x).chunk(2, -1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        rec = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(-1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(-1)
        loss = (rec + kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return timed(step, batch_size, seconds)


def bare_gan_loop(gan: Trainer, batch_size: int, seconds: float) -> float:
    """genlab's `gan` step written as a bare PyTorch loop on copies of the same networks and data: D on a real
    batch and on G(z) without G's graph, then G through D on fresh noise with D's weights frozen, Adam as the
    model's config, non-saturating loss; the reference for the trainer's overhead on a GAN."""
    import copy

    import torch.nn.functional as F

    G, D = copy.deepcopy(gan.model.generator), copy.deepcopy(gan.model.discriminator)
    cfg = gan.model.cfg
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    data_x, n, noise = gan.data.x, gan.data.x.shape[0], cfg.noise_dim
    state = {"perm": torch.randperm(n), "pos": 0}
    ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)

    def step():
        if state["pos"] + batch_size > n:
            state["perm"], state["pos"] = torch.randperm(n), 0
        real = data_x[state["perm"][state["pos"]: state["pos"] + batch_size]]
        state["pos"] += batch_size
        with torch.no_grad():
            fake = G(torch.randn(batch_size, noise))
        d_loss = (F.binary_cross_entropy_with_logits(D(real).squeeze(-1), ones)
                  + F.binary_cross_entropy_with_logits(D(fake).squeeze(-1), zeros))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        D.requires_grad_(False)
        g_loss = F.binary_cross_entropy_with_logits(D(G(torch.randn(batch_size, noise))).squeeze(-1), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)

    return timed(step, batch_size, seconds, warmup=5)


def step_row(model: str, dataset: str, extra: dict, device: str, seconds: float, tmp: str) -> tuple:
    """One training step of `model` through the trainer: (label, images/s over the real batches drawn)."""
    if model == "cyclegan":
        dataset, extra, over = "fashion-inverted", {}, {}
    else:
        over = {"net": "conv"}
    tr = trainer_for(model, dataset, {**extra, **over}, 128, device, tmp)
    drawn = 128 * sum(p.data for p in tr.phases)  # real images per step
    what = "residual translators, fashion-inverted" if model == "cyclegan" else "DCGAN nets 28x28"
    return (f"{model} step ({what}, batch 128, {len(tr.phases)} phases)",
            timed(tr.train_step, drawn, seconds, warmup=3))


def unrolled_rows(device: str, seconds: float, tmp: str) -> list[tuple]:
    """The unrolled GAN's step on ring8 (the paper's 128-128 MLPs, batch 512) at K = 0, 1 and 5 unrolled D
    updates, each as a multiple of the plain gan's step on the same nets: what one unrolled update adds. One
    thread, as `genlab train` uses on points (more only contend on nets this small), timed by the process's CPU
    clock, so that other work on a shared machine changes the ratios little."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        over = {"hidden": "128,128", "lr_schedule": "constant"}
        cost = {}  # seconds a step: the gan's, then the unrolled GAN's at each K
        for k in ("gan", 0, 1, 5):
            model, extra = ("gan", {}) if k == "gan" else ("unrolled", {"unroll_steps": str(k)})
            tr = trainer_for(model, "ring8", {**over, **extra}, 512, device, f"{tmp}/k{k}")
            cost[k] = 1 / timed(tr.train_step, 1, seconds, warmup=20, clock=time.process_time)
    finally:
        torch.set_num_threads(threads)
    rows = [("gan step, ring8, 128-128 MLPs, batch 512", 512 / cost["gan"], f"({cost['gan'] * 1e3:.2f} ms a step)")]
    rows += [(f"unrolled K={k} step, same nets and batch", 512 / cost[k],
              f"({cost[k] * 1e3:.2f} ms a step: {cost[k] / cost['gan']:.2f}x the gan step)") for k in (0, 1, 5)]
    per_update = (cost[5] - cost[1]) / 4
    rows.append(("each unrolled D update adds (K=1 to 5)", 512 / per_update,
                 f"({per_update / cost['gan']:.2f}x a gan step)"))
    return rows


def pick_dataset(name: str) -> tuple[str, dict]:
    """`name` when its files are here, else an npz of random 28x28 images (said in the output)."""
    try:
        from genlab.config import DataConfig

        load_data(DataConfig(dataset=name, download=False))
        return name, {}
    except DataError:
        print(f"({name} is not on this machine: using random 28x28 images instead)")
        import numpy as np

        tmpd = tempfile.mkdtemp()
        rng = np.random.default_rng(0)
        np.savez(f"{tmpd}/random.npz", x=rng.random((60000, 1, 28, 28), dtype=np.float32),
                 y=rng.integers(0, 10, 60000))
        return "npz", {"path": f"{tmpd}/random.npz"}


def against(rev: str, models: list[str], args) -> None:
    """Each model's step row measured in this checkout and at `rev`, alternately, in fresh processes."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parents[1]
    old = Path(tempfile.mkdtemp(prefix="genlab-rev-"))
    subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(old / "tree"), rev], check=True,
                   capture_output=True)
    trees = {"this checkout": here / "src", rev: old / "tree" / "src"}
    try:
        best: dict = {}
        for _ in range(args.repeats):
            for model in models:
                for label, src in trees.items():
                    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
                    out = subprocess.run([sys.executable, __file__, "--row", model, "--cpu-clock",
                                          "--seconds", str(args.seconds),
                                          "--dataset", args.dataset, "--device", args.device],
                                         env=env, capture_output=True, text=True)
                    row = best.setdefault(model, {"name": model})
                    if out.returncode:  # a model the older revision lacks (or cannot build): no figure
                        row.setdefault(label, None)
                        continue
                    name, ips = out.stdout.strip().splitlines()[-1].rsplit("\t", 1)
                    row["name"] = name
                    row[label] = max(row.get(label) or 0.0, float(ips))
        width = max(len(b["name"]) for b in best.values())
        print(f"{'':<{width}}  {rev:>12}  {'this checkout':>13}  ratio")
        for model, b in best.items():
            old_ips, new_ips = b[rev], b["this checkout"]
            ratio = f"{new_ips / old_ips:.2f}x" if old_ips and new_ips else "-"
            print(f"{b['name']:<{width}}  {old_ips or 0:>12,.0f}  {new_ips or 0:>13,.0f}  {ratio}"
                  + ("  (absent or failing at one of the two)" if ratio == "-" else ""))
        print(f"(images per CPU-second, one thread, best of {args.repeats} alternating runs of {args.seconds:g} s)")
    finally:
        subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(old / "tree")],
                       capture_output=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--only", choices=["vae", "gan", "hybrid", "points"],
                   help="only the rows of one family (points: the unrolled GAN's step against the GAN's on ring8)")
    p.add_argument("--against", metavar="REV", help="also measure git revision REV (step rows of --only gan/hybrid)")
    p.add_argument("--repeats", type=int, default=2, help="with --against: alternating runs per version")
    p.add_argument("--row", help=argparse.SUPPRESS)  # one model's step row, printed as NAME<TAB>IMAGES/S
    p.add_argument("--cpu-clock", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cpu_clock:
        global CLOCK
        CLOCK = time.process_time
        torch.set_num_threads(1)
    if args.against:
        return against(args.against, HYBRIDS if args.only != "gan" else ["gan", *GAN_FAMILY], args)
    dataset, extra = pick_dataset(args.dataset)
    if args.row:
        with tempfile.TemporaryDirectory() as tmp:
            name, ips = step_row(args.row, dataset, extra, args.device, args.seconds, tmp)
        print(f"{name}\t{ips}")
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, data {args.dataset}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "vae"):
            vae = trainer_for("vae", dataset, {**extra, **MLP_VAE}, 128, args.device, tmp)
            rows.append(("vae 784-512-20 MLP, batch 128 (genlab trainer)", timed(vae.train_step, 128, args.seconds)))
            if args.device == "cpu":
                rows.append(("vae 784-512-20 MLP, batch 128 (bare PyTorch loop)",
                             plain_loop(vae.data.x, 128, args.seconds)))
            for model, k in VAE_FAMILY:
                tr = trainer_for(model, dataset, {**extra, **MLP_VAE, "k": str(k)}, 128, args.device, tmp)
                ips = timed(tr.train_step, 128, args.seconds, warmup=3)
                rows.append((f"{model} K={k} (784-512-20 MLP, batch 128)", ips, f"{ips * k:>10,.0f} decoder rows/s"))
        if args.only in (None, "gan"):
            gan = trainer_for("gan", dataset, {**extra, "net": "conv"}, 128, args.device, tmp)
            rows.append(("gan with DCGAN nets 28x28, batch 128", timed(gan.train_step, 128, args.seconds, warmup=5)))
            if args.device == "cpu":
                bare = bare_gan_loop(gan, 128, args.seconds)
                rows.append(("gan with DCGAN nets 28x28, batch 128 (bare PyTorch loop)", bare,
                             f"(the trainer runs at {rows[-1][1] / bare:.2f}x of it)"))
            for model in GAN_FAMILY:  # the plain gan is the row above
                rows.append(step_row(model, dataset, extra, args.device, args.seconds, tmp))
        if args.only in (None, "points"):
            rows += unrolled_rows(args.device, args.seconds, tmp)
        if args.only in (None, "hybrid"):
            for model in HYBRIDS:
                rows.append(step_row(model, dataset, extra, args.device, args.seconds, tmp))
    width = max(len(r[0]) for r in rows)
    for name, ips, *more in rows:
        print(f"{name:<{width}}  {ips:>10,.0f} images/s", *more)


if __name__ == "__main__":
    main()
