"""The Python API, for notebooks and scripts: what ``ganzoo train``, ``sample`` and ``eval`` do, on the same code path
(the same config resolution, trainer, checkpoints and metrics), returning Python objects instead of printing.

```python
from ganzoo.api import train, open_run

run = train(arch="wgan_gp", dataset="ring", steps=500, out="runs/ring", set={"hidden": 64})
points = run.sample(1000, seed=1)                 # a tensor (1000, 2), from the averaged generator
scores = run.evaluate(n=1000)["metrics"]["modes"]["score"]
run = open_run("runs/ring")                       # a finished run, later
threes = run.sample(64, class_id=3)               # a run trained with conditional=True
```

Errors are the CLI's typed errors (``ganzoo.errors``), with the same one-line messages.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from ganzoo.errors import ConfigError

__all__ = ["Run", "open_run", "train"]

PathLike = Union[str, Path]


class Run:
    """A run folder (``ganzoo train --out``): its settings and logs, and its generator to sample and evaluate.

    Attributes:
        path: the folder.
        status: how the training call that returned this run ended ("finished", "interrupted", "early_stopped"), or
            None for a run opened with ``open_run``.
    """

    def __init__(self, path: PathLike, status: Optional[str] = None):
        from ganzoo.train.run import read_run_config

        self.path = Path(path)
        self._saved = read_run_config(self.path)  # CheckpointError, one line, when it is not a run
        self.status = status

    def __repr__(self) -> str:
        cfg = self.config
        return f"Run({str(self.path)!r}: {cfg['arch']} on {cfg['dataset']}, {cfg['steps']} steps)"

    @property
    def config(self) -> dict[str, Any]:
        """The run's full resolved config, as saved in ``config.json``."""
        return dict(self._saved["config"])

    @property
    def data_info(self) -> dict[str, Any]:
        """The facts of its training data (kind, shape, classes, value range), as saved in ``config.json``."""
        return dict(self._saved["data_info"])

    def records(self) -> list[dict[str, Any]]:
        """Every record of ``metrics.jsonl``: logged losses and throughput, and validations (``{"step", "val"}``)."""
        from ganzoo.train.run import read_metrics

        return read_metrics(self.path)

    def sample(self, n: int = 64, *, seed: int = 0, class_id: Optional[int] = None, checkpoint: str = "last",
               device: str = "cpu", noise_scale: float = 1.0) -> "torch.Tensor":  # noqa: F821
        """``n`` samples ``(n, *shape)`` on the CPU from the checkpoint's generator (the averaged one when the run kept
        it), as ``ganzoo sample`` draws them: the same seed gives the same samples. Conditional runs: ``class_id``
        draws one class; otherwise the classes take turns. ``noise_scale`` multiplies the noise (``--noise-scale``)."""
        from ganzoo.registry import default_registry
        from ganzoo.train.sample import check_noise_scale, draw_samples, load_generator

        if n < 1:
            raise ConfigError(f"n={n} must be at least 1")
        check_noise_scale(noise_scale)
        return draw_samples(load_generator(default_registry(), self.path, checkpoint, device), n, seed, class_id,
                            noise_scale)

    def save_samples(self, out: PathLike, n: int = 64, *, seed: int = 0, class_id: Optional[int] = None,
                     checkpoint: str = "last", device: str = "cpu", noise_scale: float = 1.0) -> Path:
        """Write ``n`` samples to ``out``: ``.png`` (an image grid, or a scatter plot of points) or ``.npy``;
        ``noise_scale`` multiplies the noise (``--noise-scale``)."""
        from ganzoo.registry import default_registry
        from ganzoo.train.sample import load_generator, sample_to_file

        loaded = load_generator(default_registry(), self.path, checkpoint, device)
        sample_to_file(loaded, n, Path(out), seed, class_id, noise_scale)
        return Path(out)

    def evaluate(self, n: int = 2500, *, metrics: Sequence[str] = (), checkpoint: str = "last", seed: int = 0,
                 device: str = "cpu", save: bool = True, noise_scale: float = 1.0) -> dict[str, Any]:
        """``ganzoo eval``'s report as a dict: ``{"step", "n", "metrics": {name: {"score", "floor", "primary",
        "higher_is_better"}}, ...}``; with ``save``, also written to ``RUN/eval/<checkpoint>_step<step>.json``.
        ``noise_scale`` multiplies the generator's noise (``--noise-scale``)."""
        from ganzoo.evaluate import evaluate
        from ganzoo.registry import default_registry

        return evaluate(default_registry(), self.path, checkpoint, n, metrics, seed, device, save,
                        noise_scale=noise_scale).to_json()


def open_run(path: PathLike) -> Run:
    """The run in ``path``; ``CheckpointError`` (one line) when it is not one."""
    return Run(path)


def train(arch: Optional[str] = None, *, out: Optional[PathLike] = None, resume: Optional[PathLike] = None,
          set: Optional[Mapping[str, Any]] = None, progress: bool = False, tune_malloc: bool = False,
          **options: Any) -> Run:  # noqa: A002
    """Train a GAN as ``ganzoo train`` does and return its run.

    Args:
        arch: the architecture (default: ``wgan_gp``).
        out: the run folder (default: the next free ``runs/ARCH-DATASET[-N]``); it must not hold a run yet.
        resume: continue the run in this folder up to ``steps`` instead (only resumable options may change).
        set: architecture hyper-parameters, data options (``"data.KEY"``) and trainer fields, as ``--set KEY=VALUE``
            takes them, e.g. ``{"hidden": 64, "data.n": 5000}``.
        progress: show a progress bar on stderr.
        tune_malloc: set glibc's malloc up for the training loop as ``ganzoo train`` does on the CPU (faster CPU steps;
            the setting lasts for the rest of the process, which keeps up to its peak heap: ``ganzoo.train.allocator``).
            Off by default, because a library call must not change a notebook's process behind its back.
        **options: the command line's options by their Python names: ``dataset``, ``loss``, ``steps``,
            ``batch_size``, ``lr_g``, ``betas=(0.5, 0.9)``, ``conditional=True``, ``image_size``, ``device``,
            ``seed``, ``val_every``, ...

    Raises:
        ConfigError and the other ``ganzoo.errors``: bad settings, named; GanzooError when training diverged.
    """
    from ganzoo.registry import default_registry
    from ganzoo.train import train as run_training
    from ganzoo.train.config import resolve_run

    _check_option_names(options)
    if resume is not None and out is not None:
        raise ConfigError("give either resume= or out=, not both")
    set_items = [f"{key}={_as_set_value(value)}" for key, value in (set or {}).items()]
    registry = default_registry()
    given = {"arch": arch, **options}
    resolved = resolve_run(registry, Path(resume) if resume is not None else None, given, set_items)
    folder = resume if resume is not None else out
    result = run_training(resolved, Path(folder) if folder is not None else None, resume=resume is not None,
                          progress=_progress_bar() if progress else None, tune_malloc=tune_malloc)
    if result.status == "diverged":
        raise result.diverged_error(resolved.config.max_rollbacks, "lr_g/lr_d or grad_clip")
    return Run(result.run_dir, result.status)


def _check_option_names(options: Mapping[str, Any]) -> None:
    from ganzoo.train.config import TrainConfig

    known = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("arch", "hparams", "data_options")]
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"train() has no option {key!r}: {hint}architecture hyper-parameters and data options "
                              "go in set={...}")


def _as_set_value(value: Any) -> str:
    """A Python value written as ``--set`` parses it back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if value is None or isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _progress_bar() -> Any:
    from ganzoo.console import ProgressBar  # the CLI's bar: one look for both

    return ProgressBar()
