"""The quality metrics on cases with known answers, the domain classifier, and ``ganzoo eval`` on a trained run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from ganzoo.data.digits import load_digits
from ganzoo.data.toy import load_ring
from ganzoo.metrics.domain import (
    MIN_ACCURACY,
    class_coverage,
    class_match,
    domain_classifier,
    frechet_distance,
    kernel_inception_distance,
    precision_recall,
)
from ganzoo.metrics.modes import mode_coverage
from ganzoo.metrics.swd import sliced_wasserstein
from ganzoo.specs import DataRequest
from ganzoo.train.run import read_metrics
from tests.train.helpers import tiny_run

CENTRES = torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])


# ------------------------------------------------------------------------------------------------------------ 2-D modes
def test_samples_exactly_on_the_modes_recover_all_of_them() -> None:
    out = mode_coverage(CENTRES.repeat(50, 1), CENTRES, 0.01)
    assert out["modes"] == 8 and out["hq_share"] == 1.0 and out["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_all_samples_in_one_mode_recover_one() -> None:
    out = mode_coverage(CENTRES[3].repeat(400, 1) + 0.001, CENTRES, 0.01)
    assert out["modes"] == 1 and out["hq_share"] == 1.0 and out["reverse_kl"] == pytest.approx(math.log(8))


def test_samples_away_from_every_mode_are_not_high_quality() -> None:
    out = mode_coverage(torch.zeros(100, 2), CENTRES, 0.01)
    assert out["modes"] == 0 and out["hq_share"] == 0.0 and math.isinf(out["reverse_kl"])


def test_real_ring_data_sits_at_the_floor() -> None:
    ring = load_ring(DataRequest(split="val", options={"n": 2500}))
    out = mode_coverage(ring.x, torch.tensor(ring.info.meta["centres"]), ring.info.meta["sigma"])
    # a 2-D Gaussian has 1 - exp(-9/2) = 98.89% of its mass within 3 sigma: the best any generator can score
    assert out["modes"] == 8 and out["hq_share"] == pytest.approx(1 - math.exp(-4.5), abs=0.01) and out["reverse_kl"] < 0.01


# ------------------------------------------------------------------------------------------------ feature-space scores
def test_frechet_distance_of_identical_sets_is_zero() -> None:
    a = torch.randn(500, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert abs(frechet_distance(a, a)) < 1e-8


def test_frechet_distance_closed_forms() -> None:
    a = torch.randn(800, 12, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * torch.linspace(0.5, 3, 12)
    shift = torch.linspace(-1, 1, 12, dtype=torch.float64)
    # same covariance: only the means differ, FD = ||shift||^2
    assert frechet_distance(a, a + shift) == pytest.approx(float(shift.square().sum()), rel=1e-9, abs=1e-9)
    # b = 2a (a centred): S_b = 4 S_a, (S_a S_b)^1/2 = 2 S_a, so FD = Tr(S_a + 4 S_a - 4 S_a) = Tr(S_a)
    centred = a - a.mean(0)
    assert frechet_distance(centred, 2 * centred) == pytest.approx(float(torch.trace(torch.cov(centred.T))), rel=1e-8)


def test_frechet_distance_of_gaussians_approaches_the_formula() -> None:
    gen = torch.Generator().manual_seed(2)
    a = torch.randn(20000, 4, generator=gen, dtype=torch.float64)
    b = torch.randn(20000, 4, generator=gen, dtype=torch.float64) * 2 + 1  # N(1, 4I) vs N(0, I): 4 + 4 * (1 + 4 - 4)
    assert frechet_distance(a, b) == pytest.approx(8.0, rel=0.03)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two() -> None:
    gen = torch.Generator().manual_seed(3)
    a, b = torch.randn(1000, 8, generator=gen), torch.randn(1000, 8, generator=gen)
    same = kernel_inception_distance(a, b, subsets=10, subset_size=500)
    shifted = kernel_inception_distance(a, b + 1.0, subsets=10, subset_size=500)
    assert abs(same) < 0.05 and shifted > 1.0


def test_precision_and_recall() -> None:
    gen = torch.Generator().manual_seed(4)
    real = torch.randn(1000, 8, generator=gen)
    assert precision_recall(real, real.clone()) == (1.0, 1.0)  # every point is inside its own radius
    # two samples of one distribution: both near the k-NN expectation (high but below 1), and symmetric
    p, r = precision_recall(real, torch.randn(1000, 8, generator=gen))
    assert 0.6 < p < 1.0 and 0.6 < r < 1.0 and abs(p - r) < 0.1
    # a generator collapsed onto one real sample: precise, without recall
    collapsed = real[:1] + 0.001 * torch.randn(200, 8, generator=gen)
    p, r = precision_recall(real, collapsed)
    assert p == 1.0 and r < 0.01
    assert precision_recall(real, real + 100.0) == (0.0, 0.0)


def test_class_coverage_counts_classes_and_measures_the_histogram() -> None:
    data = torch.arange(10).repeat(10)
    assert class_coverage(torch.arange(10).repeat(3), data, 10) == (10.0, pytest.approx(0.0, abs=1e-12))
    covered, kl = class_coverage(torch.zeros(50, dtype=torch.long), data, 10)
    assert covered == 1.0 and kl == pytest.approx(math.log(10))


def test_class_match_counts_samples_in_the_class_asked_for_overall_and_in_the_worst_class() -> None:
    asked = torch.arange(4).repeat(5)  # 5 samples of each of 4 classes
    predicted = asked.clone()
    assert class_match(predicted, asked) == {"class_match": 1.0, "class_match_worst": 1.0}
    predicted[asked == 2] = torch.tensor([2, 0, 0, 2, 2])  # class 2: 3 of 5; the others all right
    predicted[asked == 3] = torch.tensor([3, 3, 3, 3, 1])  # class 3: 4 of 5
    assert class_match(predicted, asked) == {"class_match": pytest.approx(17 / 20), "class_match_worst": 0.6}


def test_swd_is_zero_on_one_set_and_grows_with_a_shift() -> None:
    x = torch.randn(400, 5, generator=torch.Generator().manual_seed(5))
    assert sliced_wasserstein(x, x) == 0.0
    assert sliced_wasserstein(x, x + 1.0) > sliced_wasserstein(x, x + 0.1) > 0


# -------------------------------------------------------------------------------------------------- domain classifier
def test_domain_classifier_separates_digits_and_is_cached(_private_cache: Path) -> None:
    train, val = load_digits(DataRequest()), load_digits(DataRequest(split="val"))
    clf = domain_classifier(train.x, train.y, val.x, val.y, 10)
    assert clf.accuracy >= 0.95 >= MIN_ACCURACY  # digits are easy: well above the warning's bar
    assert clf.path is not None and clf.path.is_file() and clf.path.parent.parent == _private_cache
    again = domain_classifier(train.x, train.y, val.x, val.y, 10)  # from the cache: the same network
    assert again.accuracy == clf.accuracy
    for p, q in zip(clf.net.parameters(), again.net.parameters()):
        assert torch.equal(p, q)
    features, predicted = clf.embed(val.x)
    assert features.shape == (len(val.x), 128) and features.dtype == torch.float64
    assert float((predicted == val.y).double().mean()) == clf.accuracy


def test_a_damaged_cache_entry_is_rebuilt(_private_cache: Path) -> None:
    gen = torch.Generator().manual_seed(6)  # small made-up data: two classes of 4x4 images, quick to learn
    y = torch.arange(64) % 2
    x = (torch.randn(64, 1, 4, 4, generator=gen) * 0.1 + (2 * y - 1).float().view(-1, 1, 1, 1)).clamp(-1, 1)
    train, val = type("D", (), {"x": x[:48], "y": y[:48]}), type("D", (), {"x": x[48:], "y": y[48:]})
    clf = domain_classifier(train.x, train.y, val.x, val.y, 2)
    clf.path.write_bytes(b"not safetensors")
    rebuilt = domain_classifier(train.x, train.y, val.x, val.y, 2)
    assert rebuilt.accuracy == clf.accuracy == 1.0 and rebuilt.path.read_bytes()[:15] != b"not safetensors"


def test_the_recipe_follows_the_size_of_the_training_data() -> None:
    from ganzoo.metrics.domain import LARGE, LARGE_DATA, SMALL, DomainClassifier, recipe_for

    assert recipe_for(1617) is recipe_for(LARGE_DATA - 1) is SMALL  # digits, MNIST's 9,000
    assert recipe_for(LARGE_DATA) is recipe_for(60_000) is LARGE  # Fashion-MNIST
    assert SMALL.cache_prefix != LARGE.cache_prefix
    assert SMALL.updates(1617, 128) == 600 and SMALL.updates(60_000, 128) == 3750
    assert LARGE.updates(60_000, 128) == LARGE.updates(20_000, 128) == 2000
    # the small network's parameter names are those of the networks cached before recipes existed: they still load
    small = DomainClassifier(1, 10, SMALL)
    assert list(small.state_dict()) == ["body.0.weight", "body.0.bias", "body.3.weight", "body.3.bias",
                                        "body.8.weight", "body.8.bias", "head.weight", "head.bias"]
    large = DomainClassifier(1, 10, LARGE)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in large.modules()) == 2
    assert sum(isinstance(m, torch.nn.Dropout) for m in large.modules()) == 2
    assert large.features(torch.zeros(3, 1, 32, 32)).shape == (3, 128)
    # version 2 pools straight after each conv, so BatchNorm and ReLU run on a quarter of the elements
    kinds = [type(m).__name__ for m in large.body][:8]
    assert kinds == ["Conv2d", "MaxPool2d", "BatchNorm2d", "ReLU"] * 2 and LARGE.version == 2


def test_the_feature_pool_passes_a_map_of_its_size_through_unchanged() -> None:
    from ganzoo.metrics.domain import _PoolTo

    x = torch.randn(2, 3, 8, 8)
    assert _PoolTo(8)(x) is x
    assert torch.equal(_PoolTo(4)(x), torch.nn.functional.adaptive_avg_pool2d(x, 4))
    assert torch.equal(_PoolTo(8)(torch.ones(1, 1, 7, 7)), torch.ones(1, 1, 8, 8))  # 28x28 input: a 7x7 map


def test_large_training_data_gets_the_large_recipe_with_its_own_cache_entry(_private_cache: Path,
                                                                           monkeypatch) -> None:
    import dataclasses
    import warnings

    from safetensors import safe_open

    from ganzoo.errors import GanzooWarning
    from ganzoo.metrics import domain

    # the real recipe takes 2,000 updates; 30 show the choice, the warning and the cache entry
    monkeypatch.setattr(domain, "LARGE", dataclasses.replace(domain.LARGE, min_updates=30, max_updates=30))
    gen = torch.Generator().manual_seed(7)
    y = torch.arange(domain.LARGE_DATA) % 2
    x = (torch.randn(len(y), 1, 8, 8, generator=gen) * 0.1 + (2 * y - 1).float().view(-1, 1, 1, 1)).clamp(-1, 1)
    with pytest.warns(GanzooWarning, match="training the domain classifier for these 20,000 images once"):
        clf = domain_classifier(x, y, x[:200], y[:200], 2)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in clf.net.modules()) == 2 and clf.accuracy == 1.0
    with safe_open(str(clf.path), framework="pt") as f:
        assert json.loads(f.metadata()["info"])["recipe"] == "large"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # from the cache: nothing is trained, so nothing to warn about
        again = domain_classifier(x, y, x[:200], y[:200], 2)
    assert all(torch.equal(p, q) for p, q in zip(clf.net.parameters(), again.net.parameters()))
    assert torch.equal(clf.embed(x[:50])[0], again.embed(x[:50])[0])  # eval mode: BatchNorm's running stats, no dropout
    # a new version of the large recipe is a new cache entry for the same data; the small recipe's entries do not move
    small = domain_classifier(x[:100], y[:100], x[:50], y[:50], 2)
    monkeypatch.setattr(domain, "LARGE", dataclasses.replace(domain.LARGE, version=domain.LARGE.version + 1))
    with pytest.warns(GanzooWarning, match="training the domain classifier"):
        assert domain_classifier(x, y, x[:200], y[:200], 2).path != clf.path
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert domain_classifier(x[:100], y[:100], x[:50], y[:50], 2).path == small.path


# ------------------------------------------------------------------------------------------------------- ganzoo eval
def test_eval_scores_a_run_beside_its_floor(tmp_path: Path, run_cli) -> None:
    tiny_run(tmp_path, "dcgan", "digits", steps=2)
    result = run_cli("eval", str(tmp_path), "--n", "300", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["step"] == 2 and report["n"] == 300 and {"domain", "swd"} <= set(report["metrics"])
    assert "modes" not in report["metrics"]  # every metric that fits images (plugins' too), none that does not
    domain = report["metrics"]["domain"]
    assert domain["primary"] == "fd" and domain["higher_is_better"] is False
    # two steps of training: far worse than real data on every reading
    assert domain["score"]["fd"] > 3 * domain["floor"]["fd"]
    assert domain["floor"]["classes"] == 10 and domain["floor"]["precision"] > 0.8
    assert (tmp_path / "eval" / "last_step000002.json").is_file()
    table = run_cli("eval", str(tmp_path), "--n", "300", "--metric", "swd")
    assert "real floor" in table.stdout and "domain" not in table.stdout


def test_eval_of_a_conditional_run_says_how_often_a_sample_is_of_the_class_asked_for(tmp_path: Path, run_cli,
                                                                                        _private_cache: Path) -> None:
    def scores(run: Path) -> dict:
        done = run_cli("eval", str(run), "--n", "300", "--metric", "domain", "--metric", "swd", "--json")
        assert done.exit_code == 0, done.stderr
        return json.loads(done.stdout)["metrics"]

    floors = _private_cache / "floors"
    tiny_run(tmp_path / "uncond", "dcgan", "digits", steps=2)
    plain = scores(tmp_path / "uncond")  # first: its floors are cached without labels
    assert "class_match" not in plain["domain"]["score"] and "class_match" not in plain["domain"]["floor"]
    cached = set(floors.iterdir())
    tiny_run(tmp_path / "cond", "dcgan", "digits", steps=2, conditional=True)
    conditional = scores(tmp_path / "cond")
    domain = conditional["domain"]
    # the floor asks real training digits for their own classes (the classifier learnt from them), under its own key
    assert domain["floor"]["class_match"] >= 0.95 and domain["floor"]["class_match_worst"] >= 0.8
    # two steps of training: the class asked for is near chance (a tenth), far under the floor
    assert domain["score"]["class_match"] < 0.5 < domain["floor"]["class_match"]
    assert domain["score"]["class_match_worst"] <= domain["score"]["class_match"]
    # swd reads no labels: the conditional run reuses the unconditional run's floor; only domain's is new
    assert len(set(floors.iterdir()) - cached) == 1 and conditional["swd"]["floor"] == plain["swd"]["floor"]


def test_validation_of_a_conditional_run_scores_the_class_asked_for(tmp_path: Path, _private_cache: Path) -> None:
    tiny_run(tmp_path, "dcgan", "digits", steps=3, conditional=True, val_metric="domain")
    (record,) = [r for r in read_metrics(tmp_path) if "val" in r]
    assert 0 <= record["val"]["domain"]["class_match_worst"] <= record["val"]["domain"]["class_match"] <= 1


def test_eval_refuses_a_metric_that_does_not_fit(tmp_path: Path, run_cli) -> None:
    tiny_run(tmp_path, "dcgan", "digits", steps=1)
    result = run_cli("eval", str(tmp_path), "--metric", "modes")
    assert result.exit_code == 1 and "cannot score dataset 'digits'" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("eval", str(tmp_path), "--n", "1")
    assert result.exit_code == 1 and "--n 1 must be at least 2" in result.stderr


def test_eval_of_a_points_run_uses_the_mode_metric(tmp_path: Path, run_cli) -> None:
    tiny_run(tmp_path, "wgan_gp", "ring", steps=2)
    report = json.loads(run_cli("eval", str(tmp_path), "--n", "500", "--json").stdout)
    assert {"modes", "swd"} <= set(report["metrics"]) and "domain" not in report["metrics"]
    assert report["metrics"]["modes"]["floor"]["modes"] == 8 and report["metrics"]["modes"]["floor"]["hq_share"] > 0.97



def test_the_domain_fingerprint_is_computed_once_per_tensor_and_again_after_a_change(monkeypatch) -> None:
    """Validation scores with the same training tensors every time: hashing them once is enough, unless they change."""
    import hashlib

    from ganzoo.metrics import domain

    calls = []
    real_sha256 = hashlib.sha256
    monkeypatch.setattr(domain.hashlib, "sha256", lambda *a: calls.append(1) or real_sha256(*a))
    x, y = torch.rand(20, 1, 8, 8), torch.arange(20) % 10
    first = domain._fingerprint(x, y, "v1")
    assert domain._fingerprint(x, y, "v1") == first and len(calls) == 1
    x[0, 0, 0, 0] += 1.0  # in place: the same object, new contents
    changed = domain._fingerprint(x, y, "v1")
    assert changed != first and len(calls) == 2
    assert domain._fingerprint(x.clone(), y, "v1") == changed and len(calls) == 3  # a new tensor is hashed afresh
    assert domain._fingerprint(x, y, "large-v1") != changed and len(calls) == 4  # another recipe: another key


def test_the_long_recipes_progress_bar_shows_on_a_terminal_and_changes_nothing(monkeypatch) -> None:
    """The large recipe trains for minutes: on a terminal it shows a bar on stderr; the network it trains is the same
    with the bar as without."""
    import dataclasses
    import io

    from ganzoo.metrics import domain

    recipe = dataclasses.replace(domain.LARGE, min_updates=12, max_updates=12)
    gen = torch.Generator().manual_seed(3)
    y = torch.arange(64) % 2
    x = torch.randn(64, 1, 8, 8, generator=gen).clamp(-1, 1)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = domain._train(x, y, 2, recipe)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    shown = domain._train(x, y, 2, recipe)
    assert "domain classifier:" in terminal.getvalue() and "0/12" in terminal.getvalue()
    assert all(torch.equal(p, q) for p, q in zip(quiet.parameters(), shown.parameters()))
