"""Mixed precision (--precision bf16|fp16): the networks under autocast, losses and the penalty in float32, fp16 with loss
scaling that survives resuming. On this CPU autocast runs bf16 and fp16 too, so the whole path is tested here; the GPU
check script repeats a bf16 run on CUDA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.ops import gradient_penalty
from ganzoo.specs import Penalty
from ganzoo.train.checkpoint import load_checkpoint
from ganzoo.train.steps import penalty_grad as _penalty_grad
from tests.conftest import run_subprocess

QUIET = ["--quiet", "--val-every", "0", "--sample-every", "0"]


def _train(*args: str) -> None:
    proc = run_subprocess(["train", "--arch", "wgan_gp", *QUIET, *args])
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_with_finite_float32_state(tmp_path: Path, precision: str) -> None:
    run = tmp_path / precision
    _train("--precision", precision, "--steps", "20", "--log-every", "10", "--out", str(run))
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for record in records:
        assert all(v == v and abs(v) != float("inf") for k, v in record.items() if isinstance(v, float)), record
        assert ("amp_skipped" in record) == (precision == "fp16")
    tensors, state = load_checkpoint(run / "checkpoints" / "last.safetensors")
    assert all(t.dtype == torch.float32 for k, t in tensors.items() if k.startswith(("G/", "D/")))
    assert (state.get("amp") is not None) == (precision == "fp16")


def test_fp16_resume_continues_bit_for_bit_with_the_loss_scale(tmp_path: Path) -> None:
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    # a constant lr: a linear decay would run to step 8 in the first part and to 16 in the straight run
    _train("--precision", "fp16", "--steps", "16", "--log-every", "4", "--lr-decay", "none", "--out", str(straight))
    _train("--precision", "fp16", "--steps", "8", "--log-every", "4", "--lr-decay", "none", "--out", str(resumed))
    proc = run_subprocess(["train", "--resume", str(resumed), "--steps", "16", "--quiet"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = load_file(straight / "checkpoints" / "last.safetensors")
    b = load_file(resumed / "checkpoints" / "last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert load_checkpoint(straight / "checkpoints" / "last.safetensors")[1]["amp"] == \
        load_checkpoint(resumed / "checkpoints" / "last.safetensors")[1]["amp"]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_penalty_gradient_under_autocast_and_loss_scaling_is_the_unscaled_float32_gradient(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    critic = torch.nn.Linear(6, 1)  # D(x) = w.x + b, so dD/dx = w for every sample
    real, fake = torch.randn(32, 6), torch.randn(32, 6)
    # a scale that fits fp16 (65504 max): at the default 2^16 the first step overflows, and GradScaler skips it (tested
    # above through training: amp_skipped)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, enabled=dtype == torch.float16)
    grad = _penalty_grad(lambda x, y: critic(x).squeeze(1), Penalty(), real, fake, None, torch.Generator().manual_seed(1),
                         autocast=lambda: torch.autocast("cpu", dtype=dtype), scaler=scaler)
    assert grad.dtype == torch.float32
    expected = critic.weight.detach().expand(32, 6)
    torch.testing.assert_close(grad, expected, rtol=1e-2, atol=1e-2)  # w rounded to 8 (bf16) or 11 (fp16) bits
    penalty = gradient_penalty(grad)
    assert penalty.dtype == torch.float32 and torch.isfinite(penalty)


DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                                 reason="no CUDA device")])]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_fused_ops_under_autocast_accumulate_in_float32(device: str, dtype: torch.dtype) -> None:
    from ganzoo.ops import critic_tail

    g = torch.randn(8, 3, 16, 16, device=device).to(dtype)
    real, fake = torch.randn(8, device=device), torch.randn(8, device=device)
    outside = gradient_penalty(g)
    with torch.autocast(device, dtype=dtype):
        inside = gradient_penalty(g)
        total, _ = critic_tail(real, fake, g.float(), "wasserstein", "two_sided", 10.0, 1.0)
    assert torch.equal(outside, inside)
    expected = 10.0 * (g.double().flatten(1).norm(dim=1) - 1).square().mean()
    torch.testing.assert_close(inside.double(), expected, rtol=1e-2, atol=1e-2)
    assert total.dtype == torch.float32
    torch.testing.assert_close(total.double(), fake.double().mean() - real.double().mean() + expected, rtol=1e-4, atol=1e-4)


# --precision auto (dcgan's default): bf16 for images on a CPU with native bf16, float32 everywhere else

def test_auto_precision_is_bf16_only_for_images_on_a_cpu_with_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    from ganzoo.train import models

    cpu = torch.device("cpu")
    monkeypatch.setattr(models, "native_bf16", lambda: "AMX")
    assert models.auto_precision("images", cpu)[0] == "bf16"
    assert "AMX" in models.auto_precision("images", cpu)[1]
    assert models.auto_precision("points", cpu)[0] == "fp32"  # the fused MLP kernels are float32
    assert models.auto_precision("images", torch.device("cuda", 0))[0] == "fp32"  # not measured on CUDA yet
    monkeypatch.setattr(models, "native_bf16", lambda: None)
    precision, why = models.auto_precision("images", cpu)
    assert precision == "fp32" and "no native bf16" in why


def test_native_bf16_follows_torchs_cpu_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    from ganzoo.train.models import native_bf16

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert native_bf16() == "AVX-512 BF16"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert native_bf16() == "AMX"
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    assert native_bf16() is None
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)  # a torch build without the probes
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    assert native_bf16() is None


@pytest.mark.parametrize("native", ["AVX-512 BF16", None])
def test_a_dcgan_run_records_what_auto_chose_and_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     native: str) -> None:
    """dcgan's default precision is auto: config.json holds the precision it became on this machine (so a resumed run
    keeps it on any machine) and a note saying why; the networks' saved weights stay float32."""
    from ganzoo.train import models
    from tests.train.helpers import tiny_run

    monkeypatch.setattr(models, "native_bf16", lambda: native)
    tiny_run(tmp_path, "dcgan", "digits", steps=3)
    saved = json.loads((tmp_path / "config.json").read_text())
    expected = "bf16" if native else "fp32"
    assert saved["config"]["precision"] == expected
    assert saved["notes"] == [next(n for n in saved["notes"] if n.startswith(f"precision {expected} (auto): "))]
    assert (native or "no native bf16") in saved["notes"][0]
    tensors, _ = load_checkpoint(tmp_path / "checkpoints" / "last.safetensors")
    assert all(t.dtype == torch.float32 for k, t in tensors.items() if k.startswith(("G/", "D/")) and t.is_floating_point())


def test_a_run_given_a_precision_has_no_note_and_points_stay_float32(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from ganzoo.train import models
    from tests.train.helpers import tiny_run

    monkeypatch.setattr(models, "native_bf16", lambda: "AMX")
    tiny_run(tmp_path / "given", "dcgan", "digits", steps=2, precision="fp32")
    saved = json.loads((tmp_path / "given" / "config.json").read_text())
    assert saved["config"]["precision"] == "fp32" and "notes" not in saved
    tiny_run(tmp_path / "ring", "wgan_gp", "ring", steps=2, precision="auto")
    saved = json.loads((tmp_path / "ring" / "config.json").read_text())
    assert saved["config"]["precision"] == "fp32" and "points in float32" in saved["notes"][0]
