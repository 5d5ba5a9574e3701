// Shared by the CPU and CUDA kernels: argument checks that name the argument, and the scalar maths of each loss and
// penalty, written once so both devices compute exactly the same formulas as the PyTorch reference (ganzoo/ops/).
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_like.h>
#include <c10/macros/Macros.h>
#include <c10/util/Exception.h>

#include <cmath>

namespace ganzoo {

// The kernel codes of ganzoo/kinds.py's table (tests/ops/test_kinds.py holds the two together).
enum LossKind : int64_t { kBce = 0, kHinge = 1, kWasserstein = 2, kLossKindCount };
enum PenaltyKind : int64_t { kTwoSided = 0, kOneSided = 1, kSquaredNorm = 2, kPenaltyKindCount };

inline void check_float(const at::Tensor& t, const char* name) {
  TORCH_CHECK(at::isFloatingType(t.scalar_type()), "ganzoo: ", name, " must be a floating-point tensor, got ",
              t.scalar_type());
}

// grad: (B, ...) with B >= 1. Returns B.
inline int64_t check_grad(const at::Tensor& grad) {
  check_float(grad, "grad");
  TORCH_CHECK(grad.dim() >= 1, "ganzoo: grad must have a batch dimension, got a 0-d tensor");
  TORCH_CHECK(grad.size(0) > 0, "ganzoo: grad has an empty batch (shape ", grad.sizes(), ")");
  return grad.size(0);
}

inline void check_loss_kind(int64_t kind) {
  TORCH_CHECK(kind >= 0 && kind < kLossKindCount, "ganzoo: loss kind must be ", kBce, " (bce), ", kHinge, " (hinge) or ",
              kWasserstein, " (wasserstein), got ", kind);
}

inline void check_penalty_kind(int64_t kind) {
  TORCH_CHECK(kind >= 0 && kind < kPenaltyKindCount, "ganzoo: penalty kind must be ", kTwoSided, " (two-sided), ",
              kOneSided, " (one-sided) or ", kSquaredNorm, " (squared norm), got ", kind);
}

inline void check_logits(const at::Tensor& real, const at::Tensor& fake) {
  check_float(real, "real");
  check_float(fake, "fake");
  TORCH_CHECK(real.scalar_type() == fake.scalar_type(), "ganzoo: real and fake logits must share a dtype, got ",
              real.scalar_type(), " and ", fake.scalar_type());
  TORCH_CHECK(real.device() == fake.device(), "ganzoo: real and fake logits must be on one device");
  TORCH_CHECK(real.numel() > 0 && fake.numel() > 0, "ganzoo: real and fake logits must not be empty");
  TORCH_CHECK(real.dim() <= 1 || real.numel() == real.size(0), "ganzoo: real logits must have shape (B,) or (B, 1), got ",
              real.sizes());
  TORCH_CHECK(fake.dim() <= 1 || fake.numel() == fake.size(0), "ganzoo: fake logits must have shape (B,) or (B, 1), got ",
              fake.sizes());
}

// The tail's gradient and logits: one dtype and one device (the dispatcher picks the kernel by the first CUDA tensor it
// sees, so a CPU logit reaching the CUDA kernel, or the other way round, must be refused here, by name).
inline void check_grad_with_logits(const at::Tensor& grad, const at::Tensor& real) {
  TORCH_CHECK(grad.scalar_type() == real.scalar_type(), "ganzoo: grad and the logits must share a dtype, got ",
              grad.scalar_type(), " and ", real.scalar_type());
  TORCH_CHECK(grad.device() == real.device(), "ganzoo: grad and the logits must be on one device, got ", grad.device(),
              " and ", real.device());
}

// The critic loss's arguments checked, the logits flattened to (B,) contiguous, and their gradients' buffers.
struct LogitGrads {
  at::Tensor real, fake, grad_real, grad_fake;
};

inline LogitGrads prepare_logits(const at::Tensor& real_in, const at::Tensor& fake_in, int64_t kind,
                                 double label_smoothing) {
  check_logits(real_in, fake_in);
  check_loss_kind(kind);
  TORCH_CHECK(label_smoothing == 0.0 || kind == kBce, "ganzoo: label_smoothing applies to the bce loss only");
  const at::Tensor real = real_in.reshape({-1}).contiguous();
  const at::Tensor fake = fake_in.reshape({-1}).contiguous();
  return {real, fake, at::empty_like(real), at::empty_like(fake)};
}

// Whether each sample of `t` is one dense block of memory (true for contiguous and channels_last tensors): then a
// per-sample reduction can run over raw memory without a copy, because a norm does not depend on element order.
inline bool samples_are_dense_blocks(const at::Tensor& t) {
  if (!t.is_non_overlapping_and_dense()) return false;
  const int64_t batch = t.size(0);
  return batch == 1 || t.stride(0) * batch == t.numel();
}

// `grad` itself when its samples are dense blocks (contiguous, channels_last, ...), else a contiguous copy.
inline at::Tensor dense_samples(const at::Tensor& grad) {
  return samples_are_dense_blocks(grad) ? grad : grad.contiguous();
}

// The one accumulation policy of every kernel, CPU and CUDA alike:
//  - per-element maths (a logit's loss term, a square, dL/dg_i = c_i * g_i) runs in acc_t = at::opmath_type<scalar_t>:
//    float for half, bfloat16 and float, double for double;
//  - every sum (squares within a sample, terms over the batch, logits for the statistics, the accuracy count) runs in
//    reduce_t = double, and so does what is computed from the sums (the penalty's mean, the per-sample coefficient c_i);
//  - norms and statistics are stored in acc_t (accumulate_dtype), the loss in the input's dtype, each rounded once from
//    the double value: a statistic is never read back from the loss rounded to half, and critic_tail's loss is the
//    critic loss plus the penalty added in double, then rounded.
// One exception: leaky_pixel_norm sums one pixel's channels (tens to hundreds of terms, below), in acc_t.
using reduce_t = double;

inline at::ScalarType accumulate_dtype(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// 1 / n in acc_t: a logit's share of a mean, the same rounding on both devices.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t inverse_count(int64_t n) {
  return acc_t(1) / static_cast<acc_t>(n);
}

// PyTorch's softplus (beta 1, threshold 20), reproduced exactly so the kernels agree with F.softplus.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t softplus(acc_t x) {
  return x > acc_t(20) ? x : ::log1p(::exp(x));
}
// d softplus(x) / dx as PyTorch computes it.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t softplus_grad(acc_t x) {
  if (x > acc_t(20)) return acc_t(1);
  const acc_t z = ::exp(x);
  return z / (z + acc_t(1));
}

// softplus(x) and its derivative together, with one exp (the same values as softplus() and softplus_grad()).
template <typename acc_t>
C10_HOST_DEVICE inline void softplus_with_grad(acc_t x, acc_t* value, acc_t* deriv) {
  if (x > acc_t(20)) {
    *value = x;
    *deriv = acc_t(1);
    return;
  }
  const acc_t z = ::exp(x);
  *value = ::log1p(z);
  *deriv = z / (z + acc_t(1));
}

// softplus and its derivative as above: the default way to evaluate them in the loss terms below. A device may pass
// another (the CPU passes a vectorisable one for float, ops_cpu.cpp) that computes the same function.
struct LibmSoftplus {
  template <typename acc_t>
  C10_HOST_DEVICE static void eval(acc_t x, acc_t* value, acc_t* deriv) {
    softplus_with_grad(x, value, deriv);
  }
};

// One real logit's contribution to the loss (before dividing by the batch) and its derivative.
template <typename acc_t, typename Softplus = LibmSoftplus>
C10_HOST_DEVICE inline void real_term(int64_t kind, acc_t r, acc_t smoothing, acc_t* value, acc_t* deriv) {
  if (kind == kBce) {
    acc_t v_neg, d_neg;
    Softplus::eval(-r, &v_neg, &d_neg);
    if (smoothing != acc_t(0)) {
      const acc_t target = acc_t(1) - smoothing;
      acc_t v_pos, d_pos;
      Softplus::eval(r, &v_pos, &d_pos);
      *value = target * v_neg + (acc_t(1) - target) * v_pos;
      *deriv = -target * d_neg + (acc_t(1) - target) * d_pos;
    } else {
      *value = v_neg;
      *deriv = -d_neg;
    }
  } else if (kind == kHinge) {
    const acc_t m = acc_t(1) - r;
    *value = m > acc_t(0) ? m : acc_t(0);
    *deriv = m > acc_t(0) ? acc_t(-1) : acc_t(0);
  } else {
    *value = -r;
    *deriv = acc_t(-1);
  }
}

template <typename acc_t, typename Softplus = LibmSoftplus>
C10_HOST_DEVICE inline void fake_term(int64_t kind, acc_t f, acc_t* value, acc_t* deriv) {
  if (kind == kBce) {
    Softplus::eval(f, value, deriv);
  } else if (kind == kHinge) {
    const acc_t m = acc_t(1) + f;
    *value = m > acc_t(0) ? m : acc_t(0);
    *deriv = m > acc_t(0) ? acc_t(1) : acc_t(0);
  } else {
    *value = f;
    *deriv = acc_t(1);
  }
}

// One sample's penalty term from its norm.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t penalty_term(int64_t kind, acc_t norm, acc_t center) {
  if (kind == kSquaredNorm) return acc_t(0.5) * norm * norm;
  acc_t d = norm - center;
  if (kind == kOneSided && d < acc_t(0)) d = acc_t(0);
  return d * d;
}

// c_i in dL/dg_i = c_i * g_i, for L = weight / batch * sum_i penalty_term(norm_i). A zero row gets 0, as the reference's
// norm backward gives (no NaN).
template <typename acc_t>
C10_HOST_DEVICE inline acc_t penalty_coef(int64_t kind, acc_t norm, acc_t weight, acc_t center, int64_t batch) {
  const acc_t scale = weight / static_cast<acc_t>(batch);
  if (kind == kSquaredNorm) return scale;
  if (!(norm > acc_t(0))) return acc_t(0);
  acc_t d = norm - center;
  if (kind == kOneSided && d < acc_t(0)) d = acc_t(0);
  return acc_t(2) * scale * d / norm;
}

// leaky_pixel_norm: y = a / sqrt(mean_c a^2 + eps) with a = leaky_relu(x, slope), each pixel's channels (dim 1)
// normalised together (progressive growing's generator after every conv; slope 1 is the plain pixel norm). The backward
// recomputes a from x: da = r * dy - a * r^3 * mean_c(dy * a), dx = da where x > 0, slope * da elsewhere (PyTorch's
// leaky_relu_backward, so x == 0 takes the slope). A pixel's sums run over its channels only (tens to hundreds), in acc_t.
template <typename acc_t>
C10_HOST_DEVICE inline acc_t leaky(acc_t x, acc_t slope) {
  return x > acc_t(0) ? x : slope * x;
}

inline void check_pixel_input(const at::Tensor& t, const char* name) {
  check_float(t, name);
  TORCH_CHECK(t.dim() >= 2, "ganzoo: ", name, " must have a channel dimension (N, C, ...), got shape ", t.sizes());
}

// A tensor of shape (N, C, ...) seen as N x C x S (S: a sample's pixels), dense in one of two layouts: channels
// innermost (channels_last, or no pixel dimensions) or pixels innermost (contiguous).
struct PixelLayout {
  int64_t n, c, s;
  bool channels_inner;
  at::MemoryFormat format;
};

inline PixelLayout pixel_layout(const at::Tensor& x) {
  int64_t s = 1;
  for (int64_t d = 2; d < x.dim(); ++d) s *= x.size(d);
  const bool channels_last = x.dim() == 4 && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
  return {x.size(0), x.size(1), s, channels_last || s == 1,
          channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous};
}

// One pass of leaky_pixel_norm (the forward when grad_out is undefined, else the backward), set up alike on both
// devices: x and dy dense in x's own layout, out allocated in it. Each device adds only its loop or launch.
struct PixelPass {
  PixelLayout layout;
  at::Tensor x, dy, out;
};

inline PixelPass prepare_pixel_pass(const at::Tensor& grad_out, const at::Tensor& x_in) {
  check_pixel_input(x_in, "x");
  const PixelLayout l = pixel_layout(x_in);
  const at::Tensor x = x_in.contiguous(l.format);
  at::Tensor dy;
  if (grad_out.defined()) {
    check_float(grad_out, "grad_out");
    TORCH_CHECK(grad_out.device() == x_in.device(), "ganzoo: grad_out and x must be on one device, got ",
                grad_out.device(), " and ", x_in.device());
    TORCH_CHECK(grad_out.sizes() == x_in.sizes() && grad_out.scalar_type() == x_in.scalar_type(),
                "ganzoo: grad_out must match x (shape ", x_in.sizes(), ", ", x_in.scalar_type(), "), got ",
                grad_out.sizes(), ", ", grad_out.scalar_type());
    dy = grad_out.contiguous(l.format);
  }
  return {l, x, dy, at::empty_like(x, x.options(), l.format)};
}

}  // namespace ganzoo
