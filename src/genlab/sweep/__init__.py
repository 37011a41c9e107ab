"""`genlab sweep`: a model trained over many settings and seeds, and what the settings changed.

- ``space``: the parameters (``KEY=V1,V2`` lists and ``log:``/``float:``/``int:`` ranges), their grid, random
  draws and the folder name of each setting.
- ``trials``: one run directory per setting and seed through the reproductions' train-or-reuse path (a stopped
  sweep resumes), in this process or one process per trial (``--jobs``), then evaluated.
- ``optuna_search``: ``--search optuna``: TPE with median pruning on the eval rows, studies in a journal file or
  a database shared by workers, heartbeats that fail and retry a dead worker's trial (``genlab[sweep]``).
- ``results``: the table (mean +- standard error over seeds per setting, the best setting) and effects.png.
- ``command``: the command line.
"""
