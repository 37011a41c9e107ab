"""`genlab reproduce NAME`: one command per classic table, each a registered ``Reproduction``.

A reproduction adds its own command-line options, trains its grid of runs into an output folder (one
run directory each, so that every run can be sampled, evaluated and resumed on its own), evaluates them
(``genlab.evaluate``: results stored for the same settings and checkpoint are re-used) and writes its table
beside the published values as one ``compare.Table``: markdown and CSV (``compare.write_outputs``).

The built-in reproductions register themselves when ``reproduce.catalog`` is imported (this package does not
import them: they import it).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

from ..registry import Registry


@dataclass
class Reproduction:
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


REPRODUCTIONS: Registry = Registry("reproduction")


def write_table(md_path, csv_path, md: str, rows: list[dict], fields: list[str] | None = None) -> None:
    """A reproduction's document and its rows, each file written atomically (a crash leaves the old file):
    `md`, the markdown people read (a ``compare.Table``'s, with its checks and settings as sections), and the
    CSV of `rows` through ``compare.Table`` (one record per row, for programs; columns `fields` or the first
    row's keys; floats rounded to 4 places). For mode-collapse and vae-vs-gan, whose CSV records are not their
    markdown table's rows; the others write one ``compare.Table`` as both (``compare.write_outputs``)."""
    from ..compare import Table
    from ..rundir import atomic_path

    with atomic_path(md_path) as tmp:
        tmp.write_text(md)
    with atomic_path(csv_path) as tmp:
        tmp.write_text(Table.from_records(rows, fields, digits=4).csv())


def train_or_reuse(name: str, model: str, dataset: str, path, overrides: dict, what: str = "",
                   pictures: bool = True, progress: bool | None = None, quiet: bool = False,
                   keep_failed: bool = False) -> str:
    """Train `model` into the run directory `path`, resume it if it stopped early, or re-use it if it
    finished: an interrupted reproduction picks up where it stopped. A run made with other settings is
    refused (``check_same_settings``). With `keep_failed`, a run that diverged is left as it is. Says which,
    prefixed with [name], unless `quiet`; returns "trained", "resumed", "re-used" or "failed"."""
    from pathlib import Path

    from ..api import make_configs, resume, train
    from ..rundir import RunDir

    say = (lambda text: None) if quiet else (lambda text: print(f"[{name}] {text}", flush=True))
    path = Path(path)
    state = RunDir(path).read_status().get("state") if (path / "config.json").exists() else None
    if state is not None:
        check_same_settings(path, model, dataset, overrides)
    if state == "finished":
        say("already trained; re-using it")
        return "re-used"
    if state == "failed" and keep_failed:
        return "failed"
    if state is not None:
        say("resuming an unfinished run")
        resume(path, progress=progress)
        return "resumed"
    say(f"training {what or model}")
    train(model, path, make_configs(model, dataset, overrides), progress=progress, pictures=pictures)
    return "trained"


def map_jobs(fn, jobs: list, workers: int):
    """fn over jobs, in this process (workers = 1) or each in a fresh process, at most `workers` at once
    (``genlab.pool``: a stop reaches the runs), yielding the results as runs finish."""
    if workers == 1 or len(jobs) <= 1:
        yield from map(fn, jobs)
        return
    from ..pool import in_processes

    yield from in_processes([(fn, (j,)) for j in jobs], min(workers, len(jobs)), "the reproduction")


def names_from(text: str, choices, what: str) -> list[str]:
    """The comma-separated names of `text`, each one of `choices` (else a one-line error listing them)."""
    from ..errors import ConfigError

    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))  # each once
    bad = [n for n in names if n not in choices]
    if bad or not names:
        raise ConfigError(f"unknown {what} {', '.join(bad) or '(none given)'}; choose from: {', '.join(choices)}")
    return names


def mean_se(values: list[float]) -> tuple[float, float]:
    """Mean and standard error over seeds (``sweep.results.mean_se``) as the reproductions' CSVs write them: a
    standard error of 0 for one value."""
    from ..sweep.results import mean_se as over_seeds

    mean, se = over_seeds(values)
    return mean, 0.0 if se is None else se


# settings that do not change what a run learns: a run may be re-used when only these differ
_INCIDENTAL = {"device", "threads", "log_every", "ckpt_every", "sample_every", "grid_size", "keep_checkpoints",
               "data_dir", "download"}


def check_same_settings(path, model: str, dataset: str, overrides: dict) -> None:
    """Refuse to re-use or resume the run in `path` when it was made with other settings than the ones this
    reproduction would train it with (another preset, or --steps): its numbers would be mislabelled."""
    import json
    from pathlib import Path

    from ..api import make_configs
    from ..config import to_dict
    from ..errors import ConfigError

    saved = json.loads((Path(path) / "config.json").read_text())
    wanted = make_configs(model, dataset, overrides)
    diffs = [f"model {saved.get('model')} (now {model})"] if saved.get("model") != model else []
    if saved.get("preset") != wanted["preset"]:
        diffs.append(f"preset {saved.get('preset')} (now {wanted['preset']})")
    for section, key in (("train", "train"), ("data", "data"), ("model", "model_config")):
        # a setting added to genlab after the run was made: the run was trained as its default
        old = {**to_dict(type(wanted[section])()), **saved.get(key, {})}
        for name, value in to_dict(wanted[section]).items():
            if name not in _INCIDENTAL and old.get(name) != value:
                diffs.append(f"{name}={old.get(name)} (now {value})")
    if diffs:
        raise ConfigError(f"{path} holds a run made with other settings: {', '.join(diffs[:6])}. Give --out a new "
                          f"folder, or delete {path} to train it again")
