"""genlab from Python: the README's example runs as written, typed keyword values are checked, `import
genlab` stays cheap."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import genlab
from genlab.errors import ConfigError, RunDirError

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_python_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (block,) = [b for b in blocks if "genlab.train(" in b]
    return block


@pytest.mark.slow
def test_the_readme_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(readme_python_example(), "README.md", "exec"), ns)
    run, x, again = ns["run"], ns["x"], ns["again"]
    assert run.path == Path("runs/vae-digits") and again.path == run.path and run.status() == "finished"
    assert x.shape == (64, 1, 8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert run.config["model_config"]["latent_dim"] == 8 and run.config["train"]["epochs"] == 2
    assert "reconstruction" in ns["scores"] and run.metrics[-1]["step"] == 46  # 23 steps an epoch (1,500 / 64)
    # a second run with the same names gets a new folder; typed values are checked like KEY=VALUE words
    second = genlab.train("vae", dataset="digits", steps=3, hidden=(16,), latent_dim=2, progress=False)
    assert second.path == Path("runs/vae-digits-2") and len(second.sample(5, seed=1)) == 5
    assert np.array_equal(second.sample(5, seed=1), genlab.open_run("runs/vae-digits-2").sample(5, seed=1))


def test_bad_values_and_folders_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="invalid value 2.5 for 'latent_dim'; expected an integer"):
        genlab.train("vae", dataset="digits", out=tmp_path / "r", latent_dim=2.5)
    with pytest.raises(ConfigError, match="unknown config key 'latnet_dim'"):
        genlab.train("vae", dataset="digits", out=tmp_path / "r", latnet_dim=2)
    assert not (tmp_path / "r").exists()
    with pytest.raises(RunDirError):
        genlab.open_run(tmp_path)


def test_import_genlab_loads_no_torch():
    code = "import sys, genlab; assert 'torch' not in sys.modules; print(genlab.__version__, 'train' in dir(genlab))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [genlab.__version__, "True"]
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        genlab.nope
