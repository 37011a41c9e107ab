"""Training throughput (images/s) through genlab's trainer, printed as a table.

    python benchmarks/throughput.py [--dataset fashion-mnist] [--seconds 10] [--device cpu]

- vae: the 784-512-20 MLP VAE (Bernoulli likelihood), batch 128: the network and batch size of the
  well-known VAE library that trains at about 14,000 images/s on a 2-core machine (TARGETS.md section 5).
- a hand-written PyTorch loop on the same network and data (no trainer), to show the trainer's overhead.
- gan (DCGAN networks on 28x28), batch 128: images/s counted over the discriminator's real batches.
- the VAE family on the same 784-512-20 MLP, batch 128: beta-vae, cvae, vr (K=5) and iwae with K = 1, 5, 50;
  images/s and decoder rows/s (images x K): IWAE with K samples should cost about K times the decoder work.
- one training step of every GAN-family model (DCGAN networks on 28x28, batch 128, each model's own
  k / n_critic / unrolling): images/s = real images the step draws (batch x phases that draw data) per second.
Falls back to random 28x28 images when the dataset is not on this machine (said in the output).
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


GAN_FAMILY = ["dcgan", "cgan", "fgan", "wgan", "wgan-gp", "unrolled"]
VAE_FAMILY = [("beta-vae", 1), ("cvae", 1), ("vr", 5), ("iwae", 1), ("iwae", 5), ("iwae", 50)]  # (model, K)
MLP_VAE = {"hidden": "512", "latent_dim": "20", "net": "mlp"}


def timed(step, batch_size: int, seconds: float, warmup: int = 20) -> float:
    for _ in range(warmup):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n * batch_size / (time.perf_counter() - t0)


def trainer_for(model: str, dataset: str, overrides: dict, batch_size: int, device: str, tmp: str) -> Trainer:
    cfgs = api.make_configs(model, dataset, overrides, train={"batch_size": batch_size, "device": device,
                                                              "log_every": 100})
    dev = api.resolve_device(device)
    cls = api.MODELS.get(model)
    data = load_data(cfgs["data"], preferred_range=cls.preferred_range, device=dev)
    net = api.build_model(model, cfgs["model"], data.info, dev)
    run = RunDir.create(f"{tmp}/{model}-{overrides.get('k', '')}", overwrite=True)
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--only", choices=["vae", "gan"], help="only the VAE-family or the GAN-family rows")
    args = p.parse_args()
    dataset = args.dataset
    try:
        api.make_configs("vae", dataset)
        from genlab.config import DataConfig

        load_data(DataConfig(dataset=dataset, download=False))
    except DataError:
        print(f"({dataset} is not on this machine: using random 28x28 images instead)")
        import numpy as np

        tmpd = tempfile.mkdtemp()
        rng = np.random.default_rng(0)
        np.savez(f"{tmpd}/random.npz", x=rng.random((60000, 1, 28, 28), dtype=np.float32),
                 y=rng.integers(0, 10, 60000))
        dataset = "npz"
        extra = {"path": f"{tmpd}/random.npz"}
    else:
        extra = {}
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
            for model in GAN_FAMILY:  # the plain gan is the row above
                tr = trainer_for(model, dataset, {**extra, "net": "conv"}, 128, args.device, tmp)
                drawn = 128 * sum(p.data for p in tr.phases)  # real images per step
                rows.append((f"{model} step (DCGAN nets 28x28, batch 128, {len(tr.phases)} phases)",
                             timed(tr.train_step, drawn, args.seconds, warmup=3)))
    width = max(len(r[0]) for r in rows)
    for name, ips, *more in rows:
        print(f"{name:<{width}}  {ips:>10,.0f} images/s", *more)


if __name__ == "__main__":
    main()
