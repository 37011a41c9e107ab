"""What a page shows of a run, read from its run directory only (never from the trainer).

``read_run`` gathers a ``RunView``: the saved config, the status, the training curves and the eval rows of
``metrics.jsonl``, the sample grid of every epoch, the pictures, the stored evaluations and the command that
trains the run again. Files that are missing are simply absent from the view (a run that is still in its
first epoch has no grid yet); a file that exists but cannot be read is an error that names it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import RunDirError
from ..rundir import RunDir, read_json

EVALUATION = "evaluation.json"  # written by `genlab evaluate` (genlab.evaluate.EVALUATION)
NOT_TERMS = {"step", "epoch", "time"}  # the columns of a metrics row that are not logged terms

# the pictures of samples/ that are not epoch grids, in the order a page shows them: (file, title, what it shows)
PICTURES = [
    ("final.png", "Final samples", "samples at the end of training, from the fixed noise of the epoch grids"),
    ("over-epochs.png", "Samples over training", "the fixed-noise samples of the first, middle and last epoch"),
    ("reconstructions.png", "Reconstructions", "rows of test images, each above the row of their reconstructions"),
    ("interpolations.png", "Interpolations",
     "decodings along straight lines in latent space between two test images, one pair per row"),
    ("latent.png", "Latent space", "posterior means of test examples, coloured by class"),
    ("manifold.png", "Learned manifold", "the decoder over a grid of the 2-D latent space"),
    ("translations.png", "Translations",
     "test images of each domain above their translations and their cycle reconstructions"),
]
STATIC_CURVES = "curves.png"
EPOCH_FILE = re.compile(r"^epoch-(\d+)\.png$")


@dataclass
class RunView:
    """Everything a run page shows, read from the run directory."""

    path: Path
    name: str
    config: dict
    status: dict  # {"state", "step", "message"}; {} when the run wrote none
    terms: dict[str, dict[str, list[float]]]  # term -> {"step": [...], "epoch": [...], "y": [...]}
    evals: dict[str, dict[str, dict[str, list[float]]]]  # metric -> key -> {"step", "epoch", "y"}
    epochs: list[tuple[int, Path]]  # (epoch, its sample grid), in order
    pictures: list[tuple[str, Path, str]]  # (title, file, what it shows) of those that exist
    static_curves: Optional[Path]
    evaluation: dict  # evaluation.json: metric -> {numbers..., "settings": {...}}
    checkpoints: list[str]
    last_row: dict = field(default_factory=dict)  # the last training row of metrics.jsonl

    @property
    def model(self) -> str:
        return str(self.config.get("model", "?"))

    @property
    def dataset(self) -> str:
        return str(self.config.get("data", {}).get("dataset", "?"))

    @property
    def state(self) -> str:
        return str(self.status.get("state") or "unknown")

    @property
    def kind(self) -> str:
        return str(self.config.get("data_info", {}).get("kind", "image"))

    @property
    def final(self) -> Optional[Path]:
        return next((p for _, p, _ in self.pictures if p.name == "final.png"), None)


def read_run(path: str | Path, name: Optional[str] = None) -> RunView:
    run = RunDir.open(path)
    config = run.read_config()
    if not isinstance(config, dict):
        raise RunDirError(f"{run.config_path} does not hold a JSON object; the run directory is damaged")
    name = name or run.path.resolve().name
    rows = run.read_metrics()
    terms, evals = _curves(rows)
    epochs = sorted((int(m.group(1)), p) for p in run.samples.glob("epoch-*.png")
                    if (m := EPOCH_FILE.match(p.name)))
    pictures = [(title, run.samples / file, what) for file, title, what in PICTURES if (run.samples / file).is_file()]
    known = {file for file, _, _ in PICTURES} | {STATIC_CURVES}
    pictures += [(p.stem, p, f"samples/{p.name}") for p in sorted(run.samples.glob("*.png"))
                 if p.name not in known and not EPOCH_FILE.match(p.name)]
    evaluation = read_json(run.path / EVALUATION) if (run.path / EVALUATION).is_file() else {}
    if not isinstance(evaluation, dict):
        raise RunDirError(f"{run.path / EVALUATION} does not hold a JSON object; the run directory is damaged")
    status = run.status()  # 'crashed' when the process training it is gone
    training = [r for r in rows if _is_training_row(r)]
    return RunView(
        path=run.path, name=name, config=config, status=status if isinstance(status, dict) else {},
        terms=terms, evals=evals, epochs=epochs, pictures=pictures,
        static_curves=run.samples / STATIC_CURVES if (run.samples / STATIC_CURVES).is_file() else None,
        evaluation=evaluation,
        checkpoints=sorted(p.name for p in run.checkpoints.glob("step-*") if p.is_dir()),
        last_row=training[-1] if training else {},
    )


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_training_row(row: dict) -> bool:
    return isinstance(row, dict) and "metric" not in row and "eval" not in row


def _curves(rows: list) -> tuple[dict, dict]:
    """Training terms and eval rows as series over steps.

    An eval row is ``{"step", "metric", "value" | numbers, "settings"}`` (one metric per row) or
    ``{"step", "eval": {metric: {key: number} | number}}``; every other row is a training row."""
    terms: dict[str, dict[str, list[float]]] = {}
    evals: dict[str, dict[str, dict[str, list[float]]]] = {}

    def add(series: dict, key: str, row: dict, value) -> None:
        if _number(value) and _number(row.get("step")):
            s = series.setdefault(key, {"step": [], "epoch": [], "y": []})
            s["step"].append(row["step"])
            s["epoch"].append(row["epoch"] if _number(row.get("epoch")) else math.nan)
            s["y"].append(float(value))

    for row in rows:
        if not isinstance(row, dict):
            continue
        if "metric" in row:
            values = {k: v for k, v in row.items() if k not in NOT_TERMS | {"metric", "settings"}}
            for key, v in values.items():
                add(evals.setdefault(str(row["metric"]), {}), row["metric"] if key == "value" else key, row, v)
        elif isinstance(row.get("eval"), dict):
            for metric, v in row["eval"].items():
                for key, x in (v.items() if isinstance(v, dict) else [(metric, v)]):
                    if key != "settings":
                        add(evals.setdefault(str(metric), {}), key, row, x)
        else:
            for key, v in row.items():
                if key not in NOT_TERMS:
                    add(terms, key, row, v)
    return terms, {m: s for m, s in evals.items() if s}


def metric_rows(entry: dict) -> list[dict]:
    """One stored evaluation (a metric's entry of evaluation.json) as rows of (key, value, se, spread,
    floor): ``K_se`` (or the SE of ``K``'s stem, as ``nll_se`` for ``nll_nats``) is its standard error,
    ``K_std`` its spread over subsets, ``K_real`` the real-versus-real floor."""
    numbers = {k: v for k, v in entry.items() if k != "settings" and _number(v)}
    rows, used = [], set()
    for key in [k for k in numbers if not k.endswith(("_se", "_std", "_real"))]:
        stem = key.rsplit("_", 1)[0]
        se_key = next((k for k in (f"{key}_se", f"{stem}_se") if k in numbers and k not in used), None)
        rows.append({"key": key, "value": numbers[key], "se": numbers.get(se_key), "std": numbers.get(f"{key}_std"),
                     "floor": numbers.get(f"{key}_real")})
        used |= {key, se_key, f"{key}_std", f"{key}_real"}
    # an SE, spread or floor whose value is not stored under its stem still gets a row of its own
    rows += [{"key": k, "value": v, "se": None, "std": None, "floor": None} for k, v in numbers.items() if k not in used]
    return rows


def model_paper(model: str) -> tuple[str, str]:
    """The model's one-line description and its module's docstring (the paper and its equation)."""
    import inspect

    MODELS, _ = registries()
    if model not in MODELS:
        return f"{model} (not a model of this genlab version)", ""
    cls = MODELS.get(model)
    module = inspect.getmodule(cls)
    return cls.description, inspect.cleandoc(module.__doc__ or "") if module else ""


def registries():
    """genlab's model and dataset registries, filled."""
    from .. import data as _data  # noqa: F401  (registration)
    from .. import models as _models  # noqa: F401
    from ..registry import DATASETS, MODELS

    return MODELS, DATASETS
