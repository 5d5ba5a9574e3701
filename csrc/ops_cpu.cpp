// CPU kernels of the fused ops. Samples run in parallel (at::parallel_for; setup.py adds -fopenmp, without which it would
// silently use one thread). The inner loops of float and double are compiled once per instruction set (AVX-512, AVX2
// and a baseline) through GCC's target_clones; the best one the CPU supports is picked when the library loads, so the
// same build runs, vectorised, on any x86-64. half and bfloat16 accumulate in float.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "ops_common.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define GANZOO_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GANZOO_MULTIVERSION
#endif

namespace ganzoo {
namespace {

// Rows of at least this many elements per task: smaller tasks cost more to schedule than to compute.
constexpr int64_t kGrainElements = 16384;

// Each square in acc_t, the sum in reduce_t (ops_common.h's policy, which the CUDA kernels follow too).
GANZOO_MULTIVERSION double sum_squares(const float* x, int64_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(x[j] * x[j]);
  return acc;
}

GANZOO_MULTIVERSION double sum_squares(const double* x, int64_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < n; ++j) acc += x[j] * x[j];
  return acc;
}

template <typename scalar_t>
double sum_squares(const scalar_t* x, int64_t n) {  // half, bfloat16: each square in float, the sum in double
  double acc = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const float v = static_cast<float>(x[j]);
    acc += v * v;
  }
  return acc;
}

GANZOO_MULTIVERSION void scale_into(const float* x, float c, float* out, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = c * x[j];
}

GANZOO_MULTIVERSION void scale_into(const double* x, double c, double* out, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] = c * x[j];
}

template <typename scalar_t>
void scale_into(const scalar_t* x, float c, scalar_t* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = static_cast<scalar_t>(c * static_cast<float>(x[j]));
}


template <typename scalar_t>
using opmath_t = at::opmath_type<scalar_t>;

// norms_i = ||g_i|| for every sample, written to `norms` (float, or double for double inputs).
void compute_norms(const at::Tensor& g, at::Tensor& norms) {
  const int64_t batch = g.size(0);
  const int64_t row = g.numel() / batch;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "ganzoo_gradient_penalty_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    const scalar_t* data = g.const_data_ptr<scalar_t>();
    acc_t* out = norms.mutable_data_ptr<acc_t>();
    const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(row, 1));
    at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = static_cast<acc_t>(std::sqrt(sum_squares(data + i * row, row)));
    });
  });
}

// weight * mean_i penalty_term(norm_i), from the stored (acc_t) norms, in reduce_t.
reduce_t penalty_value(const at::Tensor& norms, int64_t kind, double weight, double center) {
  const int64_t batch = norms.size(0);
  reduce_t total = 0.0;
  AT_DISPATCH_FLOATING_TYPES(norms.scalar_type(), "ganzoo_penalty_value_cpu", [&] {
    const scalar_t* n = norms.const_data_ptr<scalar_t>();
    for (int64_t i = 0; i < batch; ++i) total += penalty_term<reduce_t>(kind, static_cast<reduce_t>(n[i]), center);
  });
  return weight * total / static_cast<reduce_t>(batch);
}

// A 0-d tensor of `like`'s dtype holding `value`, rounded once.
at::Tensor scalar_of(reduce_t value, const at::Tensor& like) {
  at::Tensor out = at::empty({}, like.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, like.scalar_type(), "ganzoo_scalar_of_cpu", [&] {
    *out.mutable_data_ptr<scalar_t>() = static_cast<scalar_t>(value);
  });
  return out;
}

// The norms of g's samples -> (norms, the penalty in reduce_t).
std::tuple<at::Tensor, reduce_t> norms_and_penalty(const at::Tensor& g, int64_t kind, double weight, double center) {
  at::Tensor norms = at::empty({g.size(0)}, g.options().dtype(accumulate_dtype(g)));
  compute_norms(g, norms);
  return {norms, penalty_value(norms, kind, weight, center)};
}

std::tuple<at::Tensor, at::Tensor> gradient_penalty_cpu(const at::Tensor& grad, int64_t kind, double weight,
                                                        double center) {
  check_grad(grad);
  check_penalty_kind(kind);
  const at::Tensor g = dense_samples(grad);
  auto [norms, penalty] = norms_and_penalty(g, kind, weight, center);
  return {scalar_of(penalty, g), norms};
}

at::Tensor gradient_penalty_backward_cpu(const at::Tensor& grad_out, const at::Tensor& grad, const at::Tensor& norms,
                                         int64_t kind, double weight, double center) {
  const int64_t batch = check_grad(grad);
  check_penalty_kind(kind);
  TORCH_CHECK(norms.dim() == 1 && norms.size(0) == batch && norms.scalar_type() == accumulate_dtype(grad),
              "ganzoo: norms must be the (B,) tensor gradient_penalty returned for this grad");
  TORCH_CHECK(grad_out.numel() == 1, "ganzoo: grad_out of the penalty must be a scalar, got shape ", grad_out.sizes());
  const at::Tensor g = dense_samples(grad);
  at::Tensor out = at::empty_like(g);  // keeps g's memory format, so raw offsets line up
  const int64_t row = g.numel() / batch;
  const double upstream = grad_out.item<double>();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "ganzoo_gradient_penalty_backward_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    const scalar_t* in = g.const_data_ptr<scalar_t>();
    scalar_t* dst = out.mutable_data_ptr<scalar_t>();
    const acc_t* n = norms.const_data_ptr<acc_t>();
    const int64_t grain = std::max<int64_t>(1, kGrainElements / std::max<int64_t>(row, 1));
    at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const reduce_t c = upstream * penalty_coef<reduce_t>(kind, static_cast<reduce_t>(n[i]), weight, center, batch);
        scale_into(in + i * row, static_cast<acc_t>(c), dst + i * row, row);
      }
    });
  });
  return out;
}

// softplus(x) = max(x, 0) + log1p(exp(-|x|)) and its derivative sigmoid(x), for float, in straight-line arithmetic that
// `omp simd` vectorises (libm's expf and log1pf are calls, one logit at a time). exp by Cody-Waite range reduction and a
// degree-7 polynomial on |r| <= ln2/2 (relative error < 1e-8 before rounding); log1p(t) = log(1 + t) * t / ((1 + t) - 1)
// (Goldberg), with log(u) = 2 atanh((u - 1) / (u + 1)) by its series on [0, 1/3]. Agrees with PyTorch's softplus
// within a few float ulps (tests/ops: rtol 1e-5), including its threshold: above 20, exp(-x) < ulp(x) / 2, so x.
struct VectorSoftplus {
  template <typename acc_t>
  static void eval(acc_t x, acc_t* value, acc_t* deriv) {
    softplus_with_grad(x, value, deriv);  // double: libm
  }

  static inline float exp_nonpositive(float y) {  // y <= 0
    y = y < -104.0f ? -104.0f : y;                 // exp(-104) ~ 6.8e-46 rounds to 0, as every smaller result
    const float shifter = 12582912.0f;             // 1.5 * 2^23: adding and subtracting it rounds to an integer
    const float k = (y * 1.44269504088896341f + shifter) - shifter;
    const float r = (y - k * 0.693145751953125f) - k * 1.42860682030941723e-6f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // 2^k for k in [-151, 0] as two normal powers of two, so that results below float's smallest normal (1.2e-38)
    // come out as the denormals libm gives instead of being flushed
    const int32_t k_total = static_cast<int32_t>(k);
    const int32_t k_high = k_total < -126 ? -126 : k_total;
    const int32_t high_bits = (k_high + 127) << 23, low_bits = (k_total - k_high + 127) << 23;
    float high, low;
    std::memcpy(&high, &high_bits, sizeof(high));
    std::memcpy(&low, &low_bits, sizeof(low));
    return (p * high) * low;
  }

  static inline float log1p_unit(float t) {  // t in [0, 1]
    const float u = 1.0f + t;
    const float s = (u - 1.0f) / (u + 1.0f);
    const float s2 = s * s;
    float q = 1.0f / 13.0f;
    q = q * s2 + 1.0f / 11.0f;
    q = q * s2 + 1.0f / 9.0f;
    q = q * s2 + 1.0f / 7.0f;
    q = q * s2 + 1.0f / 5.0f;
    q = q * s2 + 1.0f / 3.0f;
    q = q * s2 + 1.0f;
    const float log_u = 2.0f * s * q;
    const float du = u - 1.0f;
    const float ratio = t / (du == 0.0f ? 1.0f : du);  // divided unconditionally: a branch with a division stays a branch
    return du == 0.0f ? t : log_u * ratio;
  }

  static void eval(float x, float* value, float* deriv) {
    const float t = exp_nonpositive(x < 0.0f ? x : -x);  // exp(-|x|)
    *value = (x > 0.0f ? x : 0.0f) + log1p_unit(t);
    const float inv = 1.0f / (1.0f + t);
    *deriv = x >= 0.0f ? inv : t * inv;
  }
};

// One side's logits (real or fake): returns the sum of their loss terms, writes dL/dlogit, adds to the logit sum and
// the count of right answers. Kind and side are template parameters so that the formula's branches fold away and the
// loop vectorises (bce through VectorSoftplus for float).
template <int64_t Kind, bool Real, bool Smoothed, typename scalar_t, typename acc_t>
GANZOO_MULTIVERSION reduce_t side_terms(const scalar_t* x, int64_t n, acc_t smoothing_in, acc_t inv_n, scalar_t* grad,
                                        reduce_t& logits, reduce_t& right) {
  // a literal 0 without smoothing: real_term's test of it folds away, and no branch is left in the loop
  const acc_t smoothing = Smoothed ? smoothing_in : acc_t(0);
  reduce_t sum = 0.0, logit_sum = 0.0, count = 0.0;
#pragma omp simd reduction(+ : sum, logit_sum, count)
  for (int64_t i = 0; i < n; ++i) {
    const acc_t value = static_cast<acc_t>(x[i]);
    acc_t term, deriv;
    if (Real) {
      real_term<acc_t, VectorSoftplus>(Kind, value, smoothing, &term, &deriv);
    } else {
      fake_term<acc_t, VectorSoftplus>(Kind, value, &term, &deriv);
    }
    sum += term;
    logit_sum += value;
    count += (Real ? value > acc_t(0) : value < acc_t(0)) ? 1.0 : 0.0;
    grad[i] = static_cast<scalar_t>(deriv * inv_n);
  }
  logits += logit_sum;
  right += count;
  return sum;
}

// The critic loss over the logits in one pass: dL/dreal and dL/dfake written to `grad_real` / `grad_fake`, the
// statistics to `stats` ([mean D(real), mean D(fake), accuracy], acc_t); returns the loss in reduce_t.
reduce_t critic_loss_into(const at::Tensor& real, const at::Tensor& fake, int64_t kind, double label_smoothing,
                          at::Tensor& grad_real, at::Tensor& grad_fake, at::Tensor& stats) {
  reduce_t loss = 0.0;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, real.scalar_type(), "ganzoo_critic_loss_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    const int64_t nr = real.numel(), nf = fake.numel();
    const scalar_t* r = real.const_data_ptr<scalar_t>();
    const scalar_t* f = fake.const_data_ptr<scalar_t>();
    scalar_t* gr = grad_real.mutable_data_ptr<scalar_t>();
    scalar_t* gf = grad_fake.mutable_data_ptr<scalar_t>();
    reduce_t logit_real = 0.0, logit_fake = 0.0, correct = 0.0;
    const acc_t smoothing = static_cast<acc_t>(label_smoothing);
    const acc_t inv_nr = inverse_count<acc_t>(nr), inv_nf = inverse_count<acc_t>(nf);
    reduce_t sum_real, sum_fake;
    switch (kind) {
      case kBce:
        sum_real = smoothing != acc_t(0)
                       ? side_terms<kBce, true, true>(r, nr, smoothing, inv_nr, gr, logit_real, correct)
                       : side_terms<kBce, true, false>(r, nr, smoothing, inv_nr, gr, logit_real, correct);
        sum_fake = side_terms<kBce, false, false>(f, nf, smoothing, inv_nf, gf, logit_fake, correct);
        break;
      case kHinge:
        sum_real = side_terms<kHinge, true, false>(r, nr, smoothing, inv_nr, gr, logit_real, correct);
        sum_fake = side_terms<kHinge, false, false>(f, nf, smoothing, inv_nf, gf, logit_fake, correct);
        break;
      default:
        sum_real = side_terms<kWasserstein, true, false>(r, nr, smoothing, inv_nr, gr, logit_real, correct);
        sum_fake = side_terms<kWasserstein, false, false>(f, nf, smoothing, inv_nf, gf, logit_fake, correct);
    }
    loss = sum_real / nr + sum_fake / nf;
    acc_t* s = stats.mutable_data_ptr<acc_t>();
    s[0] = static_cast<acc_t>(logit_real / nr);
    s[1] = static_cast<acc_t>(logit_fake / nf);
    s[2] = static_cast<acc_t>(correct / static_cast<reduce_t>(nr + nf));
  });
  return loss;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_loss_cpu(const at::Tensor& real_in,
                                                                           const at::Tensor& fake_in, int64_t kind,
                                                                           double label_smoothing) {
  LogitGrads l = prepare_logits(real_in, fake_in, kind, label_smoothing);
  at::Tensor stats = at::empty({3}, l.real.options().dtype(accumulate_dtype(l.real)));
  const reduce_t loss = critic_loss_into(l.real, l.fake, kind, label_smoothing, l.grad_real, l.grad_fake, stats);
  return {scalar_of(loss, l.real), l.grad_real.view(real_in.sizes()), l.grad_fake.view(fake_in.sizes()), stats};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_tail_cpu(
    const at::Tensor& real_in, const at::Tensor& fake_in, const at::Tensor& grad, int64_t loss_kind,
    double label_smoothing, int64_t penalty_kind, double weight, double center) {
  check_loss_kind(loss_kind);
  check_penalty_kind(penalty_kind);
  check_grad(grad);
  check_grad_with_logits(grad, real_in);
  LogitGrads l = prepare_logits(real_in, fake_in, loss_kind, label_smoothing);
  at::Tensor stats = at::empty({4}, l.real.options().dtype(accumulate_dtype(l.real)));
  at::Tensor logit_stats = stats.narrow(0, 0, 3);
  const reduce_t loss = critic_loss_into(l.real, l.fake, loss_kind, label_smoothing, l.grad_real, l.grad_fake,
                                         logit_stats);
  auto [norms, penalty] = norms_and_penalty(dense_samples(grad), penalty_kind, weight, center);
  AT_DISPATCH_FLOATING_TYPES(stats.scalar_type(), "ganzoo_critic_tail_stats_cpu", [&] {
    stats.mutable_data_ptr<scalar_t>()[3] = static_cast<scalar_t>(penalty);
  });
  return {scalar_of(loss + penalty, l.real), l.grad_real.view(real_in.sizes()), l.grad_fake.view(fake_in.sizes()), norms,
          stats};
}

// --- leaky_pixel_norm (ops_common.h has the formulas) ---

// Loads and stores in acc_t. bfloat16 by its bits, in forms GCC vectorises (c10's rounding carries a NaN branch); the
// rounding is c10's round-to-nearest-even, NaN to the same quiet NaN.
inline float load_acc(float v) { return v; }
inline double load_acc(double v) { return v; }
inline float load_acc(c10::Half v) { return static_cast<float>(v); }
inline float load_acc(c10::BFloat16 v) {
  const uint32_t bits = static_cast<uint32_t>(v.x) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

template <typename scalar_t>
inline scalar_t store_acc(opmath_t<scalar_t> v) {
  return static_cast<scalar_t>(v);
}

template <>
inline c10::BFloat16 store_acc<c10::BFloat16>(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  return c10::BFloat16(static_cast<uint16_t>(v != v ? 0x7FC0u : rounded), c10::BFloat16::from_bits());
}

// Pixels at a time when the pixels are innermost: their running sums stay in registers or L1 while the channels pass.
constexpr int64_t kPixelBlock = 64;

// y (or dx, when dy is given) for the pixels of sample-blocks [begin, end) of x laid out as `l` says.
template <typename scalar_t>
GANZOO_MULTIVERSION void leaky_pixel_norm_range(const scalar_t* x, const scalar_t* dy, scalar_t* out,
                                                const PixelLayout& l, opmath_t<scalar_t> slope, opmath_t<scalar_t> eps,
                                                int64_t begin, int64_t end) {
  using acc_t = opmath_t<scalar_t>;
  const acc_t inv_c = inverse_count<acc_t>(l.c);
  if (l.channels_inner) {  // [begin, end) are pixels, each a contiguous row of c channels
    for (int64_t p = begin; p < end; ++p) {
      const scalar_t* xp = x + p * l.c;
      scalar_t* op = out + p * l.c;
      acc_t sum_sq = 0, sum_ga = 0;
      if (dy == nullptr) {
#pragma omp simd reduction(+ : sum_sq)
        for (int64_t j = 0; j < l.c; ++j) {
          const acc_t a = leaky(load_acc(xp[j]), slope);
          sum_sq += a * a;
        }
        const acc_t r = acc_t(1) / std::sqrt(sum_sq * inv_c + eps);
#pragma omp simd
        for (int64_t j = 0; j < l.c; ++j) op[j] = store_acc<scalar_t>(leaky(load_acc(xp[j]), slope) * r);
      } else {
        const scalar_t* gp = dy + p * l.c;
#pragma omp simd reduction(+ : sum_sq, sum_ga)
        for (int64_t j = 0; j < l.c; ++j) {
          const acc_t a = leaky(load_acc(xp[j]), slope);
          sum_sq += a * a;
          sum_ga += load_acc(gp[j]) * a;
        }
        const acc_t r = acc_t(1) / std::sqrt(sum_sq * inv_c + eps);
        const acc_t k = r * r * r * sum_ga * inv_c;
#pragma omp simd
        for (int64_t j = 0; j < l.c; ++j) {
          const acc_t v = load_acc(xp[j]);
          const acc_t da = r * load_acc(gp[j]) - leaky(v, slope) * k;
          op[j] = store_acc<scalar_t>(v > acc_t(0) ? da : slope * da);
        }
      }
    }
    return;
  }
  // [begin, end) are blocks of kPixelBlock pixels of one sample; channel j of pixel q is at j * s + q
  const int64_t blocks = (l.s + kPixelBlock - 1) / kPixelBlock;
  acc_t sum_sq[kPixelBlock], sum_ga[kPixelBlock], r[kPixelBlock], k[kPixelBlock];
  for (int64_t b = begin; b < end; ++b) {
    const int64_t sample = b / blocks, first = (b % blocks) * kPixelBlock;
    const int64_t width = std::min(kPixelBlock, l.s - first);
    const int64_t base = sample * l.c * l.s + first;
    std::fill(sum_sq, sum_sq + width, acc_t(0));
    std::fill(sum_ga, sum_ga + width, acc_t(0));
    for (int64_t j = 0; j < l.c; ++j) {
      const scalar_t* xr = x + base + j * l.s;
      if (dy == nullptr) {
#pragma omp simd
        for (int64_t q = 0; q < width; ++q) {
          const acc_t a = leaky(load_acc(xr[q]), slope);
          sum_sq[q] += a * a;
        }
      } else {
        const scalar_t* gr = dy + base + j * l.s;
#pragma omp simd
        for (int64_t q = 0; q < width; ++q) {
          const acc_t a = leaky(load_acc(xr[q]), slope);
          sum_sq[q] += a * a;
          sum_ga[q] += load_acc(gr[q]) * a;
        }
      }
    }
    for (int64_t q = 0; q < width; ++q) {
      r[q] = acc_t(1) / std::sqrt(sum_sq[q] * inv_c + eps);
      k[q] = r[q] * r[q] * r[q] * sum_ga[q] * inv_c;
    }
    for (int64_t j = 0; j < l.c; ++j) {
      const scalar_t* xr = x + base + j * l.s;
      scalar_t* orow = out + base + j * l.s;
      if (dy == nullptr) {
#pragma omp simd
        for (int64_t q = 0; q < width; ++q) orow[q] = store_acc<scalar_t>(leaky(load_acc(xr[q]), slope) * r[q]);
      } else {
        const scalar_t* gr = dy + base + j * l.s;
#pragma omp simd
        for (int64_t q = 0; q < width; ++q) {
          const acc_t v = load_acc(xr[q]);
          const acc_t da = r[q] * load_acc(gr[q]) - leaky(v, slope) * k[q];
          orow[q] = store_acc<scalar_t>(v > acc_t(0) ? da : slope * da);
        }
      }
    }
  }
}

// The forward (grad_out undefined) or the backward, over x in its own dense layout; the result has x's layout.
at::Tensor leaky_pixel_norm_pass(const at::Tensor& grad_out, const at::Tensor& x_in, double slope, double eps) {
  const PixelPass pass = prepare_pixel_pass(grad_out, x_in);
  const PixelLayout& l = pass.layout;
  const at::Tensor& x = pass.x;
  const at::Tensor& dy = pass.dy;
  at::Tensor out = pass.out;
  if (x.numel() == 0) return out;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "ganzoo_leaky_pixel_norm_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    const scalar_t* xp = x.const_data_ptr<scalar_t>();
    const scalar_t* gp = dy.defined() ? dy.const_data_ptr<scalar_t>() : nullptr;
    scalar_t* op = out.mutable_data_ptr<scalar_t>();
    const int64_t items = l.channels_inner ? l.n * l.s : l.n * ((l.s + kPixelBlock - 1) / kPixelBlock);
    const int64_t per_item = l.channels_inner ? l.c : l.c * kPixelBlock;
    const int64_t grain = std::max<int64_t>(1, kGrainElements / per_item);
    at::parallel_for(0, items, grain, [&](int64_t begin, int64_t end) {
      leaky_pixel_norm_range<scalar_t>(xp, gp, op, l, static_cast<acc_t>(slope), static_cast<acc_t>(eps), begin, end);
    });
  });
  return out;
}

at::Tensor leaky_pixel_norm_cpu(const at::Tensor& x, double slope, double eps) {
  return leaky_pixel_norm_pass(at::Tensor(), x, slope, eps);
}

at::Tensor leaky_pixel_norm_backward_cpu(const at::Tensor& grad_out, const at::Tensor& x, double slope, double eps) {
  TORCH_CHECK(grad_out.defined(), "ganzoo: leaky_pixel_norm_backward needs grad_out");
  return leaky_pixel_norm_pass(grad_out, x, slope, eps);
}

}  // namespace

TORCH_LIBRARY_IMPL(ganzoo, CPU, m) {
  m.impl("gradient_penalty", &gradient_penalty_cpu);
  m.impl("gradient_penalty_backward", &gradient_penalty_backward_cpu);
  m.impl("critic_loss", &critic_loss_cpu);
  m.impl("critic_tail", &critic_tail_cpu);
  m.impl("leaky_pixel_norm", &leaky_pixel_norm_cpu);
  m.impl("leaky_pixel_norm_backward", &leaky_pixel_norm_backward_cpu);
}

}  // namespace ganzoo
