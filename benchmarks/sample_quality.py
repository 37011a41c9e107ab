"""Time of FID, KID, precision/recall and density/coverage together on 10,000 real and 10,000 generated
images, features included, once the domain classifier is cached; and the N(0, I) known answers.

    python benchmarks/sample_quality.py [--run DIR] [--dataset fashion-mnist] [--n 10000]
    python benchmarks/sample_quality.py --prdc-gaussian

- The real images are the first N of the test split. The generated images are N samples of the run DIR
  (drawn before the clock starts; their drawing time is printed apart), or, without --run, N images of
  the training split standing in for a model (said in the output).
- Timed: the classifier's features of both sets (computed, not read from the real-feature cache), then
  FID, KID (100 subsets of 1,000), precision/recall (k=3) and density/coverage (k=5).
- --prdc-gaussian: precision, recall, density and coverage with k = 5 between two sets of 10,000 draws of
  N(0, I) in 1,000 dimensions, over several independent draws (they vary from draw to draw), beside the
  values of TARGETS.md section 4 (one draw, Naeem et al. 2020).
The CPU threads torch uses and the machine's load average are printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from genlab.config import DataConfig
from genlab.data.base import load_data
from genlab.metrics import sample_quality as sq
from genlab.metrics.features import build_extractor, extract
from genlab.metrics.samples import KID_SEED, SAMPLES_SEED, cpu_generator, draw_samples

PUBLISHED_GAUSSIAN = {"precision": 0.477, "recall": 0.471, "density": 1.056, "coverage": 0.974}


def conditions() -> str:
    load = os.getloadavg()
    return (f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {os.cpu_count()} CPUs, "
            f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min)")


def prdc_gaussian(n: int, d: int, seeds: int) -> None:
    """The estimators vary from draw to draw (hubness in 1,000 dimensions), so several draws are shown."""
    rows, seconds = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        real = rng.standard_normal((n, d)).astype(np.float32)
        fake = rng.standard_normal((n, d)).astype(np.float32)
        t0 = time.perf_counter()
        rows.append(sq.prdc(real, fake, k_pr=5, k_dc=5))
        seconds.append(time.perf_counter() - t0)
    print(f"precision/recall/density/coverage, k=5, N(0, I) in {d} dimensions, {n} real and {n} fake draws, "
          f"{seeds} independent draws (seeds 0..{seeds - 1})")
    print(f"{'':<10} {'published':>9} {'mean':>7} {'std':>7}  per draw")
    for key, published in PUBLISHED_GAUSSIAN.items():
        v = np.array([r[key] for r in rows])
        print(f"{key:<10} {published:>9.3f} {v.mean():>7.3f} {v.std(ddof=1) if seeds > 1 else 0:>7.3f}  "
              + " ".join(f"{x:.3f}" for x in v))
    print(f"{np.mean(seconds):.1f} s per draw; {conditions()}")


def timed_metrics(args) -> None:
    dcfg = DataConfig(dataset=args.dataset)
    real_x = load_data(dcfg, split="test").x[: args.n]
    if args.run:
        from genlab.api import load_trained

        _, _, model = load_trained(args.run)
        t0 = time.perf_counter()
        fake_x = draw_samples(model, args.n, SAMPLES_SEED)
        what = f"{args.n} samples of {args.run} (drawn in {time.perf_counter() - t0:.1f} s, not timed below)"
    else:
        fake_x = load_data(dcfg, split="train").x[: args.n]
        what = f"{args.n} training images standing in for generated ones (no --run given)"
    ext = build_extractor("classifier", {"dataset": args.dataset}, "image")
    print(f"real: {len(real_x)} test images of {args.dataset}; generated: {what}")
    print(f"features: domain classifier {ext.identity} (test accuracy {ext.about['classifier_test_accuracy']})")

    times, values = {}, {}
    t0 = time.perf_counter()
    real = extract(ext, real_x, args.batch_size)["features"]
    fake = extract(ext, fake_x, args.batch_size)["features"]
    times["features (both sets)"] = time.perf_counter() - t0
    t = time.perf_counter()
    values["fid"] = sq.fid(real, fake)
    times["fid"] = time.perf_counter() - t
    t = time.perf_counter()
    values.update(sq.kid(real, fake, sq.kid_subsets(args.n, args.n, sq.KID_SUBSETS, min(sq.KID_SUBSET_SIZE, args.n),
                                                     cpu_generator(KID_SEED))))
    times["kid (100 x 1000)"] = time.perf_counter() - t
    t = time.perf_counter()
    values.update(sq.prdc(real, fake))
    times["precision/recall k=3 + density/coverage k=5"] = time.perf_counter() - t
    total = time.perf_counter() - t0

    width = max(len(k) for k in times)
    for key, seconds in times.items():
        print(f"  {key:<{width}}  {seconds:6.1f} s")
    print(f"  {'total':<{width}}  {total:6.1f} s   (target: under 60 s on 2 CPU cores)")
    print("values: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items()))
    print(conditions())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", help="a trained run directory to draw the generated images from")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--prdc-gaussian", action="store_true", help="only the N(0, I) known-answer check")
    p.add_argument("--seeds", type=int, default=5, help="--prdc-gaussian: independent draws (default 5)")
    args = p.parse_args()
    if args.prdc_gaussian:
        prdc_gaussian(args.n, 1000, args.seeds)
    else:
        timed_metrics(args)


if __name__ == "__main__":
    main()
