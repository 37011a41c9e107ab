"""The colour-image presets measured: parameters, training throughput and the time an epoch takes.

    python benchmarks/presets.py [--seconds 10] [--device cpu] [--presets cifar10,celeba64] [--models ...]

For every model that has ``--preset cifar10`` (32x32) and ``--preset celeba64`` (64x64): its parameter
count, training images/s through genlab's trainer at the preset's batch size (random images of the
preset's size: the cost does not depend on the pixels), the time one epoch of the real dataset (50,000 or
162,770 images) would take at that rate, and whether a few hundred steps keep every loss finite.
"""

from __future__ import annotations

import argparse
import math
import tempfile

import numpy as np
import torch
from throughput import timed, trainer_for

from genlab import api

SIZES = {"cifar10": (32, 50_000), "celeba64": (64, 162_770)}  # preset -> (image side, training images)
MODELS = ["vae", "iwae", "dcgan", "wgan-gp", "vaegan", "aae", "bigan", "alphagan"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="timing per row")
    p.add_argument("--device", default="cpu")
    p.add_argument("--presets", default=",".join(SIZES))
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--finite-steps", type=int, default=20, help="steps that must keep every loss finite")
    args = p.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(f"{'model':<10} {'preset':<9} {'params':>8} {'images/s':>9} {'min/epoch':>10}  finite", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            side, n_train = SIZES[preset]
            data = f"{tmp}/{preset}.npz"
            rng = np.random.default_rng(0)
            np.savez(data, x=rng.integers(0, 256, (2048, 3, side, side), dtype=np.uint8), y=rng.integers(0, 10, 2048))
            for model in args.models.split(","):  # each row printed when measured: a partial run still reports
                batch = api.make_configs(model, "npz", {"preset": preset})["train"].batch_size
                tr = trainer_for(model, "npz", {"path": data, "preset": preset}, batch, args.device, tmp)
                params = sum(p.numel() for p in tr.model.parameters())
                for _ in range(args.finite_steps):  # the trainer's NaN guard raises on a non-finite loss
                    tr.train_step()
                finite = all(math.isfinite(p.detach().abs().sum().item()) for p in tr.model.parameters())
                ips = timed(tr.train_step, batch * sum(ph.data for ph in tr.phases), args.seconds, warmup=2)
                print(f"{model:<10} {preset:<9} {params / 1e6:>7.2f}M {ips:>9,.0f} {n_train / ips / 60:>10.1f}  {finite}",
                      flush=True)

if __name__ == "__main__":
    main()
