"""Data-parallel training on a CPU: images/s of one process with T threads against N processes with T/N
threads each (`genlab train ... --nproc N`), the same global batch, printed as a table.

    python benchmarks/distributed.py [--threads 2] [--steps 150] [--dataset fashion-mnist]

Rows: the 784-512-20 MLP VAE (batch 128) and the DCGAN (conv nets, batch 128, 28x28). Each configuration
trains a fresh run through the real CLI; images/s are counted from the run's own metrics.jsonl clock between its first and
last logged row (so start-up, the first steps' warm-up and the final pictures are left out). On a machine
whose cores are shared with other work the figures move; run it when it is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROWS = {"vae": ["net=mlp", "hidden=512", "latent_dim=20", "batch_size=128"],
        "dcgan": ["batch_size=128"]}


def images_per_second(run: Path, batch: int) -> float:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    return (last["step"] - first["step"]) * batch / (last["time"] - first["time"])


def train(model: str, dataset: str, steps: int, procs: int, threads: int, out: Path) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "genlab", "train", model, "--dataset", dataset, "--out", str(out), "--steps",
           str(steps), "--nproc", str(procs), "log_every=10", "sample_every=0", *ROWS[model]]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    return images_per_second(out, 128)  # one minibatch drawn per step (the VAE; the DCGAN's D phase)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 2, help="CPU threads in all (default: all)")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--models", default="vae,dcgan")
    args = p.parse_args()
    n = args.threads
    print(f"| model | 1 process x {n} threads | {n} processes x 1 thread | ratio |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            one = train(model, args.dataset, args.steps, 1, n, Path(tmp, f"{model}-1"))
            many = train(model, args.dataset, args.steps, n, 1, Path(tmp, f"{model}-{n}"))
            print(f"| {model} | {one:,.0f} images/s | {many:,.0f} images/s | {many / one:.2f} |", flush=True)


if __name__ == "__main__":
    main()
