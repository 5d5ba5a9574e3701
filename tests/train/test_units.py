"""The trainer's parts on their own, with tiny networks: one critic update, one generator update, the cadence, the data
order, the non-finite guard. The end-to-end tests run them together; these say which part broke."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError
from ganzoo.nets import ConvDiscriminator, ConvGenerator
from ganzoo.registry import default_registry
from ganzoo.train import distributed
from ganzoo.train.auxiliary import ClassLoss
from ganzoo.train.batches import Batches
from ganzoo.train.cadence import Cadence
from ganzoo.train.config import data_request, resolve_config
from ganzoo.train.models import Networks, add_class_head, build_networks, standing_statistics
from ganzoo.train.steps import critic_step, generator_step, mode_seeking_ratio, paired_labels

WORLD = distributed.World()


def _networks(arch: str = "wgan_gp", *settings: str, **options) -> tuple[Networks, object]:
    resolved = resolve_config(default_registry(), {"arch": arch, "dataset": "ring", "batch_size": 16, **options},
                              ["hidden=8", "depth=2", "data.n=200", *settings])
    info = resolved.dataset.load(data_request(resolved.config)).info
    return build_networks(resolved.arch, resolved.config, info, torch.device("cpu"), 0, WORLD), resolved


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_a_critic_update_moves_d_alone_and_logs_its_values() -> None:
    nets, resolved = _networks()
    g_before, d_before = _params(nets.G), dict(nets.D.named_parameters())
    d_before = {k: v.detach().clone() for k, v in d_before.items()}
    real = torch.randn(16, 2)
    logged = critic_step(nets, real, None, resolved.loss, resolved.loss.penalty, torch.Generator().manual_seed(0), WORLD)
    assert set(logged) == {"d_loss", "d_real", "d_fake", "d_acc", "gp"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in logged.values())
    assert float(logged["gp"]) >= 0 and 0 <= float(logged["d_acc"]) <= 1
    assert all(torch.equal(a, b) for a, b in zip(g_before, nets.G.parameters()))
    # every weight moved (the head's bias cancels out of a Wasserstein loss and its penalty: its gradient is 0)
    moved = {k for k, v in nets.D.named_parameters() if not torch.equal(v, d_before[k])}
    assert {k for k in d_before if k.endswith("weight")} <= moved


def test_the_hand_derived_critic_gradient_is_the_same_step_as_the_double_backward() -> None:
    """wgan_gp's MLP critic takes its gradients from mlp_critic_grads; the same update through autograd's double
    backward must land on the same weights and log the same values (float rounding apart)."""
    by_hand, resolved = _networks()
    assert by_hand.critic_layers is not None
    autograd = copy.deepcopy(by_hand)
    autograd.critic_layers = None
    real = torch.randn(16, 2)
    logs = [critic_step(nets, real, None, resolved.loss, resolved.loss.penalty, torch.Generator().manual_seed(3), WORLD)
            for nets in (by_hand, autograd)]
    assert logs[0].keys() == logs[1].keys()
    for key in logs[0]:
        torch.testing.assert_close(logs[0][key], logs[1][key], rtol=1e-5, atol=1e-6)
    for a, b in zip(by_hand.D.parameters(), autograd.D.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_r1_by_hand_is_the_same_step_as_the_double_backward() -> None:
    """bce_r1 takes D's input gradient at the real samples alone: the hand-derived critic gradient and autograd's
    double backward agree on it, and the penalty is gamma / 2 * mean ||grad D(x)||^2 there."""
    by_hand, _ = _networks("vanilla")
    assert by_hand.critic_layers is not None
    autograd = copy.deepcopy(by_hand)
    autograd.critic_layers = None
    r1 = default_registry().get("loss", "bce_r1")
    assert r1.penalty is not None and r1.penalty.on == "real"
    real = torch.randn(16, 2)
    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(by_hand.D(x).sum(), x)
    expected = r1.penalty.weight / 2 * grad.pow(2).sum(1).mean()
    logs = [critic_step(nets, real, None, r1, r1.penalty, torch.Generator().manual_seed(3), WORLD)
            for nets in (by_hand, autograd)]
    for log in logs:
        torch.testing.assert_close(log["gp"], expected.detach(), rtol=1e-5, atol=1e-7)
    for a, b in zip(by_hand.D.parameters(), autograd.D.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_every_path_logs_the_same_record() -> None:
    """By hand, through the fused tail, a kind without a penalty, a plugin's own loss: one record, the kernel's
    statistics included (d_acc), the penalty's only where there is one."""
    registry = default_registry()
    real = torch.randn(16, 2)
    for arch, loss_name, with_penalty in (("wgan_gp", "wgan_gp", True), ("vanilla", "bce_r1", True), ("vanilla", "bce", False),
                                          ("vanilla", "wgan_gp_drift", False), ("vanilla", "ragan", False)):
        nets, _ = _networks(arch)
        loss = registry.get("loss", loss_name)
        penalty = loss.penalty if with_penalty else None
        logged = critic_step(nets, real, None, loss, penalty, torch.Generator().manual_seed(0), WORLD)
        expected = {"d_loss", "d_real", "d_fake", "d_acc"} | ({"gp"} if with_penalty else set())
        assert set(logged) == expected, (arch, loss_name)
        assert all(v.dim() == 0 and torch.isfinite(v) for v in logged.values()), (arch, loss_name)


class PluginChainCritic(torch.nn.Module):
    """A plugin's critic, no subclass of ganzoo's, that offers the linear-chain capability."""

    def __init__(self, slope: float = 0.2):
        super().__init__()
        self.hidden, self.head, self.slope = torch.nn.Linear(2, 8), torch.nn.Linear(8, 1), slope

    def linear_chain(self):
        return [self.hidden, self.head], self.slope

    def forward(self, x, y=None):
        return self.head(torch.nn.functional.leaky_relu(self.hidden(x.flatten(1)), self.slope)).squeeze(1)


def test_a_plugin_critic_that_offers_a_linear_chain_gets_the_hand_derived_gradient() -> None:
    from ganzoo.errors import PluginError
    from ganzoo.train.models import _critic_layers

    critic = PluginChainCritic()
    layers, slope = _critic_layers(critic, None, None)
    assert layers == [critic.hidden, critic.head] and slope == 0.2
    assert _critic_layers(critic, torch.bfloat16, None) is None  # mixed precision keeps the double backward
    with pytest.raises(PluginError, match=r"PluginChainCritic.linear_chain\(\) must return"):
        _critic_layers(PluginChainCritic(slope=-1.0), None, None)


def test_a_generator_update_moves_g_alone_and_its_average() -> None:
    nets, resolved = _networks(ema=0.999)
    assert nets.G_ema is not None
    g_before, d_before, ema_before = _params(nets.G), _params(nets.D), _params(nets.G_ema)
    logged = generator_step(nets, resolved.loss, torch.Generator().manual_seed(0), WORLD, 16, 0, step=1,
                            ema=0.999)
    assert set(logged) == {"g_loss"} and torch.isfinite(logged["g_loss"])
    assert all(torch.equal(a, b) for a, b in zip(d_before, nets.D.parameters()))
    assert all(p.requires_grad for p in nets.D.parameters())  # frozen for the update only
    assert not any(torch.equal(a, b) for a, b in zip(g_before, nets.G.parameters()))
    assert not any(torch.equal(a, b) for a, b in zip(ema_before, nets.G_ema.parameters()))


def test_standing_statistics_are_the_generators_own_batch_statistics() -> None:
    torch.manual_seed(0)
    G = ConvGenerator(latent_dim=8, channels=1, size=16, base=8)
    for m in G.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # statistics that belong to other weights, as G_ema's copies do
            m.running_mean.fill_(0.5)
            m.running_var.fill_(3.0)
    G.eval()
    norms = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    standing_statistics(G, 8, 0, torch.device("cpu"), batches=8, batch_size=64)
    assert not G.training and all(not m.training and m.momentum == 0.1 for m in norms)
    # the first layer's input statistics, measured directly on fresh latents: the estimate of 512 samples is close
    z = torch.randn(4096, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        h = torch.nn.functional.conv_transpose2d(z[:, :, None, None], G.net[0].weight)
    torch.testing.assert_close(norms[0].running_mean, h.mean((0, 2, 3)), atol=0.05, rtol=0)
    torch.testing.assert_close(norms[0].running_var, h.var((0, 2, 3)), atol=0, rtol=0.15)
    again = copy.deepcopy(G)
    standing_statistics(again, 8, 0, torch.device("cpu"), batches=8, batch_size=64)  # its own noise: repeatable
    assert all(torch.equal(a, b) for a, b in zip(G.buffers(), again.buffers()))


def test_the_average_gets_its_own_statistics_before_it_is_used_and_training_never_reads_them() -> None:
    nets, resolved = _networks("vanilla", "g_batchnorm=on", ema=0.999)
    assert nets.G_ema is not None and nets.average_statistics_stale
    generator_step(nets, resolved.loss, torch.Generator().manual_seed(0), WORLD, 16, 0, step=1, ema=0.999)
    copied = [b.clone() for b in nets.G_ema.buffers()]
    assert all(torch.equal(a, b) for a, b in zip(copied, nets.G.buffers()))  # update_ema copies G's
    sampler = nets.sampler()
    assert sampler is nets.G_ema and not nets.average_statistics_stale
    own = [b.clone() for b in nets.G_ema.buffers()]
    assert not all(torch.equal(a, b) for a, b in zip(copied, own))
    nets.settle_average()  # nothing changed since: nothing to do
    assert all(torch.equal(a, b) for a, b in zip(own, nets.G_ema.buffers()))
    generator_step(nets, resolved.loss, torch.Generator().manual_seed(1), WORLD, 16, 0, step=2, ema=0.999)
    assert nets.average_statistics_stale


def test_mode_seeking_pairs_samples_of_one_class_and_logs_the_ratio_of_the_batch_it_trained_on() -> None:
    assert paired_labels(torch.tensor([3, 1, 4, 1, 5, 9, 2])).tolist() == [3, 3, 4, 4, 5, 5, 2]
    ratio = mode_seeking_ratio(torch.tensor([[0.0], [1.0], [2.0], [4.0]]), torch.tensor([[0.0], [2.0], [0.0], [2.0]]))
    assert float(ratio) == pytest.approx(1.5 / 2.0)
    nets, resolved = _networks(ema=0.0)
    G_before = copy.deepcopy(nets.G)
    logged = generator_step(nets, resolved.loss, torch.Generator().manual_seed(5), WORLD, 16, 0, step=1,
                            mode_seeking=1.0)
    assert set(logged) == {"g_loss", "ms_ratio"}
    z = torch.randn(16, nets.latent_dim, generator=torch.Generator().manual_seed(5))  # the step's own draw
    with torch.no_grad():
        expected = mode_seeking_ratio(G_before(z, None), z)
    torch.testing.assert_close(logged["ms_ratio"], expected)


def test_mode_seeking_trains_a_conditional_generator_on_pairs_of_one_class() -> None:
    resolved = resolve_config(default_registry(), {"arch": "dcgan", "dataset": "digits", "batch_size": 16,
                                                   "image_size": 8, "conditional": True, "mode_seeking": 1.0},
                              ["base_channels=4"])
    info = resolved.dataset.load(data_request(resolved.config)).info
    nets = build_networks(resolved.arch, resolved.config, info, torch.device("cpu"), 0, WORLD)
    seen = []
    nets.G_ddp.register_forward_pre_hook(lambda module, args: seen.append(args[1].clone()))
    for weight in (0.0, 1.0):  # the same draw (seed 1) without the term, then with it
        logged = generator_step(nets, resolved.loss, torch.Generator().manual_seed(1), WORLD, 16, 10, step=1,
                                mode_seeking=weight)
        assert ("ms_ratio" in logged) == bool(weight)
    unpaired, paired = seen
    assert not torch.equal(unpaired[0::2], unpaired[1::2])  # the same draw, paired only with the term on
    assert torch.equal(paired[0::2], unpaired[0::2]) and torch.equal(paired[1::2], paired[0::2])


def test_mode_seeking_spreads_the_generators_samples_apart() -> None:
    """With the term weighted far above the adversarial loss, a few updates must raise the ratio on fixed noise; the
    same updates without it serve as the control."""
    ratios = {}
    for weight in (0.0, 100.0):
        nets, resolved = _networks(ema=0.0)
        z = torch.randn(256, nets.latent_dim, generator=torch.Generator().manual_seed(9))
        with torch.no_grad():
            before = float(mode_seeking_ratio(nets.G(z, None), z))
        for step in range(1, 21):
            generator_step(nets, resolved.loss, torch.Generator().manual_seed(step), WORLD, 16, 0, step=step,
                           mode_seeking=weight)
        with torch.no_grad():
            ratios[weight] = float(mode_seeking_ratio(nets.G(z, None), z))
    assert ratios[100.0] > 1.3 * before and ratios[100.0] > 1.3 * ratios[0.0], (before, ratios)


def _conditional_dcgan(**options) -> tuple[Networks, object]:
    resolved = resolve_config(default_registry(), {"arch": "dcgan", "dataset": "digits", "batch_size": 16,
                                                   "image_size": 8, "conditional": True, "ema": 0.0, **options},
                              ["base_channels=4"])
    info = resolved.dataset.load(data_request(resolved.config)).info
    return build_networks(resolved.arch, resolved.config, info, torch.device("cpu"), 10, WORLD), resolved


def test_the_class_loss_logs_the_cross_entropy_of_the_batches_it_trained_on() -> None:
    nets, resolved = _conditional_dcgan(class_loss=2.0)
    D_before, G_before = copy.deepcopy(nets.D), copy.deepcopy(nets.G)
    real, y = torch.rand(16, 1, 8, 8) * 2 - 1, torch.arange(16) % 10
    logged = critic_step(nets, real, y, resolved.loss, None, torch.Generator().manual_seed(0), WORLD, classes=ClassLoss(2.0))
    assert set(logged) == {"d_loss", "d_real", "d_fake", "d_acc", "d_class"}
    _, classes = D_before(real, y, classes=True)
    torch.testing.assert_close(logged["d_class"], F.cross_entropy(classes, y))
    assert not torch.equal(D_before.class_head.weight, nets.D.class_head.weight)
    assert all(torch.equal(a, b) for a, b in zip(G_before.parameters(), nets.G.parameters()))

    D_now = copy.deepcopy(nets.D)
    logged = generator_step(nets, resolved.loss, torch.Generator().manual_seed(5), WORLD, 16, 10, step=1,
                            classes=ClassLoss(2.0))
    assert set(logged) == {"g_loss", "g_class"}
    assert all(torch.equal(a, b) for a, b in zip(D_now.parameters(), nets.D.parameters()))  # the head included
    noise = torch.Generator().manual_seed(5)  # the step's own draw: the classes, then the noise
    y = torch.randint(10, (16,), generator=noise)
    z = torch.randn(16, nets.latent_dim, generator=noise)
    with torch.no_grad():
        logits, classes = D_now(G_before(z, y), y, classes=True)
    torch.testing.assert_close(logged["g_class"], F.cross_entropy(classes, y))
    torch.testing.assert_close(logged["g_loss"], F.softplus(-logits).mean())  # the adversarial loss alone


def test_the_twin_classifier_learns_the_fakes_classes_and_g_raises_its_cross_entropy() -> None:
    twin = ClassLoss(0.5, twin=True)
    nets, resolved = _conditional_dcgan(class_loss=0.5, twin_classifier=True)
    assert nets.D.class_head.out_features == 20  # the classifier of real images, then the twin of generated ones
    D_before, G_before = copy.deepcopy(nets.D), copy.deepcopy(nets.G)
    real, y = torch.rand(16, 1, 8, 8) * 2 - 1, torch.arange(16) % 10
    logged = critic_step(nets, real, y, resolved.loss, None, torch.Generator().manual_seed(0), WORLD, classes=twin)
    assert set(logged) == {"d_loss", "d_real", "d_fake", "d_acc", "d_class", "d_twin"}
    noise = torch.Generator().manual_seed(0)  # the critic step's draw of the fakes, on the real batch's classes
    z = torch.randn(16, nets.latent_dim, generator=noise)
    with torch.no_grad():
        real_logits, real_classes = D_before(real, y, classes=True)
        fake_logits, fake_classes = D_before(G_before(z, y), y, classes=True)
    torch.testing.assert_close(logged["d_class"], F.cross_entropy(real_classes[:, :10], y))
    torch.testing.assert_close(logged["d_twin"], F.cross_entropy(fake_classes[:, 10:], y))
    # d_loss is the adversarial loss alone: the class terms are logged apart, not in it
    torch.testing.assert_close(logged["d_loss"], F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())

    logged = generator_step(nets, resolved.loss, torch.Generator().manual_seed(5), WORLD, 16, 10, step=1, classes=twin)
    assert set(logged) == {"g_loss", "g_class", "g_twin"}
    terms = {"g_class": torch.tensor(2.0), "g_twin": torch.tensor(0.5)}
    assert float(twin.generator_total(terms)) == pytest.approx(0.5 * (2.0 - 0.5))  # G raises the twin's loss
    assert float(twin.critic_total({"d_class": torch.tensor(2.0), "d_twin": torch.tensor(0.5)})) == pytest.approx(1.25)


def test_the_class_loss_pulls_the_generators_samples_towards_their_classes() -> None:
    """D's head learns the classes of a fixed labelled batch; then a few generator updates with a heavy weight must
    lower the head's cross-entropy on fixed noise and classes against the same updates without it (the control)."""
    nets, resolved = _conditional_dcgan(class_loss=1.0, lr_d=0.01, lr_g=0.01)
    real = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    y = torch.arange(40) % 10
    first = None
    for update in range(30):
        logged = critic_step(nets, real, y, resolved.loss, None, torch.Generator().manual_seed(update), WORLD,
                             classes=ClassLoss(1.0))
        first = float(logged["d_class"]) if first is None else first
    assert float(logged["d_class"]) < 0.5 * first, (first, float(logged["d_class"]))
    z = torch.randn(200, nets.latent_dim, generator=torch.Generator().manual_seed(9))
    fixed_y = torch.arange(200) % 10
    cross_entropy = {}
    for weight in (0.0, 20.0):
        trained = copy.deepcopy(nets)
        for step in range(1, 31):
            generator_step(trained, resolved.loss, torch.Generator().manual_seed(step), WORLD, 16, 10, step=step,
                           classes=ClassLoss(weight) if weight else None)
        with torch.no_grad():  # D as the generator step sees it: BatchNorm on the batch's own statistics
            _, classes = trained.D(trained.G(z, fixed_y), fixed_y, classes=True)
        cross_entropy[weight] = float(F.cross_entropy(classes, fixed_y))
    assert cross_entropy[20.0] < 0.8 * cross_entropy[0.0], cross_entropy  # seen: 1.63 against 2.68


def test_the_class_loss_is_refused_for_a_discriminator_that_cannot_classify() -> None:
    with pytest.raises(ConfigError, match="architecture 'vanilla'.s cannot: use --arch dcgan"):
        _networks("vanilla", conditional=True, class_loss=1.0)
    nets, _ = _conditional_dcgan()
    with pytest.raises(ValueError, match="no class head: call add_class_head"):
        nets.D(torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long), classes=True)

    class OwnForward(ConvDiscriminator):  # a plugin's subclass may change forward: it must offer the head itself
        pass

    with pytest.raises(ConfigError, match="architecture 'mine'.s cannot"):
        add_class_head(OwnForward(1, 8, 4, num_classes=10), "mine", 10)


def test_a_loss_that_scores_real_data_needs_the_real_batch() -> None:
    nets, _ = _networks("vanilla")
    ragan = default_registry().get("loss", "ragan")
    with pytest.raises(ValueError, match="pass the real batch"):
        generator_step(nets, ragan, torch.Generator().manual_seed(0), WORLD, 16, 0, step=1)


def test_the_cadence_says_what_is_due_and_the_last_step_is_due_for_everything() -> None:
    cadence = Cadence(steps=25, log_every=5, sample_every=10, val_every=0, checkpoint_every=20, check_every=2)
    due = {t: cadence.due(t) for t in range(1, 26)}
    assert [t for t, d in due.items() if d.log] == [5, 10, 15, 20, 25]
    assert [t for t, d in due.items() if d.sample] == [10, 20, 25]
    assert [t for t, d in due.items() if d.validate] == [25]  # 0 = never, but the last step is always due
    assert [t for t, d in due.items() if d.checkpoint] == [20, 25]
    assert [t for t, d in due.items() if d.check] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 25]
    assert not due[3].writes and due[5].writes and not due[2].writes


def test_the_data_order_is_a_function_of_the_position() -> None:
    order = Batches(10, seed=7)
    epoch0, epoch1 = order.take(0, 10), order.take(10, 10)
    assert sorted(epoch0.tolist()) == list(range(10)) == sorted(epoch1.tolist())  # each epoch visits every sample once
    assert not torch.equal(epoch0, epoch1)  # in an order of its own
    across = order.take(7, 6)  # a batch across the epoch boundary is the end of one and the start of the next
    assert torch.equal(across, torch.cat([epoch0[7:], epoch1[:3]]))
    fresh = Batches(10, seed=7)  # a resumed run rebuilds the order from the seed and reads from its position
    assert torch.equal(fresh.take(13, 4), epoch1[3:7])
    assert not torch.equal(Batches(10, seed=8).take(0, 10), epoch0)


def _guarded(patience: int, max_rollbacks: int):
    from ganzoo.train.guard import NonFiniteGuard
    from ganzoo.train.state import TrainState

    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    state = TrainState()
    guard = NonFiniteGuard({"net": net, "absent": None}, {"net": opt}, state, torch.device("cpu"), patience=patience,
                           max_rollbacks=max_rollbacks)

    def update(loss_scale: float = 1.0) -> None:
        loss = net(torch.ones(4, 3)).mean() * loss_scale
        opt.zero_grad()
        loss.backward()
        opt.step()
        guard.watch(loss)
        state.step += 1
        state.images += 4

    return net, state, guard, update


def test_the_guard_passes_finite_windows_and_takes_their_snapshot() -> None:
    net, state, guard, update = _guarded(patience=2, max_rollbacks=1)
    update(), update()
    assert guard.check(WORLD) is None and guard.snapshot.step == 2


def test_the_guard_skips_a_bad_window_back_to_the_last_good_check_while_the_data_goes_on() -> None:
    net, state, guard, update = _guarded(patience=2, max_rollbacks=1)
    update()
    assert guard.check(WORLD) is None
    good = _params(net)
    update(), update(float("nan"))
    event = guard.check(WORLD)
    assert event == {"step": 3, "event": "nonfinite", "window": [2, 3], "action": "skip", "resume_from": 1}
    assert state.step == 1 and state.images == 12  # the step count goes back, the data position does not
    assert all(torch.equal(a, b) for a, b in zip(_params(net), good)) and state.lr_scale == 1.0


def test_the_guard_rolls_back_with_half_the_learning_rate_after_patience_then_stops() -> None:
    net, state, guard, update = _guarded(patience=1, max_rollbacks=1)
    update(float("inf"))
    event = guard.check(WORLD)
    assert event["action"] == "rollback" and event["lr_scale"] == 0.5 and state.rollbacks == 1 and state.step == 0
    update(float("nan"))
    assert guard.check(WORLD)["action"] == "stop"


def test_the_guard_catches_a_non_finite_parameter_under_a_finite_loss() -> None:
    """A gradient of Inf with a finite loss leaves Inf in the weights (Adam: Inf / Inf): the parameter check sees it."""
    net, state, guard, update = _guarded(patience=2, max_rollbacks=1)
    update()
    with torch.no_grad():
        net.weight[0, 0] = float("inf")
    assert guard.check(WORLD)["action"] == "skip"
    assert torch.isfinite(net.weight).all()
