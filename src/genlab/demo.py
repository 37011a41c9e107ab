"""`genlab demo`: a VAE and a GAN on built-in data, end to end, with pictures, in a few minutes on a CPU."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .api import make_configs, train
from .errors import RunDirError
from .progress import duration

# (run name, model, dataset, training settings, model overrides)
DEMO_RUNS = [
    ("vae-digits", "vae", "digits", {"epochs": 300, "sample_every": 30}, {"latent_dim": "8"}),
    ("gan-ring8", "gan", "ring8", {"epochs": 0, "steps": 4000}, {}),
    ("gan-digits", "gan", "digits", {"epochs": 600, "sample_every": 60}, {}),
]


def run_demo(out: Path, quick: bool = False) -> list[Path]:
    if out.exists() and any(out.iterdir()):
        if not (out / "DEMO").exists():
            raise RunDirError(f"{out} exists and is not a genlab demo folder; choose another --out")
        print(f"replacing the previous demo in {out}")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "DEMO").write_text("made by `genlab demo`; re-running the demo replaces this folder\n")
    runs = []
    for name, model, dataset, tr, over in DEMO_RUNS:
        if quick:
            tr = {**tr, "epochs": 0, "steps": 20, "sample_every": 1, "log_every": 5}
        t0 = time.perf_counter()
        cfgs = make_configs(model, dataset, over, train=tr)
        print(f"training {model} on {dataset} ({len(runs) + 1} of {len(DEMO_RUNS)}) ...", flush=True)
        run = train(model, out / name, cfgs)
        print(f"  done in {duration(time.perf_counter() - t0)}: {run.samples / 'final.png'}, "
              f"{run.samples / 'curves.png'}", flush=True)
        runs.append(run.path)
    print(f"demo finished; run directories are in {out}/ (samples/*.png in each)")
    return runs
