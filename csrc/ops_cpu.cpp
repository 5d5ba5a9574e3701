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

GANZOO_MULTIVERSION double sum_squares(const float* x, int64_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(x[j]) * static_cast<double>(x[j]);
  return acc;
}

GANZOO_MULTIVERSION double sum_squares(const double* x, int64_t n) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < n; ++j) acc += x[j] * x[j];
  return acc;
}

template <typename scalar_t>
double sum_squares(const scalar_t* x, int64_t n) {  // half, bfloat16
  float acc = 0.f;
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

template <typename acc_t>
acc_t penalty_from_norms(const acc_t* norms, int64_t batch, int64_t kind, double weight, double center) {
  double total = 0.0;  // the mean of B terms, in double whatever the input type
  for (int64_t i = 0; i < batch; ++i) total += penalty_term<double>(kind, static_cast<double>(norms[i]), center);
  return static_cast<acc_t>(weight * total / static_cast<double>(batch));
}

at::Tensor penalty_loss(const at::Tensor& grad, const at::Tensor& norms, int64_t kind, double weight, double center) {
  at::Tensor loss = at::empty({}, grad.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, grad.scalar_type(), "ganzoo_penalty_loss_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    *loss.mutable_data_ptr<scalar_t>() =
        static_cast<scalar_t>(penalty_from_norms(norms.const_data_ptr<acc_t>(), grad.size(0), kind, weight, center));
  });
  return loss;
}

std::tuple<at::Tensor, at::Tensor> gradient_penalty_cpu(const at::Tensor& grad, int64_t kind, double weight,
                                                        double center) {
  check_grad(grad);
  check_penalty_kind(kind);
  const at::Tensor g = dense_samples(grad);
  at::Tensor norms = at::empty({g.size(0)}, g.options().dtype(accumulate_dtype(g)));
  compute_norms(g, norms);
  return {penalty_loss(g, norms, kind, weight, center), norms};
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
        const double c = upstream * penalty_coef<double>(kind, static_cast<double>(n[i]), weight, center, batch);
        scale_into(in + i * row, static_cast<acc_t>(c), dst + i * row, row);
      }
    });
  });
  return out;
}

// Loss, gradients and statistics of the critic loss in one pass over the logits.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_loss_cpu(const at::Tensor& real_in,
                                                                           const at::Tensor& fake_in, int64_t kind,
                                                                           double label_smoothing) {
  check_logits(real_in, fake_in);
  check_loss_kind(kind);
  TORCH_CHECK(label_smoothing == 0.0 || kind == kBce, "ganzoo: label_smoothing applies to the bce loss only");
  const at::Tensor real = real_in.reshape({-1}).contiguous();
  const at::Tensor fake = fake_in.reshape({-1}).contiguous();
  at::Tensor grad_real = at::empty_like(real);
  at::Tensor grad_fake = at::empty_like(fake);
  at::Tensor loss = at::empty({}, real.options());
  at::Tensor stats = at::empty({3}, real.options().dtype(accumulate_dtype(real)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, real.scalar_type(), "ganzoo_critic_loss_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    const int64_t nr = real.numel(), nf = fake.numel();
    const scalar_t* r = real.const_data_ptr<scalar_t>();
    const scalar_t* f = fake.const_data_ptr<scalar_t>();
    scalar_t* gr = grad_real.mutable_data_ptr<scalar_t>();
    scalar_t* gf = grad_fake.mutable_data_ptr<scalar_t>();
    // per-logit maths in the accumulation type (float for float32: float exp/log1p are several times cheaper than
    // double), sums in double so the means stay exact to the input's precision
    double sum_real = 0.0, sum_fake = 0.0, logit_real = 0.0, logit_fake = 0.0;
    int64_t correct = 0;
    const acc_t smoothing = static_cast<acc_t>(label_smoothing);
    const acc_t inv_nr = acc_t(1) / static_cast<acc_t>(nr), inv_nf = acc_t(1) / static_cast<acc_t>(nf);
    for (int64_t i = 0; i < nr; ++i) {
      const acc_t x = static_cast<acc_t>(r[i]);
      acc_t v, d;
      real_term<acc_t>(kind, x, smoothing, &v, &d);
      sum_real += v;
      logit_real += x;
      correct += x > acc_t(0);
      gr[i] = static_cast<scalar_t>(d * inv_nr);
    }
    for (int64_t i = 0; i < nf; ++i) {
      const acc_t x = static_cast<acc_t>(f[i]);
      acc_t v, d;
      fake_term<acc_t>(kind, x, &v, &d);
      sum_fake += v;
      logit_fake += x;
      correct += x < acc_t(0);
      gf[i] = static_cast<scalar_t>(d * inv_nf);
    }
    *loss.mutable_data_ptr<scalar_t>() = static_cast<scalar_t>(sum_real / nr + sum_fake / nf);
    acc_t* s = stats.mutable_data_ptr<acc_t>();
    s[0] = static_cast<acc_t>(logit_real / nr);
    s[1] = static_cast<acc_t>(logit_fake / nf);
    s[2] = static_cast<acc_t>(static_cast<double>(correct) / static_cast<double>(nr + nf));
  });
  return {loss, grad_real.view(real_in.sizes()), grad_fake.view(fake_in.sizes()), stats};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_tail_cpu(
    const at::Tensor& real, const at::Tensor& fake, const at::Tensor& grad, int64_t loss_kind, double label_smoothing,
    int64_t penalty_kind, double weight, double center) {
  check_loss_kind(loss_kind);
  check_penalty_kind(penalty_kind);
  check_grad(grad);
  check_grad_with_logits(grad, real);
  auto [loss, grad_real, grad_fake, stats3] = critic_loss_cpu(real, fake, loss_kind, label_smoothing);
  auto [penalty, norms] = gradient_penalty_cpu(grad, penalty_kind, weight, center);
  at::Tensor stats = at::empty({4}, stats3.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, loss.scalar_type(), "ganzoo_critic_tail_cpu", [&] {
    using acc_t = opmath_t<scalar_t>;
    // all of these are small CPU tensors: combine them in place rather than through more ops
    const double pen = static_cast<double>(*penalty.const_data_ptr<scalar_t>());
    scalar_t* total = loss.mutable_data_ptr<scalar_t>();
    *total = static_cast<scalar_t>(static_cast<double>(*total) + pen);
    const acc_t* s3 = stats3.const_data_ptr<acc_t>();
    acc_t* s = stats.mutable_data_ptr<acc_t>();
    s[0] = s3[0];
    s[1] = s3[1];
    s[2] = s3[2];
    s[3] = static_cast<acc_t>(pen);
  });
  return {loss, grad_real, grad_fake, norms, stats};
}

}  // namespace

TORCH_LIBRARY_IMPL(ganzoo, CPU, m) {
  m.impl("gradient_penalty", &gradient_penalty_cpu);
  m.impl("gradient_penalty_backward", &gradient_penalty_backward_cpu);
  m.impl("critic_loss", &critic_loss_cpu);
  m.impl("critic_tail", &critic_tail_cpu);
}

}  // namespace ganzoo
