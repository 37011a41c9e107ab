"""Start-up: `genlab --help`, every command's help and the listings answer without importing torch.

`genlab models` and `genlab metrics` are made once and stored in the cache (``listing.py``); what they print is
the same with and without the stored text, and a changed source file, a damaged file or a cache folder that
cannot be written make it again without an error. Timings are a benchmark's business
(``benchmarks/startup.py``), not these tests'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from genlab import cli, listing

# runs each command through genlab's main in one process and says what it printed and whether torch was imported
PROBE = """
import contextlib, io, json, sys
from genlab.cli import main

printed = []
for words in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main(words)
        except SystemExit:  # --help
            pass
    printed.append(out.getvalue())
print(json.dumps({"printed": printed, "torch": "torch" in sys.modules}))
"""
STORED = [["models"], ["models", "vae"], ["metrics"]]
HELPS = [["--help"], ["train", "--help"], ["evaluate", "--help"], ["sweep", "--help"], ["reproduce", "--help"],
         ["reproduce", "divergence-fit", "--help"], ["explain", "--help"], ["explain", "gan-1d", "--help"]]


def genlab(cache, *commands: list[str]) -> subprocess.Popen:
    env = {**os.environ, "GENLAB_CACHE": str(cache), "COLUMNS": "100"}
    return subprocess.Popen([sys.executable, "-c", PROBE, json.dumps(commands)], env=env, stdout=subprocess.PIPE,
                            text=True)


def answer(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    return json.loads(out)


@pytest.mark.slow  # three Python processes, two importing torch and every model: 15-20 s
def test_listings_are_stored_and_the_second_call_and_every_help_answer_without_torch(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    # two processes side by side; in the first, `metrics` is stored too, as genlab.models does not import the metrics
    first = [answer(p) for p in [genlab(cache, ["models"], ["metrics"]), genlab(cache, ["models", "vae"])]]
    assert all(r["torch"] for r in first)  # made from the registries
    assert len(list((cache / "listings").iterdir())) == len(STORED)
    again = answer(genlab(cache, *STORED, ["models"], ["datasets"], ["datasets", "mnist"], *HELPS))
    assert not again["torch"]
    printed = dict(zip(map(tuple, [*STORED, ["models"], ["datasets"], ["datasets", "mnist"], *HELPS]),
                       again["printed"]))
    made = [*first[0]["printed"], *first[1]["printed"]]
    for words, text in zip([["models"], ["metrics"], ["models", "vae"]], made):  # as made from the registries
        assert printed[tuple(words)] == text
    assert "wgan-gp" in printed[("models",)] and "latent_dim" in printed[("models", "vae")]
    assert "fid" in printed[("metrics",)]
    monkeypatch.setenv("GENLAB_CACHE", str(cache))  # `datasets` says where it looked
    for words in (["datasets"], ["datasets", "mnist"]):
        assert cli.main(words) == 0
        assert printed[tuple(words)] == capsys.readouterr().out
    assert "mode-collapse" in printed[("reproduce", "--help")] and "gan-1d" in printed[("explain", "--help")]
    assert "--divergences" in printed[("reproduce", "divergence-fit", "--help")]
    for words in HELPS:
        assert printed[tuple(words)].startswith("usage: genlab")


def test_every_command_parses_and_helps_as_the_full_parser_does(capsys):
    """`main` builds only the typed command's tables and options (sweep, reproduce, explain): the same parser for
    that command as the one with everything."""
    full = cli.build_parser()
    commands = next(a for a in full._actions if a.dest == "command").choices
    cases = [["--help"], ["nosuch"], []]
    for name, parser in commands.items():
        cases.append([name, "--help"])
        for action in parser._actions:
            if isinstance(action.choices, dict):  # reproduce TABLE, explain NAME, evaluator ACTION
                cases += [[name, sub, "--help"] for sub in action.choices] + [[name, "nosuch"]]
    assert ["reproduce", "mode-collapse", "--help"] in cases and ["explain", "gan-1d", "--help"] in cases
    for words in cases:
        printed = []
        for parser in (cli.build_parser(), cli.build_parser(next((w for w in words if not w.startswith("-")), ""))):
            with pytest.raises(SystemExit):
                parser.parse_known_args(words)
            printed.append(capsys.readouterr())
        assert printed[0] == printed[1], words
    args, _ = cli.build_parser("reproduce").parse_known_args(["reproduce", "mode-collapse", "--out", "x"])
    assert (args.table, args.out) == ("mode-collapse", "x")


def made_by(texts: list[str]):
    """A listing's maker that returns the next of `texts` and counts its calls."""
    def make() -> str:
        make.calls += 1
        return texts[make.calls - 1]

    make.calls = 0
    return make


def test_a_stored_listing_is_made_again_when_a_source_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    make = made_by(["first\n", "second\n"])
    words = ["models", "vae"]
    assert listing.listing(words, make, "genlab.not-imported") == "first\n"
    assert listing.listing(words, make, "genlab.not-imported") == "first\n" and make.calls == 1
    assert listing.listing(["models"], made_by(["other\n"]), "genlab.not-imported") == "other\n"  # its own entry
    files = list((tmp_path / "listings").iterdir())
    fingerprint = listing.source_fingerprint()
    edited = [(fingerprint[0][0], fingerprint[0][1] + 1, fingerprint[0][2]), *fingerprint[1:]]
    monkeypatch.setattr(listing, "source_fingerprint", lambda: edited)
    assert listing.listing(words, make, "genlab.not-imported") == "second\n" and make.calls == 2
    assert listing.listing(words, make, "genlab.not-imported") == "second\n" and make.calls == 2
    assert sorted((tmp_path / "listings").iterdir()) == sorted(files)  # rewritten in place, no file per version
    # a registry already imported in this process may hold entries added here: made, not stored
    in_process = made_by(["live\n"])
    assert listing.listing(words, in_process, "genlab") == "live\n" and in_process.calls == 1
    assert listing.listing(words, make, "genlab.not-imported") == "second\n"


def test_the_fingerprint_sees_an_edited_added_or_removed_source_file(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "vae.py").write_text("x = 1\n")
    (tmp_path / "cli.py").write_text("y = 2\n")
    (tmp_path / "notes.txt").write_text("not source\n")
    before = listing.source_fingerprint(tmp_path)
    assert [entry[0] for entry in before] == ["cli.py", os.path.join("models", "vae.py")]
    assert listing.source_fingerprint(tmp_path) == before
    (tmp_path / "notes.txt").write_text("still not source\n")
    assert listing.source_fingerprint(tmp_path) == before
    stat = (tmp_path / "cli.py").stat()
    os.utime(tmp_path / "cli.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000))  # saved again, same size
    touched = listing.source_fingerprint(tmp_path)
    assert touched != before
    (tmp_path / "models" / "gan.py").write_text("z = 3\n")
    added = listing.source_fingerprint(tmp_path)
    assert len(added) == 3
    (tmp_path / "models" / "gan.py").unlink()
    assert listing.source_fingerprint(tmp_path) == touched


@pytest.mark.parametrize("damage", [b"", b"{not json", b"\xff\xfe", b'{"key": 1, "text": "x"}', b"[1, 2]",
                                    b'{"text": 5}'])
def test_a_damaged_stored_listing_is_made_again_and_rewritten(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path))
    make = made_by(["made\n", "made again\n"])
    assert listing.listing(["metrics"], make, "genlab.not-imported") == "made\n"
    (file,) = (tmp_path / "listings").iterdir()
    file.write_bytes(damage)
    assert listing.listing(["metrics"], make, "genlab.not-imported") == "made again\n"
    assert listing.listing(["metrics"], make, "genlab.not-imported") == "made again\n" and make.calls == 2
    assert json.loads(file.read_text())["text"] == "made again\n"


def test_a_cache_folder_that_cannot_be_written_only_means_nothing_is_stored(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "a-file"))  # its listings/ cannot be made
    make = made_by(["made\n", "made again\n"])
    assert listing.listing(["metrics"], make, "genlab.not-imported") == "made\n"
    assert listing.listing(["metrics"], make, "genlab.not-imported") == "made again\n"


def test_tables_are_written_without_importing_torch():
    """compare.Table (what every reproduction and sweep writes its table with) needs no metric registry."""
    code = ("import sys; from genlab.compare import Estimate, Table; "
            "t = Table(['a', 'b'], [['x', Estimate(1.0, 0.1)]]); assert '1.00 +- 0.10' in t.markdown(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
