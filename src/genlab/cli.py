"""The `genlab` command: demo, train, resume, sample, evaluate, evaluator, compare, report, sweep, reproduce, explain,
models, datasets."""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
from pathlib import Path
from typing import Optional

from . import __version__
from .config import EVAL_SETTINGS
from .errors import GenlabError



def _length_args(p: argparse.ArgumentParser, what: str) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int, help=f"{what} in epochs (passes over the data)")
    g.add_argument("--steps", type=int, help=f"{what} in steps (generator/model updates)")
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="train with N processes on this machine, started by torchrun (data parallel: each takes "
                        "its slice of every batch_size minibatch); several machines: see the README")


def _moved_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-path", help="where the run's npz file or image folder is now, if it moved since training "
                                       "(it must hold the same data)")
    p.add_argument("--data-dir", help="where the run's dataset files are now, if they moved since training")


def _evaluate_arguments(e: argparse.ArgumentParser) -> None:
    """`genlab evaluate`'s options (also listed by `genlab metrics NAME`)."""
    e.add_argument("dir")
    e.add_argument("--metrics", required=True, help="comma-separated metric names (see `genlab metrics`)")
    e.add_argument("--split", choices=["train", "test"], default="test",
                   help="the data split to score or compare with (default: test)")
    for name, (flag, meaning, kind) in EVAL_SETTINGS.items():  # default: each metric's own
        typed = {"choices": kind} if isinstance(kind, tuple) else {"type": kind}
        # the long name too: under torchrun (`torchrun ... -m genlab evaluate`) its parser takes --n for an
        # abbreviation of its own --nnodes/--nproc-per-node
        long = "--" + name.replace("_", "-")
        e.add_argument(flag, *([long] if long != flag else []), dest=name, help=meaning, **typed)
    e.add_argument("--batch-size", type=int, default=500, help="examples per batch while computing (does not change results)")
    e.add_argument("--seed", type=int, default=0, help="seeds the samples and the data drawn (default 0)")
    e.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="where to compute (default cpu)")
    e.add_argument("--recompute", action="store_true", help="compute even where a stored result exists")
    e.add_argument("--force", action="store_true",
                   help="report numbers on features that cannot be trusted (an evaluator classifier near chance)")
    e.add_argument("--allow-data-change", action="store_true",
                   help="evaluate even though the run's data changed since it was trained")
    _moved_data_args(e)
    e.add_argument("--checkpoint", default="latest",
                   help="the checkpoint to use: latest (default), best (kept by best=METRIC) or step-N")


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """genlab's parser. Given the `command` typed, sweep, reproduce and explain get their options and tables
    only when they are that command: each table is a module, and `genlab models` need not import them all."""
    p = argparse.ArgumentParser(prog="genlab", description="Train, sample and compare deep generative models.")
    p.add_argument("--version", action="version", version=f"genlab {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("demo", help="train a small VAE and GAN on built-in data (no download, a few minutes)")
    d.add_argument("--out", default="genlab-demo", help="folder for the demo's run directories (default: genlab-demo)")
    d.add_argument("--quick", action="store_true", help="a much shorter demo (seconds; for tests)")

    t = sub.add_parser("train", help="train MODEL on a dataset into a new run directory",
                       epilog="Any config field can be set as KEY=VALUE (or --KEY VALUE), e.g. latent_dim=2 "
                              "batch_size=128 hidden=512,256. `genlab models` lists the models.")
    t.add_argument("model", nargs="?", help="a registered model (see `genlab models`; `genlab models MODEL` lists "
                                            "its options)")
    t.add_argument("--dataset", help="a registered dataset (see `genlab datasets`)")
    t.add_argument("--config", help="settings from a JSON (or YAML) file: a run's config.json repeats that run; "
                                    "options and KEY=VALUE given beside it win")
    t.add_argument("--out", required=True, help="the run directory to create")
    _length_args(t, "training length")
    t.add_argument("--seed", type=int)
    t.add_argument("--preset", help="a model's named protocol, e.g. iwae-paper (see `genlab models`)")
    t.add_argument("--device", choices=["cpu", "cuda", "auto"])
    t.add_argument("--data-dir", help="look here first for data files (also $GENLAB_DATA)")
    t.add_argument("--overwrite", action="store_true", help="replace an existing run directory")

    r = sub.add_parser("resume", help="continue a run from its latest checkpoint",
                       epilog="The learning rates and the schedule may change as KEY=VALUE, e.g. lr=1e-4 "
                              "lr_schedule=linear (recorded in config.json's history).")
    r.add_argument("dir")
    _length_args(r, "new total length")
    r.add_argument("--device", choices=["cpu", "cuda", "auto"])
    r.add_argument("--allow-data-change", action="store_true",
                   help="resume even though the run's data changed since it was trained")

    st = sub.add_parser("status", help="say whether runs are running, finished, interrupted, failed or crashed")
    st.add_argument("dirs", nargs="+", metavar="DIR")

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("dir")
    s.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    s.add_argument("--out", help="write the samples as a .npy array (images: N x C x H x W in [0, 1])")
    s.add_argument("--grid", help="write a picture of the samples (.png or .jpg)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--class", dest="label", type=int, help="conditional models: samples of this class only")
    s.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    s.add_argument("--checkpoint", default="latest",
                   help="the checkpoint to use: latest (default), best (kept by best=METRIC) or step-N")

    e = sub.add_parser("evaluate", help="compute metrics of a trained run; print JSON and store it in the run",
                       epilog="Each setting means one thing for every metric; left unset, it takes the default of "
                              "each metric that reads it (`genlab metrics` lists them). A result computed before "
                              "with the same settings, checkpoint and data is re-used.")
    _evaluate_arguments(e)

    ev = sub.add_parser("evaluator", help="the domain classifiers that give image features offline")
    evsub = ev.add_subparsers(dest="action", metavar="ACTION")
    evsub.required = True
    evt = evsub.add_parser("train", help="train (or find in the cache) DATASET's classifier; print its test accuracy")
    evt.add_argument("dataset")
    evt.add_argument("--data-dir", help="look here first for data files (also $GENLAB_DATA)")
    evt.add_argument("--path", help="the file or folder of the 'npz' and 'folder' datasets")
    evt.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])

    cp = sub.add_parser("compare", help="one table of the evaluated metrics of several runs (markdown, CSV)")
    cp.add_argument("dirs", nargs="+", metavar="DIR")
    cp.add_argument("--metrics", help="the columns to show, in this order: metrics (fid,kid) or their numbers "
                                      "(precision); default: every one, ordered by kind")
    cp.add_argument("--out", help="also write the table to OUT.md and OUT.csv")
    cp.add_argument("--html", action="store_true", help="also write the comparison page OUT.html (with --out)")

    rep = sub.add_parser("report", help="write a page to open in a browser: a run's, several runs' side by side, "
                                        "or a reproduction's",
                         description="One DIR: DIR/report.html, everything the run directory holds (a reproduction's "
                                     "folder: its table, checks and figures). Several: one comparison page (--out).")
    rep.add_argument("dirs", nargs="+", metavar="DIR")
    rep.add_argument("--out", help="the page to write (default: DIR/report.html; needed to compare several runs)")
    rep.add_argument("--serve", action="store_true",
                     help="then serve the page on localhost, written again at every load (Ctrl-C stops)")
    rep.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000; 0: any free one)")
    rep.add_argument("--tensorboard", action="store_true",
                     help="also write each run's curves and sample grids as TensorBoard event files in "
                          "DIR/tensorboard (pip install 'genlab[tensorboard]')")

    mt = sub.add_parser("metrics", help="list the registered evaluation metrics; with NAME, its options")
    mt.add_argument("name", nargs="?", metavar="NAME", help="print this metric's description and evaluate's options")

    pc = sub.add_parser("pictures", help="(re)draw a run's pictures: reconstructions, latent space, interpolations")
    pc.add_argument("dir")
    pc.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    pc.add_argument("--checkpoint", default="latest",
                   help="the checkpoint to use: latest (default), best (kept by best=METRIC) or step-N")
    _moved_data_args(pc)

    sw = sub.add_parser("sweep", help="train MODEL over a grid, random draws or an Optuna study of settings and "
                                      "seeds; a table of mean +- SE per setting and an effects figure",
                        epilog="Any config field can be fixed for every trial as KEY=VALUE, as in `genlab train`. "
                               "A sweep stopped and started again re-uses finished trials and resumes the others.")
    if command in (None, "sweep"):
        from .sweep.command import add_arguments as sweep_arguments

        sweep_arguments(sw)

    rp = sub.add_parser("reproduce", help="reproduce a classic table with one command")
    rsub = rp.add_subparsers(dest="table", metavar="TABLE")
    rsub.required = True
    if command in (None, "reproduce"):
        from .reproduce.catalog import REPRODUCTIONS

        for name, rep in REPRODUCTIONS.items():
            text = rep.description.replace("%", "%%")  # argparse formats help strings with %
            rep.add_arguments(rsub.add_parser(name, help=text, description=text))

    xp = sub.add_parser("explain", help="a teaching figure with a known answer, in under a minute on a CPU")
    xsub = xp.add_subparsers(dest="name", metavar="NAME")
    xsub.required = True
    if command in (None, "explain"):
        from .explain.catalog import EXPLAINERS

        for name, exp in EXPLAINERS.items():
            exp.add_arguments(xsub.add_parser(name, help=exp.description, description=exp.description))

    ms = sub.add_parser("models", help="list the registered models; with MODEL, every option it takes")
    ms.add_argument("name", nargs="?", metavar="MODEL", help="print this model's options: type, default, meaning")
    ds = sub.add_parser("datasets", help="list the registered datasets and whether their files are here; with NAME, "
                                         "the data options")
    ds.add_argument("name", nargs="?", metavar="NAME", help="print this dataset's options and training defaults")
    ds.add_argument("--data-dir", help="also look here for data files")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(next((word for word in argv if not word.startswith("-")), ""))
    args, extra = parser.parse_known_args(argv)
    args.command_line = shlex.join(["genlab", *argv])  # shown on report pages
    try:
        if extra and args.command not in ("train", "resume", "sweep"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if getattr(args, "nproc", 1) != 1:
            from .distributed import launch

            return launch(args.nproc, argv)
        return COMMANDS[args.command](args, extra) or 0
    except GenlabError as e:
        print(f"genlab: error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # the file system: a full disk, a read-only folder, no permission ...
        print(f"genlab: error: {os_error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genlab: interrupted", file=sys.stderr)
        return 130
    finally:
        if "genlab.distributed" in sys.modules:
            sys.modules["genlab.distributed"].teardown()


FS_HINTS = {errno.ENOSPC: "the disk is full: free some space", errno.EDQUOT: "the disk quota is used up",
            errno.EROFS: "the file system is read-only", errno.EACCES: "check the folder's permissions",
            errno.EPERM: "check the folder's permissions"}


def os_error_message(e: OSError) -> str:
    """One line naming the path and the cause of a file-system error."""
    where = f"{e.filename}: " if e.filename else ""
    hint = FS_HINTS.get(e.errno)
    return f"{where}{e.strerror or e}" + (f" ({hint})" if hint else "")


def train_overrides(args, extra: list[str]) -> dict[str, str]:
    """`genlab train`'s options and KEY=VALUE words as the overrides of `api.make_configs`."""
    from .config import parse_override_args

    overrides = parse_override_args(extra)
    for key in ("epochs", "steps", "seed", "device", "data_dir", "preset"):
        value = getattr(args, key)
        if value is not None:
            overrides[key] = str(value)
    if args.steps is not None:
        overrides.setdefault("epochs", "0")
    return overrides


def cmd_train(args, extra: list[str]) -> int:
    from .api import make_configs, train
    from .config import read_config_file
    from .errors import ConfigError

    if args.model and "=" in args.model:  # no MODEL (it is in the config file): the first KEY=VALUE took its place
        extra, args.model = [args.model, *extra], None
    model, overrides = read_config_file(args.config) if args.config else (None, {})
    overrides.update(train_overrides(args, extra))
    model = args.model or model
    dataset = args.dataset or overrides.pop("data.dataset", None) or overrides.pop("dataset", None)
    overrides.pop("data.dataset", None), overrides.pop("dataset", None)
    if model is None or dataset is None:
        missing = " and ".join(n for n, v in (("MODEL", model), ("--dataset", dataset)) if v is None)
        raise ConfigError(f"say which model and data to train: give {missing}"
                          + (f" (or put them in {args.config})" if args.config else " (or --config FILE)"))
    cfgs = make_configs(model, dataset, overrides)
    run = train(model, args.out, cfgs, overwrite=args.overwrite)
    _report(run)
    return 0


def cmd_resume(args, extra) -> int:
    from .api import is_complete, resume
    from .config import parse_override_args
    from .rundir import RunDir

    overrides = parse_override_args(extra)
    complete = Path(args.dir, "config.json").is_file() and is_complete(RunDir(args.dir))
    run, start, end = resume(args.dir, epochs=args.epochs, steps=args.steps, device=args.device,
                             allow_data_change=args.allow_data_change, overrides=overrides)
    if start == end:
        done = "" if complete else " (its final pictures and status were missing: drawn now, marked finished)"
        if _leads():
            print(f"{run.path} is already at step {end}{done}; pass --epochs or --steps to train longer")
        return 0
    if _leads():
        print(f"resumed {run.path} at step {start}, trained to step {end}")
    _report(run)
    return 0


def cmd_sample(args, extra) -> int:
    import numpy as np

    from .api import sample
    from .errors import ConfigError
    from .plots import GRID_MAX_IMAGES, PICTURE_FORMATS, save_image_grid, save_points

    if not args.out and not args.grid:
        raise ConfigError("say where to write the samples: --out FILE.npy and/or --grid FILE.png")
    if args.out and not args.out.endswith(".npy"):
        raise ConfigError(f"--out must name a .npy file, got {args.out!r}")
    if args.grid and Path(args.grid).suffix.lower() not in PICTURE_FORMATS:
        raise ConfigError(f"--grid must name a {' or '.join(sorted(PICTURE_FORMATS))} file, got {args.grid!r}")
    for flag, target in (("--out", args.out), ("--grid", args.grid)):
        if target and Path(target).exists() and not Path(target).is_file():
            raise ConfigError(f"{flag} {target} exists and is not a file (a folder?); name a file to write")
    x = sample(args.dir, args.n, seed=args.seed, device=args.device, label=args.label,
               checkpoint=args.checkpoint)
    if args.out:
        from .rundir import atomic_path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(Path(args.out)) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, x)
        print(f"wrote {len(x)} samples {tuple(x.shape)} to {args.out}")
    if args.grid:
        Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
        if x.ndim == 4:
            shown = x[:GRID_MAX_IMAGES]
            save_image_grid(shown, args.grid)
        else:
            shown = x
            save_points(x, args.grid)
        more = f" (the first {len(shown):,} of {len(x):,}: a grid of more is unreadable" + \
            (f"; all {len(x):,} are in {args.out})" if args.out else "; --out FILE.npy keeps them all)")
        print(f"wrote a picture of the samples to {args.grid}" + (more if len(shown) < len(x) else ""))
    return 0


def cmd_evaluate(args, extra) -> int:
    import json

    from . import distributed
    from .evaluate import EvalConfig, evaluate
    from .load import resolve_device

    device = resolve_device(args.device)
    dist = distributed.setup(device.type)  # under torchrun: the ranks share the work, rank 0 reports
    config = EvalConfig(metrics=args.metrics, split=args.split, batch_size=args.batch_size, seed=args.seed,
                        device=distributed.device_for(dist, device.type) if dist.enabled else str(device),
                        checkpoint=args.checkpoint, force=args.force, data_path=args.data_path,
                        data_dir=args.data_dir, **{k: getattr(args, k) for k in EVAL_SETTINGS})
    evaluate(args.dir, config, recompute=args.recompute, allow_data_change=args.allow_data_change,
             say=lambda text: print(text, file=sys.stderr) if dist.main else None,
             show=lambda results: print(json.dumps(results, indent=2), flush=True), dist=dist)
    if dist.main:
        _refresh_page(args.dir)
    return 0


def cmd_status(args, extra) -> int:
    from .rundir import RunDir

    for d in args.dirs:
        st = RunDir.open(d).status()
        state = st.get("state", "not started")
        pid = f" (process {st['pid']})" if "pid" in st else ""
        message = f": {st['message']}" if st.get("message") else ""
        print(f"{d}: {state} at step {st.get('step', 0)}{pid}{message}")
    return 0


def cmd_evaluator(args, extra) -> int:
    from . import data  # noqa: F401  (registers datasets)
    from .api import resolve_device
    from .metrics.classifier import load_classifier
    from .registry import DATASETS

    DATASETS.get(args.dataset)
    cfg = {"dataset": args.dataset, "data_dir": args.data_dir or "", "path": args.path or ""}
    clf = load_classifier(cfg, device=str(resolve_device(args.device)))
    info = clf.info
    print(f"{args.dataset} classifier: test accuracy {info['test_accuracy']:.4f} "
          f"({info['n_test']} test images; trained on {info['n_train']} for {info['steps']} steps)")
    print(f"  cached in {clf.folder}")
    return 0


def cmd_compare(args, extra) -> int:
    from .compare import compare, load_runs, write_outputs
    from .errors import ConfigError

    if args.html and not args.out:
        raise ConfigError("--html writes OUT.html beside OUT.md and OUT.csv: give --out OUT too")
    chosen = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    table = compare(load_runs(args.dirs), chosen)
    print(table.markdown(), end="")
    for path in write_outputs(table, args.out):
        print(f"wrote {path}")
    if args.html:
        from .report.comparison import write_comparison_report

        print(f"wrote {write_comparison_report(args.dirs, f'{args.out}.html')}")
    return 0


def cmd_report(args, extra) -> int:
    from .report.write import write_report

    def render() -> Path:
        return write_report(args.dirs, args.out)

    page = render()
    print(f"wrote {page} (open it in a browser: {page.resolve().as_uri()})")
    if args.tensorboard:
        from .report.tensorboard import write_tensorboard

        for d in args.dirs:
            print(f"wrote {write_tensorboard(d)} (tensorboard --logdir {d}/tensorboard)")
    if args.serve:
        from .report.serve import serve

        serve(render, args.port)
    return 0


def cmd_metrics(args, extra) -> int:
    return _listing("metrics", args.name, _metric_list, _metric_options, "genlab.metrics")


def _metric_list() -> str:
    """`genlab metrics`: every metric with its description and the settings it reads."""
    from .metrics.base import METRICS

    width = max([len(n) for n in METRICS.names()] or [0])
    text = ""
    for name, m in METRICS.items():
        text += f"{name:<{width}}  {m.description}\n"
        if m.defaults_text():
            text += f"{'':<{width}}  reads: {m.defaults_text()}\n"
    return text


def _metric_options(name: str) -> str:
    """`genlab metrics NAME`: what it is, and evaluate's options (each metric reads those it needs)."""
    from .metrics.base import METRICS

    metric = METRICS.get(name)
    parser = argparse.ArgumentParser()
    _evaluate_arguments(parser)
    options = [a for a in parser._actions if a.option_strings and a.dest not in ("help", "metrics")]
    text = (f"{name}: {metric.description}\n\noptions of `genlab evaluate DIR --metrics {name}` "
            f"(each metric reads those it needs):\n")
    for a in options:
        kind = "choice" if a.choices else "flag" if a.nargs == 0 else (a.type or str).__name__
        choices = f"  ({' | '.join(a.choices)})" if a.choices else ""
        default = "" if a.default is None or a.default is False else f"  default {a.default}"
        text += f"  {a.option_strings[0]:<20}  {kind}{default}{choices}\n  {'':<20}  {a.help}\n"
    return text


def cmd_pictures(args, extra) -> int:
    from .api import resolve_device
    from .pictures import make_pictures

    written = make_pictures(args.dir, str(resolve_device(args.device)), args.checkpoint, args.data_path, args.data_dir)
    for p in written:
        print(p)
    if not written:
        print(f"{args.dir}: this model has no encoder; its pictures are the sample grids and curves in samples/")
    return 0


def _refresh_page(path: str) -> None:
    """Rewrite the run's page when it has one, so that it shows what was just added (said on stderr: stdout
    holds evaluate's JSON)."""
    from .report.runpage import REPORT, write_run_report

    if (Path(path) / REPORT).exists():
        print(f"updated {write_run_report(path)}", file=sys.stderr)


def cmd_sweep(args, extra) -> int:
    from .sweep.command import run

    return run(args, extra)


def cmd_reproduce(args, extra) -> int:
    from .reproduce.catalog import REPRODUCTIONS

    return REPRODUCTIONS.get(args.table).run(args) or 0


def cmd_explain(args, extra) -> int:
    from .explain import one_thread
    from .explain.catalog import EXPLAINERS

    explainer = EXPLAINERS.get(args.name)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with one_thread():  # every explainer computes on small tensors
        explainer.run(args)
    return 0


def cmd_models(args, extra) -> int:
    return _listing("models", args.name, _model_list, _model_options, "genlab.models")


def _listing(command: str, name: Optional[str], make_list, make_one, registering_module: str) -> int:
    """Print `genlab COMMAND [NAME]`, stored in the cache after the first call (``listing.py``: it answers
    without importing torch)."""
    from .listing import listing

    words = [command, *([name] if name else [])]
    print(listing(words, (lambda: make_one(name)) if name else make_list, registering_module), end="")
    return 0


def _model_list() -> str:
    """`genlab models`: every model with its description and its named presets."""
    from . import models  # noqa: F401
    from .registry import MODELS

    width = max(len(n) for n in MODELS.names())
    text = ""
    for name, cls in MODELS.items():
        text += f"{name:<{width}}  {cls.description}\n"
        if cls.named_presets:
            text += f"{'':<{width}}  presets: {', '.join(sorted(cls.named_presets))}\n"
    return text


def cmd_datasets(args, extra) -> int:
    from . import data  # noqa: F401
    from .config import DataConfig
    from .registry import DATASETS

    if args.name:
        print(_dataset_options(args.name, args.data_dir or ""), end="")
        return 0
    width = max(len(n) for n in DATASETS.names())
    for name, spec in DATASETS.items():
        avail = spec.available(DataConfig(dataset=name, data_dir=args.data_dir or ""))
        mark = "present" if avail.present else "missing"
        print(f"{name:<{width}}  [{mark}] {spec.description}")
        print(f"{'':<{width}}            {avail.where}")
    return 0


def _model_options(name: str) -> str:
    """`genlab models MODEL`: what it is, its presets, every model option and the training options."""
    from . import models  # noqa: F401
    from .config import TrainConfig
    from .options import format_options, options
    from .registry import MODELS

    cls = MODELS.get(name)
    text = f"{name}: {cls.description}\n"
    if cls.named_presets:
        text += f"presets (--preset NAME): {', '.join(sorted(cls.named_presets))}\n"
    for kind, sections in cls.presets.items():
        changes = [f"{k}={','.join(map(str, v)) if isinstance(v, (tuple, list)) else v}"  # as KEY=VALUE takes it
                   for values in sections.values() for k, v in values.items()]
        text += f"on {kind} data the defaults change: {', '.join(changes)}\n"
    text += f"\nmodel options (KEY=VALUE on `genlab train {name}`):\n" + format_options(options(cls.Config))
    text += "\ntraining options (the same for every model):\n" + format_options(options(TrainConfig))
    return text + "\ndata options: `genlab datasets NAME`\n"


def _dataset_options(name: str, data_dir: str) -> str:
    """`genlab datasets NAME`: what it is, where its files are, the data options and its training defaults."""
    from .config import DataConfig
    from .options import format_options, options
    from .registry import DATASETS

    spec = DATASETS.get(name)
    avail = spec.available(DataConfig(dataset=name, data_dir=data_dir))
    text = f"{name} ({spec.kind}): {spec.description}\n  [{'present' if avail.present else 'missing'}] {avail.where}\n"
    if spec.train_defaults:
        text += f"training defaults on {name}: {', '.join(f'{k}={v}' for k, v in spec.train_defaults.items())}\n"
    return text + "\ndata options (KEY=VALUE on `genlab train`):\n" + format_options(options(DataConfig))


def cmd_demo(args, extra) -> int:
    from .demo import run_demo

    run_demo(Path(args.out), quick=args.quick)
    return 0


def _leads() -> bool:
    """Whether this process speaks for the run: one of several processes training it (torchrun) is quiet
    unless it is rank 0."""
    import os

    return os.environ.get("RANK", "0") == "0"


def _report(run) -> None:
    if not _leads():
        return
    from .live_eval import summary_line

    print(f"run directory: {run.path}")
    print(f"  samples:     {run.samples / 'final.png'}")
    print(f"  loss curves: {run.samples / 'curves.png'}")
    print(f"  page:        {run.path / 'report.html'} (everything above in a browser)")
    line = summary_line(run)
    if line:
        print(f"  {line}")


COMMANDS = {
    "demo": cmd_demo,
    "train": cmd_train,
    "resume": cmd_resume,
    "status": cmd_status,
    "sample": cmd_sample,
    "evaluate": cmd_evaluate,
    "metrics": cmd_metrics,
    "evaluator": cmd_evaluator,
    "compare": cmd_compare,
    "report": cmd_report,
    "reproduce": cmd_reproduce,
    "sweep": cmd_sweep,
    "explain": cmd_explain,
    "pictures": cmd_pictures,
    "models": cmd_models,
    "datasets": cmd_datasets,
}

if __name__ == "__main__":
    sys.exit(main())
