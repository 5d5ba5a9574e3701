"""Run folders: where a run's config, checkpoints, logs and pictures live, and how to recognise one.

```
RUN/config.json                 the resolved config, the data's facts and who provided each part
RUN/checkpoints/last.safetensors, best.safetensors
RUN/metrics.jsonl               one JSON object per logged step / validation
RUN/samples/step_000500.png     sample grids (images) or scatter plots (2-D points)
RUN/loss_curve.png, val_curve.png   the losses by step; the validation score against training minutes
RUN/.lock                       held (flock) by the process training the run; see ganzoo.train.lock
```
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

from ganzoo.errors import CheckpointError, ConfigError, GanzooWarning
from ganzoo.io import TEMP_PREFIX, atomic_write_bytes, atomic_write_json, tensors_digest
from ganzoo.specs import DataInfo
from ganzoo.train import distributed
from ganzoo.train.lock import LOCK_FILE, RunLock

__all__ = ["CONFIG_FILE", "METRICS_FILE", "checkpoint_path", "default_run_dir", "prepare_new_run", "read_run_config",
           "info_to_json", "info_from_json", "clean_temp_files", "open_run", "write_run_config", "update_run_config",
           "data_record", "check_installed"]

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
RUN_FORMAT = "ganzoo-run"


def checkpoint_path(run_dir: Path, which: str = "last") -> Path:
    return run_dir / "checkpoints" / f"{which}.safetensors"


def default_run_dir(arch: str, dataset: str, root: str = "runs") -> Path:
    """``runs/<arch>-<dataset>``, or the first ``-2``, ``-3``... that does not exist yet."""
    base = Path(root) / f"{arch}-{dataset}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=TEMP_PREFIX + "probe."):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot write to {folder}: {exc.strerror or exc}; choose another --out") from None


def prepare_new_run(run_dir: Path) -> None:
    """Make sure a new run can be written to ``run_dir`` without touching an existing run."""
    _refuse_existing_run(run_dir)
    _check_new_run_folder(run_dir)


def _check_new_run_folder(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {run_dir} is a file, not a folder")
    _check_writable(run_dir)


def _refuse_existing_run(run_dir: Path) -> None:
    if (run_dir / CONFIG_FILE).exists():
        started = "" if checkpoint_path(run_dir).exists() else " (it stopped before its first checkpoint: --resume starts it from step 0)"
        raise ConfigError(f"{run_dir} already holds a run{started}: continue it with --resume {run_dir}, "
                          "or choose another --out")


def _claim_default_run_dir(arch: str, dataset: str) -> Path:
    """``default_run_dir``, created here: two runs started together never pick the same number."""
    while True:
        candidate = default_run_dir(arch, dataset)
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot write to {candidate}: {exc.strerror or exc}; choose another --out") from None


@contextlib.contextmanager
def open_run(run_dir: Optional[Path], world: distributed.World, *, resume: bool,
             default_name: tuple[str, str]) -> Iterator[Path]:
    """The run folder, trained by this process alone for the duration of the block.

    Rank 0 claims it: a new run's folder (``run_dir``, or the next free ``runs/ARCH-DATASET[-N]``) must not hold a run;
    a resumed one must. It holds the folder's lock (``RunLock``) until the block ends and broadcasts the path to the
    other ranks. A new run that fails before writing anything leaves no folder behind.
    """
    lock = None
    if world.main:
        if resume:
            assert run_dir is not None, "a resumed run names its folder"
            lock = RunLock(run_dir).acquire()
        else:
            if run_dir is None:
                run_dir = _claim_default_run_dir(*default_name)
            _check_new_run_folder(run_dir)
            lock = RunLock(run_dir).acquire()  # before looking for a run there: the holder may be writing one
            try:
                _refuse_existing_run(run_dir)
            except BaseException:
                lock.release()
                raise
    run_dir = Path(distributed.broadcast_object(str(run_dir), world))
    try:
        yield run_dir
    except BaseException:
        if lock is not None and not resume:
            lock.release()
            _discard_if_unused(run_dir)
        raise
    finally:
        if lock is not None:
            lock.release()


def _discard_if_unused(run_dir: Path) -> None:
    if run_dir.is_dir() and not any(p.is_file() and p.name != LOCK_FILE for p in run_dir.rglob("*")):
        shutil.rmtree(run_dir, ignore_errors=True)


def write_run_config(run_dir: Path, config_json: Mapping[str, Any], info: DataInfo,
                     providers: Mapping[str, Mapping[str, str]], ganzoo_version: str, data: Mapping[str, Any],
                     notes: Sequence[str] = ()) -> None:
    """``providers``: kind -> the name, package and version of each part; ``data``: what the run read
    (``data_record``), so a run says which files it learnt from; ``notes``: what the trainer chose for this machine
    (``--precision auto``'s choice and why)."""
    atomic_write_json(run_dir / CONFIG_FILE, {
        "format": RUN_FORMAT,
        "ganzoo_version": ganzoo_version,
        "config": dict(config_json),
        "data_info": info_to_json(info),
        "data": dict(data),
        "providers": {kind: dict(record) for kind, record in providers.items()},
        **({"notes": list(notes)} if notes else {}),
    })


def data_record(dataset: str, x: Any, y: Any, info: DataInfo) -> dict[str, Any]:
    """The dataset's name, where its training split came from (the loader's ``meta["source"]``, else the dataset's
    name) and a SHA-256 fingerprint of the training tensors as the trainer saw them (after resizing)."""
    return {"dataset": dataset, "source": str(info.meta.get("source") or f"dataset {dataset!r}"),
            "samples": int(len(x)), "fingerprint": "sha256:" + tensors_digest(x, y)[:32]}


def update_run_config(run_dir: Path, config_json: Mapping[str, Any]) -> None:
    """Replace the config of an existing run (a resume's new --steps or cadences), keeping what else it recorded."""
    atomic_write_json(run_dir / CONFIG_FILE, {**read_run_config(run_dir), "config": dict(config_json)})


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a run folder, or ``CheckpointError`` saying why ``run_dir`` is not a run."""
    path = run_dir / CONFIG_FILE
    if not run_dir.exists():
        raise CheckpointError(f"{run_dir} does not exist: give the run folder that 'ganzoo train --out' wrote")
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is not a folder: give the run folder that 'ganzoo train --out' wrote")
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a ganzoo run (no {CONFIG_FILE}): give the folder that 'ganzoo train --out' wrote")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is damaged ({type(exc).__name__}); the run cannot be read") from None
    if not isinstance(data, dict) or data.get("format") != RUN_FORMAT or "config" not in data:
        raise CheckpointError(f"{path} is not a ganzoo run config")
    _read_as_trained(data, run_dir)
    return data


def check_installed(registry: Any, saved: Mapping[str, Any], run_dir: Path) -> None:
    """Refuse, naming the package to install, a run whose architecture, loss, dataset or metric is no longer
    installed (runs record each part's package and version since 2026-12-02; older ones get the registry's message)."""
    from ganzoo.registry import KIND_TITLES

    for kind, record in (saved.get("providers") or {}).items():
        if not isinstance(record, dict) or kind not in KIND_TITLES:
            continue
        if any(e.name == record["name"] for e in registry.entries(kind)):
            continue  # installed (from this package, or from one it moved to)
        else:
            package, version = record.get("package", "?"), record.get("version", "?")
            raise ConfigError(f"{run_dir} was trained with {KIND_TITLES[kind]} {record['name']!r} from {package} "
                              f"{version}, which is not installed: pip install '{package}=={version}'")


def _read_as_trained(saved: dict[str, Any], run_dir: Path) -> None:
    """Name a run's dataset as it is called today. Until 2026-12-02 ``mnist`` read IDX files (Debian's Fashion-MNIST
    when no --data-dir was given) and real MNIST was ``mnist_digits``; runs of that time record no ``data`` entry."""
    config = saved["config"]
    if "data" in saved or not isinstance(config, dict):
        return
    if config.get("dataset") == "mnist_digits":
        config["dataset"] = "mnist"
    elif config.get("dataset") == "mnist" and not config.get("data_dir"):
        from ganzoo.data.idx import FASHION_MNIST_DIR, legacy_mnist_dir

        folder = legacy_mnist_dir()
        if folder is None or folder == FASHION_MNIST_DIR:  # Debian's Fashion-MNIST was the folder looked in first
            config["dataset"], read_as = "fashion_mnist", "'fashion_mnist'"
        else:
            config["data_dir"], read_as = folder, f"'mnist' with --data-dir {folder}"
        warnings.warn(f"{run_dir} was trained when 'mnist' read Debian's IDX files (Fashion-MNIST first): read as "
                      f"{read_as}", GanzooWarning, stacklevel=3)


def info_to_json(info: DataInfo) -> dict[str, Any]:
    return {"kind": info.kind, "shape": list(info.shape), "num_classes": info.num_classes,
            "value_range": list(info.value_range), "class_names": list(info.class_names), "meta": dict(info.meta)}


def info_from_json(data: Mapping[str, Any]) -> DataInfo:
    return DataInfo(kind=data["kind"], shape=tuple(data["shape"]), num_classes=int(data["num_classes"]),
                    value_range=tuple(data["value_range"]), class_names=tuple(data.get("class_names", ())),
                    meta=dict(data.get("meta", {})))


def clean_temp_files(run_dir: Path) -> int:
    """Remove temporary files a crash left behind (they never replace a good file); returns how many."""
    removed = 0
    for tmp in run_dir.rglob(TEMP_PREFIX + "*"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed += 1
    return removed


def truncate_metrics(run_dir: Path, last_step: int) -> None:
    """Drop log lines written after ``last_step`` (the checkpoint being resumed), so a resumed log has no duplicates."""
    if not (run_dir / METRICS_FILE).exists():
        return
    kept = [json.dumps(r) for r in read_metrics(run_dir) if r.get("step", 0) <= last_step]  # the loop writes json.dumps
    atomic_write_bytes(run_dir / METRICS_FILE, ("\n".join(kept) + "\n").encode() if kept else b"")


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / METRICS_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


