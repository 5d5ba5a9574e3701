// The whole gradient of a WGAN-GP-style critic loss for an MLP critic (Linear + LeakyReLU layers, then a Linear head to
// one logit), in one op and without autograd's double backward.
//
// Why by hand: with piecewise-linear activations the masks m_l = leaky'(z_l) are constant almost everywhere, so the
// input gradient g = dD/dx is a product of matrices in the weights alone, and the penalty's pull on the parameters is a
// few more GEMMs. Autograd's double backward computes the same terms plus a chain of zeros (leaky_relu_backward's
// derivative in its input) that it multiplies back through every layer of the interpolates' forward; this op skips that,
// the ~60 autograd nodes, and runs real, fake and penalty rows through each layer as one GEMM.
//
// Rows: X = [real; fake; point] (N = nr + nf + np). Notation per hidden layer l = 1..L: h_l = leaky(h_{l-1} W_l^T + b_l),
// score s = h_L w^T + b.
//   1. forward over all rows, keeping h_l (the masks are read off the sign of h_l: leaky keeps the sign, slope >= 0);
//   2. one backward chain over all rows with cotangent [dL/ds_real; dL/ds_fake; 1]: on the real and fake rows it is the
//      loss's backprop, on the point rows it is e_l, the chain whose end is g;
//   3. the penalty's dL/dg = u, then the reverse of g's chain (a_0 = u, a_l = (a_{l-1} W_l^T) * m_l), written over the
//      point rows of h_{l-1}, whose masks are no longer needed: then dL/dW_l = dz_l^T h_{l-1} is one GEMM over all
//      rows, loss and penalty terms together. Biases get the loss's terms only (g does not depend on them).
// Only ATen ops and ganzoo's own loss and penalty ops, so the same code runs on every device they have kernels for.
#include <ATen/core/Tensor.h>
#include <ATen/ops/add.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/leaky_relu.h>
#include <ATen/ops/leaky_relu_backward.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <tuple>
#include <vector>

#include "ops_common.h"
#include "ops_dispatch.h"

namespace ganzoo {
namespace {

using Tensors = std::vector<at::Tensor>;

// Each tensor (B, ...) as (B, features), with the layers' dtype and device; `name` for the error.
at::Tensor as_rows(const at::Tensor& t, const at::Tensor& like, int64_t features, const char* name) {
  check_float(t, name);
  TORCH_CHECK(t.dim() >= 1 && t.size(0) > 0, "ganzoo: ", name, " must be a non-empty batch, got shape ", t.sizes());
  TORCH_CHECK(t.scalar_type() == like.scalar_type() && t.device() == like.device(), "ganzoo: ", name,
              " must have the critic's dtype and device (", like.scalar_type(), ", ", like.device(), "), got ",
              t.scalar_type(), ", ", t.device());
  const at::Tensor rows = t.reshape({t.size(0), -1});
  TORCH_CHECK(rows.size(1) == features, "ganzoo: ", name, " has ", rows.size(1), " features per sample, the critic's ",
              "first layer takes ", features);
  return rows;
}

void check_layers(const Tensors& weights, const Tensors& biases, double slope) {
  TORCH_CHECK(!weights.empty() && weights.size() == biases.size(), "ganzoo: an MLP critic needs one bias per weight ",
              "and at least the head, got ", weights.size(), " weights and ", biases.size(), " biases");
  TORCH_CHECK(slope >= 0.0, "ganzoo: the LeakyReLU slope must be >= 0 (the masks are read off the activations' sign), got ",
              slope);
  const at::Tensor& first = weights.front();
  TORCH_CHECK(first.scalar_type() == at::kFloat || first.scalar_type() == at::kDouble,
              "ganzoo: mlp_critic_grads runs in float32 or float64, got ", first.scalar_type());
  for (size_t l = 0; l < weights.size(); ++l) {
    const at::Tensor& w = weights[l];
    const at::Tensor& b = biases[l];
    TORCH_CHECK(w.dim() == 2 && b.dim() == 1 && b.size(0) == w.size(0), "ganzoo: layer ", l,
                " needs a (out, in) weight and an (out,) bias, got ", w.sizes(), " and ", b.sizes());
    TORCH_CHECK(w.scalar_type() == first.scalar_type() && b.scalar_type() == first.scalar_type() &&
                    w.device() == first.device() && b.device() == first.device(),
                "ganzoo: every layer of the critic must share one dtype and device");
    if (l > 0) {
      TORCH_CHECK(w.size(1) == weights[l - 1].size(0), "ganzoo: layer ", l, " takes ", w.size(1), " inputs but layer ",
                  l - 1, " gives ", weights[l - 1].size(0));
    }
  }
  TORCH_CHECK(weights.back().size(0) == 1, "ganzoo: the critic's head must give one logit, its weight is ",
              weights.back().sizes());
}

// A bias's gradient: the sum over the real rows plus the sum over the fake rows, as autograd adds the two forwards'
// gradients. Where the loss does not depend on a bias (the Wasserstein critic's head bias; a hidden unit that as many
// real as fake samples switch on) the two sums cancel exactly, as in the double backward; one sum over both would leave
// float rounding, which Adam's first steps, dividing by |g|, turn into updates of about lr.
at::Tensor real_plus_fake(const at::Tensor& rows, int64_t nr, int64_t nf) {
  return at::add(rows.narrow(0, 0, nr).sum(0), rows.narrow(0, nr, nf).sum(0));
}

// -> (loss, stats = [mean D(real), mean D(fake), accuracy, penalty], weight grads, bias grads)
std::tuple<at::Tensor, at::Tensor, Tensors, Tensors> mlp_critic_grads(
    const at::Tensor& real_in, const at::Tensor& fake_in, const std::optional<at::Tensor>& point_in,
    at::TensorList weights_in, at::TensorList biases_in, double slope, int64_t loss_kind, double label_smoothing,
    int64_t penalty_kind, double penalty_weight, double center) {
  const Tensors weights(weights_in.begin(), weights_in.end());
  const Tensors biases(biases_in.begin(), biases_in.end());
  check_layers(weights, biases, slope);
  check_loss_kind(loss_kind);
  check_penalty_kind(penalty_kind);
  const at::Tensor& like = weights.front();
  const int64_t features = like.size(1);
  const at::Tensor real = as_rows(real_in, like, features, "real");
  const at::Tensor fake = as_rows(fake_in, like, features, "fake");
  const bool with_penalty = point_in.has_value() && point_in->defined();
  const int64_t nr = real.size(0), nf = fake.size(0), nrf = nr + nf;
  const int64_t np = with_penalty ? point_in->size(0) : 0;
  const int64_t hidden = static_cast<int64_t>(weights.size()) - 1;  // L; weights[L] is the head

  // 1. forward: h[0] = X (a buffer of our own: step 3 writes into its point rows), h[l] for l = 1..L
  Tensors h;
  h.reserve(hidden + 1);
  h.push_back(with_penalty ? at::cat({real, fake, as_rows(*point_in, like, features, "point")})
                           : at::cat({real, fake}));
  for (int64_t l = 0; l < hidden; ++l) {
    h.push_back(at::leaky_relu(at::addmm(biases[l], h[l], weights[l].t()), slope));
  }
  const at::Tensor scores = at::addmm(biases[hidden], h[hidden], weights[hidden].t()).view({-1});

  static auto critic_loss = op<LossSig>("ganzoo::critic_loss");
  auto [loss, grad_real, grad_fake, logit_stats] =
      critic_loss.call(scores.narrow(0, 0, nr), scores.narrow(0, nr, nf), loss_kind, label_smoothing);

  // 2. one backward chain: cotangent dL/ds on real and fake rows, 1 on point rows (their chain ends in g)
  Tensors parts{grad_real, grad_fake};
  if (with_penalty) parts.push_back(at::ones({np}, scores.options()));
  const at::Tensor cotangent = at::cat(parts).unsqueeze(1);  // (N, 1)
  Tensors dz(hidden + 1);                                     // dz[l] for l = 1..L: dL/dz_l (and e_l on point rows)
  at::Tensor delta = at::mm(cotangent, weights[hidden]);      // (N, H_L)
  at::Tensor grad_input;
  for (int64_t l = hidden; l >= 1; --l) {
    dz[l] = at::leaky_relu_backward(delta, h[l], slope, /*self_is_result=*/true);
    if (l > 1) {
      delta = at::mm(dz[l], weights[l - 1]);
    } else if (with_penalty) {
      grad_input = at::mm(dz[1].narrow(0, nrf, np), weights[0]);  // g at the points, (np, features)
    }
  }
  if (hidden == 0 && with_penalty) {  // a linear critic: g is the head's weight on every row
    grad_input = weights[0].expand({np, features}).contiguous();
  }

  at::Tensor penalty;
  if (with_penalty) {
    at::Tensor norms;
    static auto gradient_penalty = op<PenaltySig>("ganzoo::gradient_penalty");
    static auto gradient_penalty_backward = op<PenaltyBackwardSig>("ganzoo::gradient_penalty_backward");
    std::tie(penalty, norms) = gradient_penalty.call(grad_input, penalty_kind, penalty_weight, center);
    const at::Tensor one = at::ones({}, grad_input.options());
    // 3. the reverse of g's chain, starting from u = dL/dg, over the point rows of h[0..L]
    h[0].narrow(0, nrf, np).copy_(
        gradient_penalty_backward.call(one, grad_input, norms, penalty_kind, penalty_weight, center));
    for (int64_t l = 1; l <= hidden; ++l) {
      at::Tensor rows = h[l].narrow(0, nrf, np);
      rows.copy_(at::leaky_relu_backward(at::mm(h[l - 1].narrow(0, nrf, np), weights[l - 1].t()), rows, slope, true));
    }
  } else {
    penalty = at::zeros({}, scores.options());
  }

  Tensors grad_weights(hidden + 1), grad_biases(hidden + 1);
  for (int64_t l = 1; l <= hidden; ++l) {
    grad_weights[l - 1] = at::mm(dz[l].t(), h[l - 1]);
    grad_biases[l - 1] = real_plus_fake(dz[l], nr, nf);
  }
  // the head: loss terms from the real and fake rows; on the point rows the cotangent is 1 and h[L] holds the reverse
  // chain's end, so the penalty's sum over them comes in the same GEMM (for a linear critic, h[0]'s point rows are u)
  grad_weights[hidden] = at::mm(cotangent.t(), h[hidden]);
  grad_biases[hidden] = real_plus_fake(cotangent, nr, nf);

  const at::Tensor total = at::add(loss, penalty);
  const at::Tensor stats = at::cat({logit_stats, penalty.detach().view({1}).to(logit_stats.scalar_type())});
  return {total, stats, grad_weights, grad_biases};
}

}  // namespace

// Device-generic (ATen ops and ganzoo's dispatched ops only); its result is gradients, so it has no autograd formula:
// callers run it under no_grad on detached parameters.
TORCH_LIBRARY_IMPL(ganzoo, CompositeExplicitAutograd, m) { m.impl("mlp_critic_grads", &mlp_critic_grads); }

}  // namespace ganzoo
