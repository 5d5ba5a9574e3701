"""Checkpoints: every tensor in safetensors (networks, generator average, optimizer states, RNG state), the counters and
optimizer hyper-parameters as JSON in the same file's header, so one atomic rename writes a consistent checkpoint. Loading
never unpickles anything: a file that is not a ganzoo safetensors checkpoint is refused with one line.

This module is the only one that knows a training checkpoint's layout:

```
G/<name>, D/<name>, G_ema/<name>        the networks' state dicts (G_ema only when the run keeps a generator average)
opt_g/state/<param>/<key>, opt_d/...    optimizer tensors; their param groups and plain values are in the JSON
rng/noise                               the noise generator's state
JSON state                              TrainState, arch / loss / dataset, opt_g / opt_d metadata, ganzoo_version
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional

import torch
from torch import nn

from ganzoo import __version__
from ganzoo.errors import CheckpointError
from ganzoo.io import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    from ganzoo.specs import Plan
    from ganzoo.train.config import TrainConfig
    from ganzoo.train.models import Networks
    from ganzoo.train.state import TrainState

__all__ = ["FORMAT", "FORMAT_VERSION", "save_checkpoint", "load_checkpoint", "flatten_optimizer", "unflatten_optimizer",
           "save_training", "restore_training", "generator_weights", "identity"]

NOISE_KEY = "rng/noise"

FORMAT = "ganzoo-checkpoint"
FORMAT_VERSION = 1


def flatten_optimizer(prefix: str, state_dict: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (``prefix/state/<param>/<key>``) and JSON (param groups, plain values)."""
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for param_id, entries in state_dict["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}/state/{param_id}/{key}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(param_id), {})[key] = value
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in state_dict["param_groups"]]
    return tensors, {"param_groups": groups, "plain_state": plain}


def unflatten_optimizer(prefix: str, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    lead = f"{prefix}/state/"
    for name, tensor in tensors.items():
        if name.startswith(lead):
            param_id, key = name[len(lead):].split("/", 1)
            state.setdefault(int(param_id), {})[key] = tensor
    for param_id, entries in meta["plain_state"].items():
        state.setdefault(int(param_id), {}).update(entries)
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_checkpoint(path: Path, tensors: Mapping[str, torch.Tensor], state: Mapping[str, Any]) -> None:
    """Write ``tensors`` and the JSON-able ``state`` to ``path`` atomically (temp file, fsync, rename)."""
    from safetensors.torch import save_file

    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "state": json.dumps(state, sort_keys=True)}
    ready = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    try:
        with atomic_path(path, suffix=".safetensors") as tmp:
            save_file(ready, str(tmp), metadata=header)
    except OSError as exc:  # disk full, folder gone or read-only: the rename never happened, the old file is whole
        reason = exc.strerror or " ".join(str(exc).split())
        kept = "the previous checkpoint there is intact" if path.exists() else "no earlier checkpoint exists"
        raise CheckpointError(f"could not write {path} ({reason}); {kept}: free space or fix the folder's permissions, "
                              "then resume the run") from None


def load_checkpoint(path: Path, expect: Optional[Mapping[str, Any]] = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by ``save_checkpoint``.

    Args:
        path: the ``.safetensors`` file.
        expect: state entries that must match (e.g. ``{"arch": "wgan_gp"}``).

    Raises:
        CheckpointError: missing, truncated, not safetensors (e.g. a pickle renamed), not a ganzoo checkpoint, or written
            for something else than ``expect`` says.
    """
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors checkpoint ({' '.join(str(exc).split())[:120]}); "
                              "it may be truncated or not a ganzoo checkpoint") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a ganzoo checkpoint (no '{FORMAT}' header)")
    if header.get("format_version") != str(FORMAT_VERSION):
        raise CheckpointError(f"{path} has checkpoint format {header.get('format_version')}, this ganzoo reads {FORMAT_VERSION}")
    try:
        state = json.loads(header["state"])
    except (KeyError, json.JSONDecodeError):
        raise CheckpointError(f"{path}: the checkpoint's state header is damaged") from None
    for key, value in (expect or {}).items():
        if state.get(key) != value:
            raise CheckpointError(f"{path} was written for {key} {state.get(key)!r}, not {value!r}")
    return tensors, state


def identity(arch: str, loss: str, dataset: str) -> dict[str, str]:
    """What a checkpoint says it was written for; resuming and sampling check it."""
    return {"arch": arch, "loss": loss, "dataset": dataset}


def _layout(nets: "Networks") -> tuple[dict[str, Optional[nn.Module]], dict[str, torch.optim.Optimizer]]:
    """The networks by tensor-name prefix and the optimizers by name, as a training checkpoint stores them."""
    return {"G": nets.G, "D": nets.D, "G_ema": nets.G_ema}, {"opt_g": nets.opt_g, "opt_d": nets.opt_d}


def save_training(path: Path, cfg: "TrainConfig", nets: "Networks", noise: torch.Generator, state: "TrainState",
                  plan: Optional["Plan"] = None) -> None:
    """Write a training checkpoint: the networks and the generator average (when kept), the optimizers, the noise
    stream, and as JSON the training state, what the run is (``identity``) and the schedule's position."""
    networks, optimizers = _layout(nets)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in networks.items():
        if module is not None:
            tensors.update({f"{prefix}/{k}": v for k, v in module.state_dict().items()})
    saved: dict[str, Any] = {**state.to_json(), **identity(cfg.arch, cfg.loss, cfg.dataset), "ganzoo_version": __version__}
    for name, optimizer in optimizers.items():
        opt_tensors, saved[name] = flatten_optimizer(name, optimizer.state_dict())
        tensors.update(opt_tensors)
    tensors[NOISE_KEY] = noise.get_state()
    if plan is not None:  # for people and tools reading the checkpoint; resuming recomputes it from "images"
        saved["schedule"] = {"stage": plan.stage, "label": plan.label, **plan.values}
    save_checkpoint(path, tensors, saved)


def restore_training(path: Path, cfg: "TrainConfig", nets: "Networks", noise: torch.Generator) -> "TrainState":
    """Load a checkpoint written by ``save_training`` for this run into ``nets`` and the noise generator; return its
    training state. Raises ``CheckpointError`` when the file is another run's or does not fit the networks."""
    from ganzoo.train.state import TrainState

    networks, optimizers = _layout(nets)
    tensors, state = load_checkpoint(path, expect=identity(cfg.arch, cfg.loss, cfg.dataset))
    try:
        for prefix, module in networks.items():
            if module is not None:
                module.load_state_dict(_with_prefix(tensors, prefix), strict=True)
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(unflatten_optimizer(name, tensors, state[name]))
        noise.set_state(tensors[NOISE_KEY])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} does not match this run's networks ({first[:160]})") from None
    return TrainState.from_json(state, cfg.batch_size)


def generator_weights(tensors: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], bool]:
    """The generator's weights in a training checkpoint: the average (``G_ema``) when the run kept one, and whether it is."""
    averaged = any(k.startswith("G_ema/") for k in tensors)
    return _with_prefix(tensors, "G_ema" if averaged else "G"), averaged


def _with_prefix(tensors: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    lead = prefix + "/"
    return {k[len(lead):]: v for k, v in tensors.items() if k.startswith(lead)}
