"""One critic update and one generator update, and the optimizer step both end in.

Each returns the values the run logs, left on the device (reading one would force a host sync)."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Iterable, Optional

import torch
from torch import nn

from ganzoo.ops import (
    CriticStats,
    critic_tail,
    discriminator_loss_with_stats,
    gradient_penalty,
    interpolate,
    logit_stats_ref,
    mlp_critic_grads,
    use_extension,
)
from ganzoo.specs import Loss, Penalty
from ganzoo.train import distributed
from ganzoo.train.augment import augment
from ganzoo.train.auxiliary import ClassLoss
from ganzoo.train.guard import NonFiniteGuard
from ganzoo.train.models import Networks, ema_decay

__all__ = ["critic_step", "generator_step", "mode_seeking_ratio", "optimizer_step", "paired_labels", "penalty_grad",
           "penalty_point", "penalty_this_update"]


def penalty_this_update(penalty: Optional[Penalty], every: int, update: int) -> Optional[Penalty]:
    """Lazy regularisation: the penalty on every ``every``-th critic update only (``update`` counts from 1), weighted by
    ``every`` so that its average pull is unchanged."""
    if penalty is None or (update - 1) % every != 0:
        return None
    return dataclasses.replace(penalty, weight=penalty.weight * every) if every > 1 else penalty


def critic_step(nets: Networks, real: torch.Tensor, y: Optional[torch.Tensor], loss: Loss, penalty: Optional[Penalty],
                noise: torch.Generator, world: distributed.World, *, label_smoothing: float = 0.0,
                grad_clip: float = 0.0, guard: Optional[NonFiniteGuard] = None,
                augmentation: tuple[str, ...] = (), classes: Optional[ClassLoss] = None) -> dict[str, torch.Tensor]:
    """One update of D on a real batch (this rank's slice) and as many detached fakes, with ``penalty`` when given,
    and its log record: ``d_loss`` (without the penalty and the class terms), ``d_real`` and ``d_fake`` (mean logits), ``d_acc`` (the
    share of real logits > 0 and fake logits < 0) and ``gp`` (the weighted penalty) when there is one.

    Two implementations compute the same loss and gradients: a critic that offers its layers as a linear chain
    (``nets.critic_layers``) gets them from ``mlp_critic_grads``'s hand-derived formulas, any other through autograd
    (a double backward for the penalty). A loss that names a kernel ``kind`` runs loss and penalty as one op (fused
    unless ``--no-fused``), its statistics from the same pass. With ``augmentation`` (DiffAugment), D sees real and
    fake batches through it, the penalty included. ``classes`` adds the auxiliary classifiers' terms (``ClassLoss``),
    logged unweighted as ``d_class`` (and ``d_twin``)."""
    global_batch = real.shape[0] * world.size
    mine = world.part(global_batch)
    class_terms: dict[str, torch.Tensor] = {}
    with nets.autocast(), torch.no_grad():
        z = torch.randn(global_batch, nets.latent_dim, generator=noise)[mine].to(nets.device)
        fake = nets.G(z, y).float()
    if augmentation:
        real, fake = augment(real, augmentation, noise, world), augment(fake, augmentation, noise, world)
    if nets.critic_layers is not None and loss.kind is not None and classes is None and use_extension(None, real, fake):
        total, stats, grads = _critic_loss_by_hand(nets.critic_layers, real, fake, loss.kind, penalty, noise, world,
                                                   label_smoothing)
        distributed.average_gradients([g for _, g in grads], world)  # DDP's averaging, which its hooks do in autograd
        adversarial = total.detach()
    else:
        total, adversarial, stats, class_terms = _critic_loss_by_autograd(nets, real, fake, y, loss, penalty, noise,
                                                                          world, label_smoothing, classes)
        grads = None
    optimizer_step(total, nets.opt_d, nets.scaler_d, nets.D, grad_clip, guard, grads=grads)
    # d_loss is the adversarial loss alone: without the penalty and the class terms, logged apart
    logged = {"d_loss": adversarial - stats.penalty, "d_real": stats.real_mean, "d_fake": stats.fake_mean,
              "d_acc": stats.accuracy, **class_terms}
    return {**logged, "gp": stats.penalty} if penalty is not None else logged


def _critic_loss_by_autograd(nets: Networks, real: torch.Tensor, fake: torch.Tensor, y: Optional[torch.Tensor],
                             loss: Loss, penalty: Optional[Penalty], noise: torch.Generator, world: distributed.World,
                             label_smoothing: float, classes: Optional[ClassLoss] = None
                             ) -> tuple[torch.Tensor, torch.Tensor, CriticStats, dict[str, torch.Tensor]]:
    """The critic's loss (penalty and class terms included) in autograd's graph, for ``optimizer_step``'s backward;
    the adversarial part of it (penalty included, detached), its statistics, and the class terms (detached; none
    without ``classes``)."""
    class_terms: dict[str, torch.Tensor] = {}
    with nets.autocast():
        if classes is None:
            d_real, d_fake = nets.D_ddp(real, y), nets.D_ddp(fake, y)
        else:
            d_real, real_classes = nets.D_ddp(real, y, classes=True)
            d_fake, fake_classes = nets.D_ddp(fake, y, classes=True) if classes.twin else (nets.D_ddp(fake, y), None)
            class_terms = classes.critic_terms(real_classes, fake_classes, y)
        d_real, d_fake = d_real.float(), d_fake.float()
    adversarial, stats = _adversarial_loss(nets, real, fake, y, d_real, d_fake, loss, penalty, noise, world,
                                           label_smoothing)
    if classes is None:
        return adversarial, adversarial.detach(), stats, class_terms
    return (adversarial + classes.critic_total(class_terms), adversarial.detach(), stats,
            {k: v.detach() for k, v in class_terms.items()})


def _adversarial_loss(nets: Networks, real: torch.Tensor, fake: torch.Tensor, y: Optional[torch.Tensor],
                      d_real: torch.Tensor, d_fake: torch.Tensor, loss: Loss, penalty: Optional[Penalty],
                      noise: torch.Generator, world: distributed.World,
                      label_smoothing: float) -> tuple[torch.Tensor, CriticStats]:
    """The loss of the logits D gave real and fake samples, penalty included, and its statistics."""
    if penalty is not None and loss.kind is not None:
        grad = penalty_grad(nets.D_ddp, penalty, real, fake, y, noise, world, nets.autocast, nets.scaler_d)
        return critic_tail(d_real, d_fake, grad, loss.kind, penalty.kind, penalty.weight, penalty.center,
                           label_smoothing)
    if loss.kind is not None:  # no penalty: the loss kernel computes the statistics in its own pass
        total, logit_stats = discriminator_loss_with_stats(loss.kind, d_real, d_fake, label_smoothing)
        return total, CriticStats.of(logit_stats)
    smoothing = {"label_smoothing": label_smoothing} if loss.label_smoothing else {}
    total = loss.discriminator_loss()(d_real, d_fake, **smoothing)
    gp = total.new_zeros(())
    if penalty is not None:
        grad = penalty_grad(nets.D_ddp, penalty, real, fake, y, noise, world, nets.autocast, nets.scaler_d)
        gp = gradient_penalty(grad, penalty.kind, penalty.weight, penalty.center)
        total = total + gp
    # a plugin's own loss has no kernel to compute the statistics in its pass: they come from the logits here
    logit = logit_stats_ref(d_real.detach(), d_fake.detach())
    return total, CriticStats(logit[0], logit[1], logit[2], gp.detach())


def _critic_loss_by_hand(critic_layers: tuple[list[nn.Linear], float], real: torch.Tensor, fake: torch.Tensor,
                         loss_kind: str, penalty: Optional[Penalty], noise: torch.Generator, world: distributed.World,
                         label_smoothing: float
                         ) -> tuple[torch.Tensor, CriticStats, list[tuple[torch.Tensor, torch.Tensor]]]:
    """The critic's loss and its (parameter, gradient) pairs for a critic of Linear + LeakyReLU layers, from the
    hand-derived formulas of ``mlp_critic_grads`` instead of a double backward."""
    layers, slope = critic_layers
    weights, biases = [m.weight for m in layers], [m.bias for m in layers]
    point = penalty_point(penalty, real, fake, noise, world) if penalty is not None else None
    spec = penalty if penalty is not None else Penalty()  # its kind and weight go unused without a point
    total, stats, weight_grads, bias_grads = mlp_critic_grads(real, fake, point, weights, biases, slope, loss_kind,
                                                              spec.kind, spec.weight, spec.center, label_smoothing)
    return total, stats, list(zip([*weights, *biases], weight_grads + bias_grads))


def generator_step(nets: Networks, loss: Loss, noise: torch.Generator, world: distributed.World, batch_size: int,
                   num_classes: int, step: int, *, ema: float = 0.0, grad_clip: float = 0.0,
                   guard: Optional[NonFiniteGuard] = None,
                   real: Optional[tuple[torch.Tensor, Optional[torch.Tensor]]] = None,
                   augmentation: tuple[str, ...] = (), mode_seeking: float = 0.0,
                   classes: Optional[ClassLoss] = None) -> dict[str, torch.Tensor]:
    """One update of G through a frozen D (``batch_size`` per rank), then the generator average's, at ``step``.

    ``real``: the critic's last real batch and its labels, scored by the current D (without gradient: G's loss does
    not depend on them through G) for a loss with ``generator_takes_real``. With ``augmentation``, D sees the fakes
    (and that real batch) through it, and G's gradient passes through the transformation. ``mode_seeking`` > 0 adds
    MSGAN's term (Mao et al. 2019) to G's loss, weighted by it, and logs the ratio it raises as ``ms_ratio``.
    ``classes`` adds the auxiliary classifiers' terms on the fakes against the classes G was asked for
    (``ClassLoss``), logged unweighted as ``g_class`` (and ``g_twin``)."""
    global_batch = batch_size * world.size
    mine = world.part(global_batch)
    nets.D.requires_grad_(False)
    y = torch.randint(num_classes, (global_batch,), generator=noise)[mine].to(nets.device) if num_classes else None
    z = torch.randn(global_batch, nets.latent_dim, generator=noise)[mine].to(nets.device)
    if mode_seeking and y is not None:
        y = paired_labels(y)
    with nets.autocast():
        fake = nets.G_ddp(z, y)
        fake_in = augment(fake, augmentation, noise, world) if augmentation else fake
        if classes is not None:
            logits, fake_classes = nets.D(fake_in, y, classes=True)
        else:
            logits = nets.D(fake_in, y)
        logits = logits.float()
        if loss.generator_takes_real:
            if real is None:
                raise ValueError(f"loss {loss.name!r} scores real data in the generator step: pass the real batch")
            with torch.no_grad():
                real_in = augment(real[0], augmentation, noise, world) if augmentation else real[0]
                real_logits = nets.D(real_in, real[1]).float()
    generator_loss = loss.generator_loss()
    g_loss = generator_loss(logits, real_logits) if loss.generator_takes_real else generator_loss(logits)
    logged, total = {"g_loss": g_loss}, g_loss  # logged without the mode-seeking term, as d_loss without the penalty
    if mode_seeking:
        ratio = mode_seeking_ratio(fake.float(), z)
        total = g_loss + mode_seeking / (ratio + MODE_SEEKING_EPS)
        logged["ms_ratio"] = ratio.detach()
    if classes is not None:
        class_terms = classes.generator_terms(fake_classes, y)
        total = total + classes.generator_total(class_terms)
        logged.update({k: v.detach() for k, v in class_terms.items()})
    optimizer_step(total, nets.opt_g, nets.scaler_g, nets.G, grad_clip, guard)
    nets.D.requires_grad_(True)
    nets.update_average(ema_decay(ema, step))
    return logged


# MSGAN's: keeps 1 / ratio finite for a generator that has collapsed two latents onto one image
MODE_SEEKING_EPS = 1e-5


def paired_labels(y: torch.Tensor) -> torch.Tensor:
    """The labels with each odd sample taking its even neighbour's (an odd batch's last sample keeps its own), so that
    samples 2i and 2i + 1 share a class and differ only in their noise: the pairs ``mode_seeking_ratio`` compares.
    Neighbours, not halves: with an even batch per process (``--mode-seeking`` asks for one) every rank's part starts at
    an even index, so N processes draw the same pairs as one process with their global batch."""
    even = y.shape[0] - y.shape[0] % 2
    paired = y.clone()
    paired[1:even:2] = y[0:even:2]
    return paired


def mode_seeking_ratio(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """MSGAN's ratio: the mean absolute difference between the images of the pairs (2i, 2i + 1) over that between
    their latents. A generator that maps distinct noise of one class to one image (mode collapse) has it near 0; G's
    term 1 / ratio pushes it up. Over this process's part of the batch, as BatchNorm's statistics are."""
    even = fake.shape[0] - fake.shape[0] % 2
    images = (fake[0:even:2] - fake[1:even:2]).abs().mean()
    latents = (z[0:even:2] - z[1:even:2]).abs().mean()
    return images / latents


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler,
                   network: nn.Module, grad_clip: float, guard: Optional[NonFiniteGuard],
                   grads: Optional[Iterable[tuple[torch.Tensor, torch.Tensor]]] = None) -> None:
    """Backward (scaled under fp16), or the (parameter, gradient) pairs of ``grads`` already computed, then the guard's
    look at the loss, clipping, and the step."""
    if grads is None:
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
    else:
        for parameter, grad in grads:
            parameter.grad = grad
    if guard is not None:
        guard.watch(loss)
    if grad_clip:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(network.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()


def penalty_grad(D: Callable[..., torch.Tensor], penalty: Penalty, real: torch.Tensor, fake: torch.Tensor,
                 y: Optional[torch.Tensor], noise: torch.Generator, world: distributed.World = distributed.World(),
                 autocast: Callable[[], Any] = contextlib.nullcontext,
                 scaler: Optional[torch.amp.GradScaler] = None) -> torch.Tensor:
    """g = dD(x)/dx at interpolates (WGAN-GP), real (R1) or fake (R2) samples, kept in the graph for the penalty.

    D may be DDP-wrapped: the inner ``autograd.grad`` is taken with respect to the inputs only, so it fires none of
    DDP's gradient hooks; the parameters' gradients, penalty included, reach them once, in the critic's one backward."""
    point = penalty_point(penalty, real, fake, noise, world).detach().requires_grad_(True)
    with autocast():
        score = D(point, y).float().sum()
    if scaler is not None and scaler.is_enabled():
        # fp16: take the inner gradient of the scaled score and unscale it, as torch.amp's gradient-penalty recipe does
        (grad,) = torch.autograd.grad(scaler.scale(score), point, create_graph=True)
        return grad / scaler.get_scale()
    (grad,) = torch.autograd.grad(score, point, create_graph=True)
    return grad.float()


def penalty_point(penalty: Penalty, real: torch.Tensor, fake: torch.Tensor, noise: torch.Generator,
                  world: distributed.World = distributed.World()) -> torch.Tensor:
    """Where the penalty takes D's input gradient: interpolates between fake and real (WGAN-GP), real (R1) or fake
    (R2). Interpolation weights come from the run's noise generator, drawn for the global batch (each rank its part)."""
    if penalty.on == "interpolates":
        eps = torch.rand(real.shape[0] * world.size, generator=noise)[world.part(real.shape[0] * world.size)]
        return interpolate(fake, real, eps.to(real.device))
    return real if penalty.on == "real" else fake
