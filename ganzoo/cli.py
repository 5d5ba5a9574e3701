"""The ``ganzoo`` command line: the only place that turns errors into messages and exit codes.

Heavy modules (torch, the trainer) are imported inside the commands that need them, so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any, Optional, Sequence

import click

from ganzoo.errors import ConfigError, GanzooError

__all__ = ["cli", "main"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
_ARGV: list[str] = []


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("GANZOO_DEBUG", "") not in ("", "0")


def _one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="ganzoo", prog_name="ganzoo")
def cli(debug: bool) -> None:
    """ganzoo: a plugin-based GAN zoo for PyTorch.

    \b
    ganzoo list                      what is installed (architectures, losses, datasets, metrics)
    ganzoo train --arch wgan_gp      train on the embedded default data
    ganzoo doctor                    torch, devices, the compiled extension, plugins
    ganzoo new-plugin NAME           write a plugin package to start from (docs/plugins.md)
    """


# --------------------------------------------------------------------------------------------------------------- list
@cli.command("list")
@click.option("--kind", type=click.Choice(["arch", "loss", "dataset", "metric"]), help="Show one kind only.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON array.")
def list_command(kind: Optional[str], as_json: bool) -> None:
    """Every installed architecture, loss, dataset and metric, with the package that provides it."""
    from ganzoo.registry import default_registry

    registry = default_registry()
    rows = [
        {"kind": e.kind, "name": e.name, "package": e.package, "version": e.version, "description": e.spec.description}
        for e in registry.entries(kind)
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_table(rows, ["kind", "name", "package", "version", "description"]))
    clashes = registry.clashes(kind)
    for providers in clashes:
        names = ", ".join(repr(p.qualified_name) for p in providers)
        click.echo(f"note: {providers[0].name!r} is provided by several packages; pick one as {names}", err=as_json)
    _print_failures(registry.failures, err=as_json)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(nothing installed)"
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


def _print_failures(failures: Sequence[Any], *, err: bool = False) -> None:
    if not failures:
        return
    click.echo(f"\n{len(failures)} plugin(s) failed to load and were skipped:", err=err)
    for f in failures:
        version = f" {f.version}" if f.version else ""
        click.echo(f"  {f.where}  [{f.package}{version}]  {f.error}", err=err)


# --------------------------------------------------------------------------------------------------------------- data
@cli.command("data")
@click.argument("name")
@click.option("--data-dir", type=click.Path(), help="Folder (or file) to read, for datasets that come from files.")
@click.option("--image-size", type=int, help="Side of the square images (a power of two).")
@click.option("--channels", type=click.Choice(["1", "3"]), help="1 = gray, 3 = RGB (default: the data's own).")
@click.option("--split", type=click.Choice(["train", "val"]), default="train", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of generated data.")
@click.option("--preview", type=click.Path(dir_okay=False), help="Write a PNG of the first samples here.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def data_command(name: str, data_dir: Optional[str], image_size: Optional[int], channels: Optional[str], split: str,
                 seed: int, preview: Optional[str], as_json: bool) -> None:
    """Load a dataset the way training would and describe it (optionally writing a preview PNG)."""
    from ganzoo.data import load_dataset
    from ganzoo.registry import default_registry
    from ganzoo.specs import DataRequest

    spec = default_registry().get("dataset", name)
    request = DataRequest(data_dir=data_dir, image_size=image_size, channels=int(channels) if channels else None,
                          seed=seed, split=split)
    data = load_dataset(spec, request)
    summary = {
        "dataset": spec.name, "split": split, "kind": data.info.kind, "samples": len(data.x),
        "shape": list(data.info.shape), "classes": data.info.num_classes,
        "range": [round(float(data.x.min()), 4), round(float(data.x.max()), 4)],
    }
    if preview:
        from ganzoo.viz import save_image_grid, save_scatter

        if data.info.kind == "images":
            save_image_grid(data.x[:64].numpy(), preview)
        else:
            save_scatter(data.x[:2500].numpy(), preview, title=f"{spec.name}: 2,500 samples")
        summary["preview"] = preview
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo("\n".join(f"{k:<8} {v}" for k, v in summary.items()))


# -------------------------------------------------------------------------------------------------------------- train
class _TqdmProgress:
    """The training loop's progress sink: a tqdm bar on stderr with the latest losses and throughput."""

    def start(self, total: int, initial: int) -> None:
        from tqdm import tqdm

        # in a log file (CI, nohup) a bar redrawn ten times a second would be most of the log
        interval = 0.2 if sys.stderr.isatty() else 30.0
        self.bar = tqdm(total=total, initial=initial, unit="step", file=sys.stderr, dynamic_ncols=True, leave=True,
                        mininterval=interval, maxinterval=max(interval, 10.0))

    def update(self, step: int, record: Optional[dict]) -> None:
        self.bar.update(step - self.bar.n)
        if record and "d_loss" in record:
            self.bar.set_postfix(d=f"{record['d_loss']:.3g}", g=f"{record['g_loss']:.3g}",
                                 samples_s=f"{record['samples_per_s']:.0f}", refresh=False)

    def close(self) -> None:
        self.bar.close()


class _StopOnSigint:
    """First Ctrl-C: finish the current step, checkpoint and stop. Second Ctrl-C: stop at once."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> "_StopOnSigint":
        import signal

        self._previous = signal.getsignal(signal.SIGINT)

        def handler(signum, frame):  # noqa: ANN001
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            click.echo("\nstopping after this step (Ctrl-C again to stop at once)...", err=True)

        try:
            signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread (e.g. inside a test runner's worker): keep the default
            self._previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@cli.command("train")
@click.option("--arch", help="Architecture (default: wgan_gp). See 'ganzoo list --kind arch'.")
@click.option("--loss", help="Loss (default: the architecture's).")
@click.option("--dataset", help="Dataset (default: the architecture's: ring for wgan_gp and vanilla, digits for dcgan).")
@click.option("--data-dir", type=click.Path(), help="Folder or file for datasets read from disk.")
@click.option("--image-size", type=int, help="Side of square images, a power of two.")
@click.option("--channels", type=click.IntRange(1, 3), help="1 (gray) or 3 (RGB).")
@click.option("--conditional/--unconditional", default=None, help="Condition G and D on class labels.")
@click.option("--steps", type=int, help="Total generator steps of the run (also when resuming). [default: 2000]")
@click.option("--batch-size", type=int, help="Batch size (default: the architecture's).")
@click.option("--lr-g", type=float, help="Generator learning rate (TTUR: may differ from --lr-d).")
@click.option("--lr-d", type=float, help="Discriminator learning rate.")
@click.option("--n-critic", type=int, help="Critic updates per generator update.")
@click.option("--seed", type=int, help="Seed of initialisation, noise and data order. [default: 0]")
@click.option("--device", help="auto, cpu, cuda or cuda:N. [default: auto]")
@click.option("--ema", type=float, help="Generator weight average decay, 0 = off. [default: 0.999]")
@click.option("--label-smoothing", type=float, help="One-sided label smoothing for bce (e.g. 0.1). [default: 0]")
@click.option("--penalty-weight", type=float, help="Gradient-penalty lambda (default: the loss's, 10 for wgan_gp).")
@click.option("--penalty-every", type=int,
              help="Lazy regularisation: the penalty on every K-th critic update, weighted by K. [default: 1]")
@click.option("--fused/--no-fused", default=None,
              help="Run the losses and the penalty on ganzoo's compiled kernels (default) or on plain PyTorch.")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]),
              help="Mixed precision for the networks (autocast; fp16 adds loss scaling); losses and penalty in float32. "
                   "[default: fp32]")
@click.option("--lr-decay", type=click.Choice(["none", "linear"]),
              help="Learning-rate schedule: linear falls to 0 at the last step. [default: none]")
@click.option("--grad-clip", type=float, help="Clip gradient norms of G and D to this, 0 = off. [default: 0]")
@click.option("--log-every", type=int, help="Log losses every N steps. [default: 50]")
@click.option("--sample-every", type=int, help="Write a sample picture every N steps, 0 = only at the end. [default: 500]")
@click.option("--checkpoint-every", type=int, help="Checkpoint every N steps (and always at the end). [default: 500]")
@click.option("--val-every", type=int, help="Validate every N steps, 0 = off. [default: 500]")
@click.option("--val-metric", help="Validation metric (default: modes for ring/grid, swd otherwise).")
@click.option("--val-samples", type=int, help="Samples generated for each validation. [default: 2500]")
@click.option("--early-stop-patience", type=int, help="Stop after K validations without improvement, 0 = off.")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE",
              help="Architecture hyper-parameter (e.g. hidden=256), data option (data.n=5000) or trainer option.")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: runs/ARCH-DATASET, numbered if taken).")
@click.option("--resume", type=click.Path(), help="Continue the run in this folder up to --steps.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--nproc", type=int, help="Train in N processes on this machine (runs torchrun; --batch-size is per process).")
def train_command(set_items: tuple[str, ...], out: Optional[str], resume: Optional[str], quiet: bool,
                  nproc: Optional[int], **options: Any) -> None:
    """Train a GAN; writes checkpoints, metrics.jsonl, sample pictures and a loss curve to the run folder."""
    from pathlib import Path

    from ganzoo.registry import default_registry
    from ganzoo.train import distributed, train
    from ganzoo.train.config import resolve_config

    if nproc is not None and distributed.world().active:
        raise click.UsageError("--nproc starts torchrun itself: drop it when running under torchrun")
    if nproc is not None and nproc != 1:
        import subprocess

        command = distributed.launch_command(nproc, _without_nproc(_ARGV or sys.argv[1:]), options.get("device"))
        # PYTHONSAFEPATH: `python -m` would otherwise put the current folder first on sys.path in every rank
        env = {**os.environ, "PYTHONSAFEPATH": "1"}
        raise click.exceptions.Exit(subprocess.run(command, env=env).returncode)

    registry = default_registry()
    world = distributed.setup(_device_kind(options.get("device")))
    if resume:
        if out:
            raise click.UsageError("give either --resume RUN or --out, not both")
        run_dir = Path(resume)
        resolved = _resolve_resume(registry, run_dir, options, set_items, write=world.main)
    else:
        resolved = resolve_config(registry, options, set_items)
        from ganzoo.train.run import default_run_dir, prepare_new_run

        run_dir = None
        if world.main:  # rank 0 picks (and numbers) the folder; the others write nothing there
            run_dir = Path(out) if out else default_run_dir(resolved.config.arch, resolved.config.dataset)
            prepare_new_run(run_dir)
        run_dir = Path(distributed.broadcast_object(str(run_dir), world))
    cfg = resolved.config
    if world.main:
        ranks = f" in {world.size} processes (global batch {cfg.batch_size * world.size})" if world.active else ""
        click.echo(f"{'resuming' if resume else 'training'} {cfg.arch} ({cfg.loss} loss) on {cfg.dataset} for "
                   f"{cfg.steps} steps{ranks} -> {run_dir}", err=True)
    try:
        with _StopOnSigint() as stop:
            result = train(resolved, run_dir, resume=bool(resume),
                           progress=None if quiet or not world.main else _TqdmProgress(),
                           stop_requested=lambda: stop.requested)
    except BaseException:
        if not resume and world.main:
            _discard_if_unused(run_dir)  # a new run that failed before writing anything leaves no folder behind
        raise
    finally:
        distributed.shutdown()
    if not world.main:
        return
    if result.status == "diverged":
        raise GanzooError(f"training diverged: losses or gradients stayed NaN/Inf through {cfg.max_rollbacks} rollbacks "
                          f"with halved learning rates (see {run_dir}/metrics.jsonl); the last good checkpoint is kept "
                          f"in {run_dir}/checkpoints: start a new run with lower --lr-g/--lr-d or --grad-clip")
    last = result.last
    parts = [f"{result.status} at step {result.step}"]
    if "d_loss" in last:
        parts.append(f"d_loss {last['d_loss']:.4g}, g_loss {last['g_loss']:.4g}")
    if result.best:
        parts.append(f"best {result.best['metric']}.{result.best['key']} {result.best['value']:.4g} at step {result.best['step']}")
    click.echo("; ".join(parts))
    click.echo(f"run folder: {run_dir}")
    if result.status == "interrupted":
        click.echo(f"checkpoint saved; continue with: ganzoo train --resume {run_dir} --steps {cfg.steps}", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED)


def _discard_if_unused(run_dir: Any) -> None:
    import shutil

    if run_dir.is_dir() and not any(p.is_file() for p in run_dir.rglob("*")):
        shutil.rmtree(run_dir, ignore_errors=True)


def _device_kind(device: Optional[str]) -> str:
    if device in (None, "auto"):
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if device.startswith("cuda") else "cpu"


def _without_nproc(argv: Sequence[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def _resolve_resume(registry: Any, run_dir: Any, options: dict[str, Any], set_items: Sequence[str],
                    write: bool = True) -> Any:
    from ganzoo.io import atomic_write_json
    from ganzoo.train.config import RESUMABLE_FIELDS, check_saved, config_from_json
    from ganzoo.train.run import CONFIG_FILE, read_run_config

    saved = read_run_config(run_dir)
    config = config_from_json(saved["config"])
    if set_items:
        raise click.UsageError("--set cannot change a run being resumed; start a new run to change its settings")
    for key, value in options.items():
        if value is None:
            continue
        if key in RESUMABLE_FIELDS:
            setattr(config, key, value)
        elif value != getattr(config, key) and not (key == "arch" and value == config.arch):
            flag = "--" + key.replace("_", "-")
            raise click.UsageError(f"{run_dir} was trained with {key} {getattr(config, key)!r}; {flag} {value!r} cannot "
                                   "change it when resuming")
    resolved = check_saved(registry, config)
    if write:
        atomic_write_json(run_dir / CONFIG_FILE, {**saved, "config": resolved.config.to_json()})
    return resolved


# ------------------------------------------------------------------------------------------------------------- sample
@cli.command("sample")
@click.argument("run", type=click.Path())
@click.option("--n", "count", type=int, default=64, show_default=True, help="How many samples.")
@click.option("--out", type=click.Path(dir_okay=False), help="PNG (grid or scatter) or .npy. [default: RUN/samples/sample.png]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent noise.")
@click.option("--class", "class_id", type=int, help="Class to generate (runs trained with --conditional).")
@click.option("--checkpoint", type=click.Choice(["last", "best"]), default="last", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
def sample_command(run: str, count: int, out: Optional[str], seed: int, class_id: Optional[int], checkpoint: str,
                   device: str) -> None:
    """Generate samples from a run's checkpoint (the generator average when the run kept one)."""
    from pathlib import Path

    from ganzoo.registry import default_registry
    from ganzoo.train.sample import load_generator, sample_to_file

    run_dir = Path(run)
    target = Path(out) if out else run_dir / "samples" / "sample.png"
    loaded = load_generator(default_registry(), run_dir, checkpoint, device)
    sample_to_file(loaded, count, target, seed, class_id)
    which = "averaged generator" if loaded.averaged else "generator"
    click.echo(f"wrote {count} samples from the {which} at step {loaded.step} to {target}")


# --------------------------------------------------------------------------------------------------------------- eval
@cli.command("eval")
@click.argument("run", type=click.Path())
@click.option("--n", "count", type=int, default=2500, show_default=True,
              help="Generated samples (and real ones for the floor); at most the training set's size.")
@click.option("--metric", "metrics", multiple=True, help="Metric to compute (repeatable). [default: all that fit]")
@click.option("--checkpoint", type=click.Choice(["last", "best"]), default="last", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent noise and the real subset.")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda (for the generator).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_command(run: str, count: int, metrics: tuple[str, ...], checkpoint: str, seed: int, device: str,
                 as_json: bool) -> None:
    """Score a run's generator with every metric that fits its data, each beside its real-data floor."""
    from pathlib import Path

    from ganzoo.evaluate import evaluate, render
    from ganzoo.registry import default_registry

    result = evaluate(default_registry(), Path(run), checkpoint, count, metrics, seed, device)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else render(result))


# -------------------------------------------------------------------------------------------------------------- bench
@cli.command("bench")
@click.option("--quick", is_flag=True, help="Small sizes only (about a minute on 2 cores).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("-k", "select", help="Only the cases whose names match this pytest -k expression.")
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda (each timed call then ends in a sync).")
def bench_command(quick: bool, as_json: bool, select: Optional[str], device: str) -> None:
    """Fused kernels vs eager PyTorch vs torch.compile: runs the benchmark suite (benchmarks/) and prints one table."""
    from ganzoo.bench import run_suite, table

    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"--device {device!r} is not supported by the benchmark suite: use cpu or cuda")
    rows, notes = run_suite(quick=quick, select=select, device=device)
    if as_json:
        click.echo(json.dumps({"rows": rows, "unsupported": notes}, indent=2))
        return
    click.echo(table(rows))
    for note in notes:
        click.echo(f"unsupported: {note['group']} / {note['variant']}: {note['reason']}")


# --------------------------------------------------------------------------------------------------------- new-plugin
@cli.command("new-plugin")
@click.argument("name")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Folder to create the package folder ganzoo-NAME in.")
def new_plugin_command(name: str, directory: str) -> None:
    """Write a ready plugin package (pyproject with the entry point, one registered architecture, tests)."""
    from ganzoo.scaffold import new_plugin

    target = new_plugin(name, directory)
    # "./" matters: pip reads a bare "ganzoo-NAME" as a package to download
    where = str(target) if target.is_absolute() else f"./{target}"
    click.echo(f"wrote {where}")
    click.echo("next:")
    click.echo(f"  pip install {where}    (add --no-build-isolation where there is no package index)")
    click.echo(f"  ganzoo list --kind arch    ({name} appears, provided by {target.name})")
    click.echo(f"  pytest {where}/tests")


# ------------------------------------------------------------------------------------------------------------- doctor
@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor_command(as_json: bool) -> None:
    """Python, torch, devices, the compiled extension and the plugins: what works and what does not."""
    from ganzoo.doctor import collect, render

    report = collect()
    click.echo(json.dumps(report, indent=2) if as_json else render(report))


# --------------------------------------------------------------------------------------------------------------- main
def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of the ``ganzoo`` script: run the CLI and exit with its status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _ARGV[:] = argv  # `train --nproc N` re-runs the same command under torchrun
    debug = _debug_requested(argv)
    if not debug:
        warnings.showwarning = _one_line_warnings
    try:
        code = cli.main(args=argv, prog_name="ganzoo", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        code = EXIT_USAGE
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = EXIT_ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except GanzooError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        code = EXIT_ERROR
    except OSError as exc:  # a file the user named, or the disk, said no: say which file and why
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or ' '.join(str(exc).split())}", err=True)
        code = EXIT_ERROR
    except click.exceptions.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except Exception as exc:
        if debug:
            raise
        text = " ".join(str(exc).split())
        click.echo(f"error: unexpected {type(exc).__name__}: {text} (rerun with --debug for the traceback)", err=True)
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else 0)
