"""The ``ganzoo`` command line: the only place that turns errors into messages and exit codes.

Heavy modules (torch, the trainer) are imported inside the commands that need them, so ``ganzoo --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import click

from ganzoo.errors import ConfigError, GanzooError
from ganzoo.protocols import PROTOCOLS
from ganzoo.settings import Setting, TrainConfig
from ganzoo.train.config import dataset_defaults, effective_training_defaults

__all__ = ["cli", "main"]

# the exit codes the README's "Bad input" section documents: 1 for every refusal and failure (one line on stderr), 128 +
# the signal's number for a run stopped by Ctrl-C (130) or SIGTERM (143), after its checkpoint
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


@dataclass
class _Invocation:
    """This run of the command line: click hands it to every command (``ctx.obj``), and ``main`` reads it back once
    an error has come out of click. ``argv`` is what ``train --nproc N`` runs again under torchrun."""

    argv: list[str] = field(default_factory=list)
    debug: bool = field(default_factory=lambda: os.environ.get("GANZOO_DEBUG", "") not in ("", "0"))


def _debugging() -> bool:
    """Whether ``--debug`` (or ``GANZOO_DEBUG=1``) asked for tracebacks in this command."""
    ctx = click.get_current_context(silent=True)
    invocation = ctx.find_object(_Invocation) if ctx is not None else None
    return (invocation or _Invocation()).debug


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="ganzoo", prog_name="ganzoo")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ganzoo: a plugin-based GAN zoo for PyTorch.

    \b
    ganzoo list                      what is installed (architectures, losses, datasets, metrics)
    ganzoo train --arch wgan_gp      train on the embedded default data
    ganzoo doctor                    torch, devices, the compiled extension, plugins
    ganzoo new-plugin NAME           write a plugin package to start from (docs/plugins.md)
    ganzoo check-plugin DIST         check an installed plugin package before publishing it
    ganzoo fetch mnist               download real MNIST digits once (training never touches the network)
    ganzoo fetch inception           download the Inception network once, for standard FID/KID
    """
    invocation = ctx.ensure_object(_Invocation)
    invocation.debug = invocation.debug or debug


# --------------------------------------------------------------------------------------------------------------- list
@cli.command("list")
@click.option("--kind", type=click.Choice(["arch", "loss", "dataset", "metric"]), help="Show one kind only.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the rows as a JSON array; plugins that failed to load are rows of kind 'failure'.")
def list_command(kind: Optional[str], as_json: bool) -> None:
    """Every installed architecture, loss, dataset and metric, with the package that provides it."""
    from ganzoo.registry import default_registry

    registry = default_registry()
    rows = [
        {"kind": e.kind, "name": e.name, "package": e.package, "version": e.version, "description": e.spec.description}
        for e in registry.entries(kind)
    ]
    # an architecture's settings for particular datasets (a column in JSON, lines under the table), and what it trains
    # with on each data kind (lines under the table)
    arches = registry.entries("arch") if kind in (None, "arch") else []
    per_dataset = {e.name: {d: dict(s) for d, s in e.spec.dataset_defaults.items()} for e in arches}
    per_kind = {e.name: {k: effective_training_defaults(registry, e.spec, k) for k in e.spec.data_kinds} for e in arches}
    if as_json:
        # a failed plugin is a row too, whatever --kind says (what it would have registered is unknown), so a script
        # reading the rows sees it; the ordinary rows keep their shape
        for row in rows:
            if row["kind"] == "arch":
                row["dataset_defaults"] = per_dataset.get(row["name"], {})
        rows += [{"kind": "failure", "name": f.where, "package": f.package, "version": f.version, "description": f.error}
                 for f in registry.failures]
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(_table(rows, ["kind", "name", "package", "version", "description"]))
    clashes = registry.clashes(kind)
    for providers in clashes:
        names = ", ".join(repr(p.qualified_name) for p in providers)
        click.echo(f"note: {providers[0].name!r} is provided by several packages; pick one as {names}", err=as_json)
    for note in registry.notes:
        click.echo(f"note: {note}", err=as_json)
    if not as_json:
        for name, kinds in per_kind.items():
            for data_kind, settings in kinds.items():
                click.echo(f"trains:   {name} on {data_kind}: {_settings_text(settings)}")
        for name, datasets in per_dataset.items():
            for dataset, settings in datasets.items():
                click.echo(f"defaults: {name} on {dataset}: {_settings_text(settings)} (the flags override them)")
    _print_failures(registry.failures, err=as_json)


def _value_text(value: Any) -> str:
    """A setting's value as the user would write it: ``0.0002``, ``0.5,0.9``."""
    if isinstance(value, (tuple, list)):
        return ",".join(_value_text(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _settings_text(settings: Mapping[str, Any]) -> str:
    """Settings as the user would write them: ``hidden=256 steps=8000 betas=0.5,0.9``."""
    return " ".join(f"{k}={_value_text(v)}" for k, v in settings.items())


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
    debug = _debugging()
    for f in failures:
        version = f" {f.version}" if f.version else ""
        click.echo(f"  {f.where}  [{f.package}{version}]  {f.error}", err=err)
        if debug and f.traceback:
            click.echo("    " + f.traceback.rstrip().replace("\n", "\n    "), err=True)
    if not debug and any(f.traceback for f in failures):
        click.echo("(rerun with --debug for their tracebacks)", err=err)


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
        from ganzoo.viz import save_samples_picture

        count = 64 if data.info.kind == "images" else 2500
        save_samples_picture(data.x[:count].numpy(), preview, data.info.kind, data.info.value_range,
                             title=f"{spec.name}: {count:,} samples")
        summary["preview"] = preview
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo("\n".join(f"{k:<8} {v}" for k, v in summary.items()))


# -------------------------------------------------------------------------------------------------------------- fetch
@cli.command("fetch")
@click.argument("name")
@click.option("--from", "origin", help="A file (or URL) to take the data from instead of the dataset's default source.")
def fetch_command(name: str, origin: Optional[str]) -> None:
    """Download what a dataset or metric needs once (mnist: real MNIST digits; inception: the Inception network)
    into ganzoo's cache; training and eval then read only the cache, never the network."""
    from ganzoo.errors import UnknownNameError
    from ganzoo.registry import default_registry

    registry = default_registry()
    try:
        spec = registry.get("dataset", name)
    except UnknownNameError:
        try:
            spec = registry.get("metric", name)
        except UnknownNameError:
            fetchable = [e.name for kind in ("dataset", "metric") for e in registry.entries(kind) if e.spec.fetch]
            known = ", ".join(fetchable) or "none"
            raise ConfigError(f"no dataset or metric named {name!r}; those with something to fetch: {known}") from None
    if spec.fetch is None:
        raise ConfigError(f"{spec.name!r} has nothing to fetch: it is generated in code, ships with a package or reads "
                          "--data-dir; use it as it is")
    click.echo(spec.fetch(origin))


# -------------------------------------------------------------------------------------------------------------- train
# the settings an architecture may set for itself (arch_may_set in ganzoo.settings): their help names no fixed default
_ARCH_DECIDES = "[default: the architecture's, per data kind: 'ganzoo list --kind arch' shows them]"
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _setting_option(name: str, about: Setting, default: Any, annotation: str) -> Callable[[Any], Any]:
    """The click option of one trainer setting, made from its declaration in ``ganzoo.settings``. Every option
    defaults to None ("not given"), so that resolving the config can tell a flag from a default."""
    # the field's annotation as a string (from __future__ import annotations): "int", "Optional[int]" or "int | None"
    kind = _TYPES[annotation.removeprefix("Optional[").removesuffix("]").replace(" | None", "")]
    if about.arch_may_set:
        shown = f"[default: {about.default_text}]" if about.default_text else _ARCH_DECIDES
    elif about.default_text:
        shown = f"(default: {about.default_text})"
    elif default is None or isinstance(default, bool) or default == "":
        shown = ""
    else:
        shown = f"[default: {_value_text(default)}]"
    extra: dict[str, Any] = {}
    if about.choices:
        extra["type"] = click.Choice(list(about.choices))
        if kind is not str:
            extra["callback"] = lambda ctx, param, value: None if value is None else kind(value)
    elif about.path:
        extra["type"] = click.Path()
    elif kind is not bool:
        extra["type"] = kind
    flag = about.flag or "--" + name.replace("_", "-")
    return click.option(flag, name, default=None, help=f"{about.help} {shown}".rstrip(), **extra)


def _setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every trainer setting that has a flag, as options of ``ganzoo train`` in the settings' order."""
    fields = [f for f in dataclasses.fields(TrainConfig) if f.metadata["setting"].flag is not None]
    for f in reversed(fields):
        default = f.default if f.default is not dataclasses.MISSING else None
        command = _setting_option(f.name, f.metadata["setting"], default, str(f.type))(command)
    return command


class _TrainCommand(click.Command):
    """``ganzoo train --arch A --help`` ends with what A trains with on each kind of data (``--arch`` is read before
    ``--help`` when it comes first)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.name == "arch":
                param.is_eager = True  # eager parameters are processed in the order given, --help among them

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        name = ctx.params.get("arch")
        if not name:
            return
        from ganzoo.registry import default_registry

        registry = default_registry()
        try:
            arch = registry.get("arch", name)
        except GanzooError as exc:  # the help still helps: it says why there are no defaults to show
            formatter.write_paragraph()
            formatter.write_text(f"(no defaults to show: {exc})")
            return
        with formatter.section(f"Defaults of {arch.name}"):
            formatter.write_dl([(f"on {data_kind}", _settings_text(effective_training_defaults(registry, arch, data_kind)))
                                for data_kind in arch.data_kinds])


@cli.command("train", cls=_TrainCommand)
@_setting_options
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

    from ganzoo.console import GracefulStop, ProgressBar
    from ganzoo.registry import default_registry
    from ganzoo.train import distributed, train
    from ganzoo.train.config import resolve_run

    if nproc is not None and distributed.world().active:
        raise click.UsageError("--nproc starts torchrun itself: drop it when running under torchrun")
    if nproc is not None and nproc != 1:
        args = distributed.torchrun_args(nproc, _without_nproc(click.get_current_context().ensure_object(_Invocation).argv or sys.argv[1:]), options.get("device"))
        raise click.exceptions.Exit(distributed.launch(args))
    if resume and out:
        raise click.UsageError("give either --resume RUN or --out, not both")

    registry = default_registry()
    resolved = resolve_run(registry, Path(resume) if resume else None, options, set_items)
    cfg = resolved.config

    claimed: list[Path] = []

    def announce(run_dir: Path, world: distributed.World) -> None:
        claimed.append(run_dir)
        if world.main:
            ranks = f" in {world.size} processes (global batch {cfg.batch_size * world.size})" if world.active else ""
            steps = f"{cfg.steps} step{'s' if cfg.steps != 1 else ''}"
            conditional = "conditional " if cfg.conditional else ""
            click.echo(f"{'resuming' if resume else 'training'} {conditional}{cfg.arch} ({cfg.loss} loss) on "
                       f"{cfg.dataset} for {steps}{ranks} -> {run_dir}", err=True)
            for_dataset = dataset_defaults(resolved.arch, cfg.dataset)
            if for_dataset and not resume:
                click.echo(f"{cfg.arch}'s defaults for {cfg.dataset}: {_settings_text(for_dataset)} "
                           "(the flags override them)", err=True)
            for note in resolved.notes:  # what the trainer chose for this machine (--precision auto)
                click.echo(note, err=True)

    main_rank = distributed.world().main  # rank 0, or the only process
    stop = GracefulStop()
    try:
        # the handler stays on while the outcome is reported, so that a second Ctrl-C anywhere takes the path below
        with stop:
            result = train(resolved, Path(resume or out) if resume or out else None, resume=bool(resume),
                           progress=None if quiet or not main_rank else ProgressBar(),
                           stop_requested=lambda: stop.requested, announce=announce,
                           tune_malloc=True)  # this process is ganzoo's alone
            distributed.shutdown()
            if main_rank:
                _report(result, cfg)
            if result.status == "interrupted":
                raise click.exceptions.Exit(stop.exit_code())
    except KeyboardInterrupt:
        # a second Ctrl-C stops at once: the checkpoints on disk are whole (written atomically), so say how to go on
        if main_rank:
            click.echo(f"stopped at once{_how_to_go_on(claimed, cfg.steps)}", err=True)
        raise click.exceptions.Exit(stop.exit_code()) from None
    finally:
        distributed.shutdown()


def _how_to_go_on(claimed: list[Any], steps: int) -> str:
    from ganzoo.train.run import checkpoint_path

    if not claimed:
        return ""
    if checkpoint_path(claimed[0]).is_file():
        return f"; continue from its last checkpoint with: ganzoo train --resume {claimed[0]} --steps {steps}"
    return f" before its first checkpoint; start it again with: ganzoo train --resume {claimed[0]} --steps {steps}"


def _report(result: Any, cfg: TrainConfig) -> None:
    """How the run ended, on stdout; for an interrupted run, the command that continues it, on stderr."""
    if result.status == "diverged":
        raise result.diverged_error(cfg.max_rollbacks, "--lr-g/--lr-d or --grad-clip")
    last = result.last
    parts = [f"{result.status} at step {result.step}"]
    if "d_loss" in last:
        parts.append(f"d_loss {last['d_loss']:.4g}, g_loss {last['g_loss']:.4g}")
    if result.best:
        parts.append(f"best {result.best['metric']}.{result.best['key']} {result.best['value']:.4g} at step {result.best['step']}")
    click.echo("; ".join(parts))
    click.echo(f"run folder: {result.run_dir}")
    if result.status == "interrupted":
        click.echo(f"checkpoint saved; continue with: ganzoo train --resume {result.run_dir} --steps {cfg.steps}",
                   err=True)


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


# ------------------------------------------------------------------------------------------------------------- sample
NOISE_SCALE_HELP = ("Multiply the generator's noise by this: below 1 gives the more typical samples (the truncation "
                    "trick), above 1 more of the spread, at the cost of fidelity.")


@cli.command("sample")
@click.argument("run", type=click.Path())
@click.option("--n", "count", type=int, default=64, show_default=True, help="How many samples.")
@click.option("--out", type=click.Path(dir_okay=False), help="PNG (grid or scatter) or .npy. [default: RUN/samples/sample.png]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent noise.")
@click.option("--class", "class_id", type=int, help="Class to generate (runs trained with --conditional).")
@click.option("--noise-scale", type=float, default=1.0, show_default=True, help=NOISE_SCALE_HELP)
@click.option("--checkpoint", type=click.Choice(["last", "best"]), default="last", show_default=True)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
def sample_command(run: str, count: int, out: Optional[str], seed: int, class_id: Optional[int], noise_scale: float,
                   checkpoint: str, device: str) -> None:
    """Generate samples from a run's checkpoint (the generator average when the run kept one)."""
    from pathlib import Path

    from ganzoo.registry import default_registry
    from ganzoo.train.sample import load_generator, sample_to_file

    run_dir = Path(run)
    target = Path(out) if out else run_dir / "samples" / "sample.png"
    loaded = load_generator(default_registry(), run_dir, checkpoint, device)
    sample_to_file(loaded, count, target, seed, class_id, noise_scale)
    which = "averaged generator" if loaded.averaged else "generator"
    click.echo(f"wrote {count} samples from the {which} at step {loaded.step} to {target}")


# --------------------------------------------------------------------------------------------------------------- eval
@cli.command("eval")
@click.argument("run", type=click.Path(), required=False)
@click.option("--n", "count", type=int, default=None,
              help="Generated samples (and real ones for the floor); at most the training set's size. [default: 2500]")
@click.option("--metric", "metrics", multiple=True, help="Metric to compute (repeatable). [default: all that fit]")
@click.option("--protocol", type=click.Choice(sorted(PROTOCOLS)), default=None,
              help="A published protocol: lucic2018 is FID/KID of 10,000 generated images against the 10,000 test "
                   "images (Lucic et al. 2018); fixes --n and scores with the inception metric.")
@click.option("--samples", type=click.Path(), default=None,
              help="Score these images instead of a run: a folder of images, a .npy or a .npz file (with --dataset).")
@click.option("--dataset", default=None, help="The data --samples are compared with (its held-out split).")
@click.option("--data-dir", default=None, help="With --samples: the --dataset's files, as for 'ganzoo train'.")
@click.option("--image-size", type=int, default=None, help="With --samples: the --dataset's side, as for 'ganzoo train'.")
@click.option("--channels", type=click.Choice(["1", "3"]), default=None, help="With --samples: the --dataset's channels.")
@click.option("--checkpoint", type=click.Choice(["last", "best"]), default="last", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the latent noise and the real subset.")
@click.option("--noise-scale", type=float, default=1.0, show_default=True, help=NOISE_SCALE_HELP)
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda (for the generator).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_command(run: Optional[str], count: Optional[int], metrics: tuple[str, ...], protocol: Optional[str],
                 samples: Optional[str], dataset: Optional[str], data_dir: Optional[str], image_size: Optional[int],
                 channels: Optional[str], checkpoint: str, seed: int, noise_scale: float, device: str,
                 as_json: bool) -> None:
    """Score a run's generator (or, with --samples, images from anywhere) with every metric that fits its data, each
    beside its real-data floor."""
    from pathlib import Path

    from ganzoo.console import showing_work
    from ganzoo.evaluate import evaluate, evaluate_samples, render
    from ganzoo.registry import default_registry
    from ganzoo.specs import DataRequest

    if (run is None) == (samples is None):
        raise ConfigError("give a run folder, or --samples PATH --dataset NAME for images from elsewhere (not both)")
    if samples is None and (dataset or data_dir or image_size or channels):
        raise ConfigError("--dataset, --data-dir, --image-size and --channels go with --samples; a run knows its data")
    if samples is not None and noise_scale != 1.0:
        raise ConfigError("--noise-scale samples a run's generator, and --samples are images already made: drop it")
    if samples is not None:
        if not dataset:
            raise ConfigError("--samples needs --dataset NAME: the data the images are compared with")
        request = DataRequest(data_dir=data_dir, image_size=image_size, channels=int(channels) if channels else None)
        # the published protocol runs 10,000-30,000 images through Inception: minutes, shown rather than silent
        with showing_work():
            result = evaluate_samples(default_registry(), Path(samples), dataset, request, count, metrics, seed,
                                      protocol)
    else:
        with showing_work():
            result = evaluate(default_registry(), Path(str(run)), checkpoint, count, metrics, seed, device,
                              protocol=protocol, noise_scale=noise_scale)
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
@click.option("--dir", "directory", default=".", show_default=True,
              help="Folder to create the package folder ganzoo-NAME in.")
@click.option("--kind", type=click.Choice(["arch", "loss", "dataset", "metric"]), default="arch", show_default=True,
              help="What the package registers under NAME.")
def new_plugin_command(name: str, directory: str, kind: str) -> None:
    """Write a ready plugin package (pyproject with the entry point, one registered architecture, loss, dataset or
    metric, tests) that passes its own tests and check-plugin as written."""
    from ganzoo.scaffold import new_plugin

    target = new_plugin(name, directory, kind)
    # "./" matters: pip reads a bare "ganzoo-NAME" as a package to download
    where = str(target) if target.is_absolute() else f"./{target}"
    click.echo(f"wrote {where}")
    click.echo("next:")
    click.echo(f"  pip install {where}    (add --no-build-isolation where there is no package index)")
    click.echo(f"  ganzoo list --kind {kind}    ({name} appears, provided by {target.name})")
    click.echo(f"  ganzoo check-plugin {target.name}")
    click.echo(f"  pytest {where}/tests")


# ------------------------------------------------------------------------------------------------------- check-plugin
@cli.command("check-plugin")
@click.argument("dist")
@click.option("--device", default="cpu", show_default=True, help="Where the training steps run.")
@click.option("--data-dir", type=click.Path(), help="Files for datasets that need them (others are skipped).")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON array.")
def check_plugin_command(dist: str, device: str, data_dir: Optional[str], as_json: bool) -> None:
    """Check an installed plugin distribution before publishing it: imports, hooks, lazy targets, one training step
    per architecture and loss, its datasets and metrics. Exits 1 when a check fails."""
    from ganzoo.check_plugin import check_plugin, render, to_json

    checks = check_plugin(dist, device=device, data_dir=data_dir)
    click.echo(json.dumps(to_json(checks), indent=2) if as_json else render(checks, dist))
    if any(c.verdict == "FAIL" for c in checks):
        sys.exit(EXIT_ERROR)


# ------------------------------------------------------------------------------------------------------------- doctor
@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor_command(as_json: bool) -> None:
    """Python, torch, devices, the compiled extension and the plugins: what works and what does not."""
    from ganzoo.doctor import collect, render

    report = collect()
    click.echo(json.dumps(report, indent=2) if as_json else render(report))


# --------------------------------------------------------------------------------------------------------------- main
def _run(invocation: _Invocation) -> Any:
    """The error boundary: the command's exit code, with every error turned into its message and code."""
    try:
        code = cli.main(args=invocation.argv, prog_name="ganzoo", standalone_mode=False, obj=invocation)
    except click.exceptions.UsageError as exc:
        # click's own refusals (an unknown option, a value of the wrong type or choice) read like ganzoo's: one line
        command = exc.ctx.command_path if exc.ctx is not None else "ganzoo"
        message = " ".join(exc.format_message().split()).rstrip(".")
        click.echo(f"error: {message} (see '{command} --help')", err=True)
        code = EXIT_ERROR
    except click.exceptions.Abort:  # click's form of a KeyboardInterrupt outside a training loop (ganzoo never prompts)
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except GanzooError as exc:
        if invocation.debug:
            raise
        click.echo(f"error: {exc}", err=True)
        code = EXIT_ERROR
    except OSError as exc:  # a file the user named, or the disk, said no: say which file and why
        if invocation.debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or ' '.join(str(exc).split())}", err=True)
        code = EXIT_ERROR
    except click.exceptions.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except Exception as exc:
        if invocation.debug:
            raise
        text = " ".join(str(exc).split())
        click.echo(f"error: unexpected {type(exc).__name__}: {text} (rerun with --debug for the traceback)", err=True)
        code = EXIT_ERROR
    return code


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of the ``ganzoo`` script: run the CLI and exit with its status."""
    whole_process = argv is None  # the ganzoo script itself, not a caller in its own process (a test, a notebook)
    argv = list(sys.argv[1:] if argv is None else argv)
    invocation = _Invocation(argv)
    show_warning = warnings.showwarning

    def one_line_warnings(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        if invocation.debug:
            show_warning(message, category, filename, lineno, file, line)
        else:
            print(f"warning: {' '.join(str(message).split())}", file=sys.stderr)

    warnings.showwarning = one_line_warnings
    try:
        code = _run(invocation)
    finally:
        warnings.showwarning = show_warning
    if whole_process:
        _ignore_interrupts()  # what had to be said is said: a late Ctrl-C must not turn the exit into a traceback
    sys.exit(code if isinstance(code, int) else 0)


def _ignore_interrupts() -> None:
    import signal

    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread (a test runner's worker)
        pass
