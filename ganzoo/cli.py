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

from ganzoo.errors import GanzooError

__all__ = ["cli", "main"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


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
