// Autograd kernels of the fused ops, in C++: the backward runs the fused backward kernels with no Python on the way
// (the Python register_autograd wrappers cost ~80 us a call, the whole op at small sizes).
//
// When a backward is itself differentiated (create_graph=True: grad mode is on inside backward), the gradient comes from
// the pure-PyTorch reference instead, through the *_ref_grads ops that each op's module in ganzoo/ops/ implements in Python
// as CompositeImplicitAutograd: autograd traces the reference, so higher derivatives are exactly the reference's.
//
// torch/csrc/autograd/custom_function.h is one of the heavier headers (~40 s to compile on 2 cores): it lives in this one
// file so the kernels' files stay light.
#include <ATen/ops/mul.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <tuple>

#include "ops_dispatch.h"

namespace ganzoo {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using PenaltyRefSig = at::Tensor(const at::Tensor&, const at::Tensor&, int64_t, double, double);
using LossRefSig = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t,
                                                      double);
using TailSig = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor>(
    const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, int64_t, double, double);
using PixelNormSig = at::Tensor(const at::Tensor&, double, double);
using PixelNormGradSig = at::Tensor(const at::Tensor&, const at::Tensor&, double, double);
using TailRefSig = std::tuple<at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                                  const at::Tensor&, int64_t, double, int64_t, double,
                                                                  double);

// grad_loss * saved, or nothing when the loss's gradient is undefined (only a statistic was used).
at::Tensor scaled(const at::Tensor& grad_loss, const at::Tensor& saved) {
  return grad_loss.defined() ? at::mul(grad_loss, saved) : at::Tensor();
}

class GradientPenalty : public torch::autograd::Function<GradientPenalty> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& grad, int64_t kind, double weight, double center) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static auto penalty = op<PenaltySig>("ganzoo::gradient_penalty");
    auto [loss, norms] = penalty.call(grad, kind, weight, center);
    ctx->mark_non_differentiable({norms});
    ctx->save_for_backward({grad, norms});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["weight"] = weight;
    ctx->saved_data["center"] = center;
    return {loss, norms};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& grad_loss = grad_outputs[0];
    if (!grad_loss.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    const auto saved = ctx->get_saved_variables();
    const int64_t kind = ctx->saved_data["kind"].toInt();
    const double weight = ctx->saved_data["weight"].toDouble(), center = ctx->saved_data["center"].toDouble();
    at::Tensor d_grad;
    if (at::GradMode::is_enabled()) {
      static auto reference = op<PenaltyRefSig>("ganzoo::gradient_penalty_ref_grad");
      d_grad = reference.call(grad_loss, saved[0], kind, weight, center);
    } else {
      static auto fused = op<PenaltyBackwardSig>("ganzoo::gradient_penalty_backward");
      d_grad = fused.call(grad_loss, saved[0], saved[1], kind, weight, center);
    }
    return {d_grad, at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

class CriticLoss : public torch::autograd::Function<CriticLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& real, const at::Tensor& fake, int64_t kind,
                               double label_smoothing) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static auto loss_op = op<LossSig>("ganzoo::critic_loss");
    auto [loss, grad_real, grad_fake, stats] = loss_op.call(real, fake, kind, label_smoothing);
    ctx->mark_non_differentiable({grad_real, grad_fake, stats});
    ctx->save_for_backward({real, fake, grad_real, grad_fake});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["label_smoothing"] = label_smoothing;
    return {loss, grad_real, grad_fake, stats};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& grad_loss = grad_outputs[0];
    if (!grad_loss.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
    const auto saved = ctx->get_saved_variables();
    if (at::GradMode::is_enabled()) {
      static auto reference = op<LossRefSig>("ganzoo::critic_loss_ref_grads");
      auto [d_real, d_fake] = reference.call(grad_loss, saved[0], saved[1], ctx->saved_data["kind"].toInt(),
                                             ctx->saved_data["label_smoothing"].toDouble());
      return {d_real, d_fake, at::Tensor(), at::Tensor()};
    }
    return {scaled(grad_loss, saved[2]), scaled(grad_loss, saved[3]), at::Tensor(), at::Tensor()};
  }
};

class CriticTail : public torch::autograd::Function<CriticTail> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& real, const at::Tensor& fake,
                               const at::Tensor& grad, int64_t loss_kind, double label_smoothing, int64_t penalty_kind,
                               double weight, double center) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static auto tail = op<TailSig>("ganzoo::critic_tail");
    auto [loss, grad_real, grad_fake, norms, stats] =
        tail.call(real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight, center);
    ctx->mark_non_differentiable({grad_real, grad_fake, norms, stats});
    ctx->save_for_backward({real, fake, grad, grad_real, grad_fake, norms});
    ctx->saved_data["loss_kind"] = loss_kind;
    ctx->saved_data["label_smoothing"] = label_smoothing;
    ctx->saved_data["penalty_kind"] = penalty_kind;
    ctx->saved_data["weight"] = weight;
    ctx->saved_data["center"] = center;
    return {loss, grad_real, grad_fake, norms, stats};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& grad_loss = grad_outputs[0];
    const variable_list none(5);
    if (!grad_loss.defined()) return {at::Tensor(), at::Tensor(), at::Tensor(), none[0], none[1], none[2], none[3], none[4]};
    const auto saved = ctx->get_saved_variables();
    const int64_t loss_kind = ctx->saved_data["loss_kind"].toInt();
    const int64_t penalty_kind = ctx->saved_data["penalty_kind"].toInt();
    const double smoothing = ctx->saved_data["label_smoothing"].toDouble();
    const double weight = ctx->saved_data["weight"].toDouble(), center = ctx->saved_data["center"].toDouble();
    if (at::GradMode::is_enabled()) {
      static auto reference = op<TailRefSig>("ganzoo::critic_tail_ref_grads");
      auto [d_real, d_fake, d_grad] = reference.call(grad_loss, saved[0], saved[1], saved[2], loss_kind, smoothing,
                                                     penalty_kind, weight, center);
      return {d_real, d_fake, d_grad, none[0], none[1], none[2], none[3], none[4]};
    }
    static auto fused = op<PenaltyBackwardSig>("ganzoo::gradient_penalty_backward");
    at::Tensor d_grad = fused.call(grad_loss, saved[2], saved[5], penalty_kind, weight, center);
    return {scaled(grad_loss, saved[3]), scaled(grad_loss, saved[4]), d_grad, none[0], none[1], none[2], none[3], none[4]};
  }
};

class LeakyPixelNorm : public torch::autograd::Function<LeakyPixelNorm> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double slope, double eps) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    static auto norm = op<PixelNormSig>("ganzoo::leaky_pixel_norm");
    ctx->save_for_backward({x});
    ctx->saved_data["slope"] = slope;
    ctx->saved_data["eps"] = eps;
    return norm.call(x, slope, eps);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor& grad_y = grad_outputs[0];
    if (!grad_y.defined()) return {at::Tensor(), at::Tensor(), at::Tensor()};
    const at::Tensor x = ctx->get_saved_variables()[0];
    const double slope = ctx->saved_data["slope"].toDouble(), eps = ctx->saved_data["eps"].toDouble();
    static auto reference = op<PixelNormGradSig>("ganzoo::leaky_pixel_norm_ref_grad");
    static auto fused = op<PixelNormGradSig>("ganzoo::leaky_pixel_norm_backward");
    const auto& grad = at::GradMode::is_enabled() ? reference : fused;
    return {grad.call(grad_y, x, slope, eps), at::Tensor(), at::Tensor()};
  }
};

at::Tensor leaky_pixel_norm_autograd(const at::Tensor& x, double slope, double eps) {
  return LeakyPixelNorm::apply(x, slope, eps);
}

std::tuple<at::Tensor, at::Tensor> gradient_penalty_autograd(const at::Tensor& grad, int64_t kind, double weight,
                                                             double center) {
  auto out = GradientPenalty::apply(grad, kind, weight, center);
  return {out[0], out[1]};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_loss_autograd(const at::Tensor& real,
                                                                                const at::Tensor& fake, int64_t kind,
                                                                                double label_smoothing) {
  auto out = CriticLoss::apply(real, fake, kind, label_smoothing);
  return {out[0], out[1], out[2], out[3]};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_tail_autograd(
    const at::Tensor& real, const at::Tensor& fake, const at::Tensor& grad, int64_t loss_kind, double label_smoothing,
    int64_t penalty_kind, double weight, double center) {
  auto out = CriticTail::apply(real, fake, grad, loss_kind, label_smoothing, penalty_kind, weight, center);
  return {out[0], out[1], out[2], out[3], out[4]};
}

}  // namespace

TORCH_LIBRARY_IMPL(ganzoo, Autograd, m) {
  m.impl("gradient_penalty", &gradient_penalty_autograd);
  m.impl("critic_loss", &critic_loss_autograd);
  m.impl("critic_tail", &critic_tail_autograd);
  m.impl("leaky_pixel_norm", &leaky_pixel_norm_autograd);
}

}  // namespace ganzoo
