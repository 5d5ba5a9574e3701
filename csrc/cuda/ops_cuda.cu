// CUDA kernels of the fused ops (float, double, half, bfloat16), with ops_common.h's accumulation policy: per-element
// maths in acc_t (float for half and bfloat16), every sum in reduce_t (double), each output rounded once.
//
// gradient_penalty: a two-level reduction. Each block reduces one chunk of one sample with 16-byte vector loads where the
// row is aligned (grid = chunks x B, so a few large samples still fill the GPU); one block then turns the partial sums
// into norms and the scalar loss. The backward is one elementwise pass. Every kernel runs on the current stream, every
// launch is checked, and nothing synchronises with the host (the upstream gradient is read on the device).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cstdint>

#include "../ops_common.h"

namespace ganzoo {
namespace {

constexpr int kThreads = 256;
constexpr int kChunkElements = kThreads * 16;  // elements one block reduces: 16 per thread
constexpr int kWarp = 32;

template <typename T, int N>
struct alignas(sizeof(T) * N) VecN {
  T v[N];
};

template <typename sum_t>
__device__ sum_t block_sum(sum_t value) {
  __shared__ sum_t shared[kThreads / kWarp];
  for (int offset = kWarp / 2; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  value = threadIdx.x < kThreads / kWarp ? shared[threadIdx.x] : sum_t(0);
  if (warp == 0)
    for (int offset = kWarp / 2; offset > 0; offset /= 2) value += __shfl_down_sync(0xffffffffu, value, offset);
  __syncthreads();  // `shared` is reused by the caller's next block_sum
  return value;
}

// partial[b * chunks + c] = sum of squares of chunk c of sample b (each square in acc_t, the sum in reduce_t).
template <typename scalar_t, typename acc_t, int VEC>
__global__ void sum_squares_kernel(const scalar_t* __restrict__ g, int64_t row, int64_t chunks,
                                   reduce_t* __restrict__ partial) {
  const int64_t b = blockIdx.y, c = blockIdx.x;
  const int64_t begin = c * kChunkElements;
  const int64_t end = min(begin + kChunkElements, row);
  const scalar_t* base = g + b * row;
  reduce_t acc = 0.0;
  if (VEC > 1) {
    using V = VecN<scalar_t, VEC>;
    for (int64_t j = begin + threadIdx.x * VEC; j + VEC <= end; j += kThreads * VEC) {
      const V v = *reinterpret_cast<const V*>(base + j);
#pragma unroll
      for (int k = 0; k < VEC; ++k) {
        const acc_t x = static_cast<acc_t>(v.v[k]);
        acc += static_cast<reduce_t>(x * x);
      }
    }
  } else {
    for (int64_t j = begin + threadIdx.x; j < end; j += kThreads) {
      const acc_t x = static_cast<acc_t>(base[j]);
      acc += static_cast<reduce_t>(x * x);
    }
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[b * chunks + c] = acc;
}

// norms from the partial sums, then the penalty weight * mean penalty_term(norm) from the stored norms, as the CPU
// computes it (one block): written to `loss` (input dtype) and/or `penalty_value` (reduce_t, for critic_tail).
template <typename scalar_t, typename acc_t>
__global__ void penalty_finish_kernel(const reduce_t* __restrict__ partial, int64_t batch, int64_t chunks, int64_t kind,
                                      reduce_t weight, reduce_t center, acc_t* __restrict__ norms,
                                      scalar_t* __restrict__ loss, reduce_t* __restrict__ penalty_value) {
  reduce_t total = 0.0;
  for (int64_t b = threadIdx.x; b < batch; b += kThreads) {
    reduce_t squares = 0.0;
    for (int64_t c = 0; c < chunks; ++c) squares += partial[b * chunks + c];
    const acc_t norm = static_cast<acc_t>(::sqrt(squares));
    norms[b] = norm;
    total += penalty_term<reduce_t>(kind, static_cast<reduce_t>(norm), center);
  }
  total = block_sum(total);
  if (threadIdx.x == 0) {
    const reduce_t value = weight * total / static_cast<reduce_t>(batch);
    if (loss != nullptr) *loss = static_cast<scalar_t>(value);
    if (penalty_value != nullptr) *penalty_value = value;
  }
}

// c_i in reduce_t from the stored norm, applied in acc_t (as the CPU kernel does).
template <typename acc_t>
__device__ inline acc_t sample_coef(reduce_t upstream, int64_t kind, acc_t norm, reduce_t weight, reduce_t center,
                                    int64_t batch) {
  return static_cast<acc_t>(upstream * penalty_coef<reduce_t>(kind, static_cast<reduce_t>(norm), weight, center, batch));
}

template <typename scalar_t, typename acc_t, int VEC>
__global__ void penalty_backward_kernel(const scalar_t* __restrict__ grad_out, const scalar_t* __restrict__ g,
                                        const acc_t* __restrict__ norms, int64_t batch, int64_t row, int64_t kind,
                                        reduce_t weight, reduce_t center, scalar_t* __restrict__ out) {
  const reduce_t upstream = static_cast<reduce_t>(*grad_out);
  const int64_t total = batch * row;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * VEC;
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * VEC; i < total; i += stride) {
    if (VEC > 1) {  // row % VEC == 0, so a vector never straddles two samples
      using V = VecN<scalar_t, VEC>;
      const int64_t b = i / row;
      const acc_t c = sample_coef<acc_t>(upstream, kind, norms[b], weight, center, batch);
      const V v = *reinterpret_cast<const V*>(g + i);
      V r;
#pragma unroll
      for (int k = 0; k < VEC; ++k) r.v[k] = static_cast<scalar_t>(c * static_cast<acc_t>(v.v[k]));
      *reinterpret_cast<V*>(out + i) = r;
    } else {
      const acc_t c = sample_coef<acc_t>(upstream, kind, norms[i / row], weight, center, batch);
      out[i] = static_cast<scalar_t>(c * static_cast<acc_t>(g[i]));
    }
  }
}

// The critic loss, both gradients and the statistics in one pass (one block: B is at most a few thousand logits). The
// loss goes to `loss` (input dtype) and, for critic_tail, unrounded to `loss_value` (reduce_t) when given.
template <typename scalar_t, typename acc_t>
__global__ void critic_loss_kernel(const scalar_t* __restrict__ real, int64_t nr, const scalar_t* __restrict__ fake,
                                   int64_t nf, int64_t kind, acc_t smoothing, scalar_t* __restrict__ loss,
                                   reduce_t* __restrict__ loss_value, scalar_t* __restrict__ grad_real,
                                   scalar_t* __restrict__ grad_fake, acc_t* __restrict__ stats) {
  reduce_t sum_real = 0, sum_fake = 0, logit_real = 0, logit_fake = 0, correct = 0;
  const acc_t inv_nr = inverse_count<acc_t>(nr), inv_nf = inverse_count<acc_t>(nf);
  for (int64_t i = threadIdx.x; i < nr; i += kThreads) {
    const acc_t x = static_cast<acc_t>(real[i]);
    acc_t v, d;
    real_term<acc_t>(kind, x, smoothing, &v, &d);
    sum_real += v;
    logit_real += x;
    correct += x > acc_t(0) ? 1.0 : 0.0;
    grad_real[i] = static_cast<scalar_t>(d * inv_nr);
  }
  for (int64_t i = threadIdx.x; i < nf; i += kThreads) {
    const acc_t x = static_cast<acc_t>(fake[i]);
    acc_t v, d;
    fake_term<acc_t>(kind, x, &v, &d);
    sum_fake += v;
    logit_fake += x;
    correct += x < acc_t(0) ? 1.0 : 0.0;
    grad_fake[i] = static_cast<scalar_t>(d * inv_nf);
  }
  sum_real = block_sum(sum_real);
  sum_fake = block_sum(sum_fake);
  logit_real = block_sum(logit_real);
  logit_fake = block_sum(logit_fake);
  correct = block_sum(correct);
  if (threadIdx.x == 0) {
    const reduce_t value = sum_real / static_cast<reduce_t>(nr) + sum_fake / static_cast<reduce_t>(nf);
    if (loss != nullptr) *loss = static_cast<scalar_t>(value);
    if (loss_value != nullptr) *loss_value = value;
    stats[0] = static_cast<acc_t>(logit_real / static_cast<reduce_t>(nr));
    stats[1] = static_cast<acc_t>(logit_fake / static_cast<reduce_t>(nf));
    stats[2] = static_cast<acc_t>(correct / static_cast<reduce_t>(nr + nf));
  }
}

// critic_tail's loss and penalty statistic from the two unrounded values: values = [critic loss, penalty].
template <typename scalar_t, typename acc_t>
__global__ void tail_finish_kernel(const reduce_t* __restrict__ values, scalar_t* __restrict__ loss,
                                   acc_t* __restrict__ stats) {
  *loss = static_cast<scalar_t>(values[0] + values[1]);
  stats[3] = static_cast<acc_t>(values[1]);
}

void check_cuda(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.is_cuda(), "ganzoo: ", name, " must be a CUDA tensor for the CUDA kernel");
}

template <typename scalar_t>
int vector_width(const at::Tensor& t, int64_t row) {
  constexpr int width = 16 / sizeof(scalar_t);
  const auto address = reinterpret_cast<std::uintptr_t>(t.const_data_ptr());
  return (row % width == 0 && address % 16 == 0) ? width : 1;
}

// Norms (acc dtype), and the penalty written to `loss` (grad's dtype) and/or `penalty_value` (reduce_t, device).
void launch_penalty(const at::Tensor& g, int64_t kind, double weight, double center, at::Tensor& norms, void* loss,
                    reduce_t* penalty_value) {
  const int64_t batch = g.size(0), row = g.numel() / batch;
  const int64_t chunks = (row + kChunkElements - 1) / kChunkElements;
  TORCH_CHECK(batch <= 65535, "ganzoo: the CUDA penalty kernel supports batches up to 65,535 samples, got ", batch);
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "ganzoo_gradient_penalty_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    at::Tensor partial = at::empty({batch * chunks}, g.options().dtype(at::kDouble));
    // A (B, 0) gradient has no elements: no chunks to sum (a grid of zero blocks is an invalid launch), every norm is 0.
    if (chunks > 0) {
      const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(batch));
      const scalar_t* data = g.const_data_ptr<scalar_t>();
      constexpr int width = 16 / sizeof(scalar_t);
      if (vector_width<scalar_t>(g, row) == width) {
        sum_squares_kernel<scalar_t, acc_t, width><<<grid, kThreads, 0, stream>>>(data, row, chunks,
                                                                                  partial.mutable_data_ptr<reduce_t>());
      } else {
        sum_squares_kernel<scalar_t, acc_t, 1><<<grid, kThreads, 0, stream>>>(data, row, chunks,
                                                                              partial.mutable_data_ptr<reduce_t>());
      }
      C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    penalty_finish_kernel<scalar_t, acc_t><<<1, kThreads, 0, stream>>>(
        partial.const_data_ptr<reduce_t>(), batch, chunks, kind, weight, center, norms.mutable_data_ptr<acc_t>(),
        static_cast<scalar_t*>(loss), penalty_value);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

std::tuple<at::Tensor, at::Tensor> gradient_penalty_cuda(const at::Tensor& grad, int64_t kind, double weight,
                                                         double center) {
  check_grad(grad);
  check_cuda(grad, "grad");
  check_penalty_kind(kind);
  const c10::cuda::CUDAGuard guard(grad.device());
  const at::Tensor g = dense_samples(grad);
  at::Tensor norms = at::empty({g.size(0)}, g.options().dtype(accumulate_dtype(g)));
  at::Tensor loss = at::empty({}, g.options());
  launch_penalty(g, kind, weight, center, norms, loss.mutable_data_ptr(), nullptr);
  return {loss, norms};
}

at::Tensor gradient_penalty_backward_cuda(const at::Tensor& grad_out, const at::Tensor& grad, const at::Tensor& norms,
                                          int64_t kind, double weight, double center) {
  const int64_t batch = check_grad(grad);
  check_cuda(grad, "grad");
  check_cuda(grad_out, "grad_out");
  check_penalty_kind(kind);
  TORCH_CHECK(norms.dim() == 1 && norms.size(0) == batch && norms.scalar_type() == accumulate_dtype(grad) && norms.is_cuda(),
              "ganzoo: norms must be the (B,) tensor gradient_penalty returned for this grad");
  TORCH_CHECK(grad_out.numel() == 1, "ganzoo: grad_out of the penalty must be a scalar, got shape ", grad_out.sizes());
  const c10::cuda::CUDAGuard guard(grad.device());
  const at::Tensor g = dense_samples(grad);
  const at::Tensor upstream = grad_out.to(g.scalar_type()).reshape({});
  at::Tensor out = at::empty_like(g);
  if (g.numel() == 0) return out;  // (B, 0): nothing to write, and a grid of zero blocks is an invalid launch
  const int64_t row = g.numel() / batch;
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, g.scalar_type(), "ganzoo_gradient_penalty_backward_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    constexpr int width = 16 / sizeof(scalar_t);
    const bool vec = vector_width<scalar_t>(g, row) == width &&
                     reinterpret_cast<std::uintptr_t>(out.const_data_ptr()) % 16 == 0;
    const int64_t work = (g.numel() + (vec ? width : 1) - 1) / (vec ? width : 1);
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((work + kThreads - 1) / kThreads, 65535 * 8));
    if (vec) {
      penalty_backward_kernel<scalar_t, acc_t, width><<<blocks, kThreads, 0, stream>>>(
          upstream.const_data_ptr<scalar_t>(), g.const_data_ptr<scalar_t>(), norms.const_data_ptr<acc_t>(), batch, row,
          kind, weight, center, out.mutable_data_ptr<scalar_t>());
    } else {
      penalty_backward_kernel<scalar_t, acc_t, 1><<<blocks, kThreads, 0, stream>>>(
          upstream.const_data_ptr<scalar_t>(), g.const_data_ptr<scalar_t>(), norms.const_data_ptr<acc_t>(), batch, row,
          kind, weight, center, out.mutable_data_ptr<scalar_t>());
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

// The critic loss kernel on prepared logits: `loss` (input dtype) and/or `loss_value` (reduce_t) may be null.
void launch_critic_loss(LogitGrads& l, int64_t kind, double label_smoothing, void* loss, reduce_t* loss_value,
                        at::Tensor& stats) {
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, l.real.scalar_type(), "ganzoo_critic_loss_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    critic_loss_kernel<scalar_t, acc_t><<<1, kThreads, 0, stream>>>(
        l.real.const_data_ptr<scalar_t>(), l.real.numel(), l.fake.const_data_ptr<scalar_t>(), l.fake.numel(), kind,
        static_cast<acc_t>(label_smoothing), static_cast<scalar_t*>(loss), loss_value,
        l.grad_real.mutable_data_ptr<scalar_t>(), l.grad_fake.mutable_data_ptr<scalar_t>(), stats.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_loss_cuda(const at::Tensor& real_in,
                                                                            const at::Tensor& fake_in, int64_t kind,
                                                                            double label_smoothing) {
  const c10::cuda::CUDAGuard guard(real_in.device());
  check_cuda(real_in, "real");
  LogitGrads l = prepare_logits(real_in, fake_in, kind, label_smoothing);
  at::Tensor loss = at::empty({}, l.real.options());
  at::Tensor stats = at::empty({3}, l.real.options().dtype(accumulate_dtype(l.real)));
  launch_critic_loss(l, kind, label_smoothing, loss.mutable_data_ptr(), nullptr, stats);
  return {loss, l.grad_real.view(real_in.sizes()), l.grad_fake.view(fake_in.sizes()), stats};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, at::Tensor> critic_tail_cuda(
    const at::Tensor& real_in, const at::Tensor& fake_in, const at::Tensor& grad, int64_t loss_kind,
    double label_smoothing, int64_t penalty_kind, double weight, double center) {
  check_loss_kind(loss_kind);
  check_penalty_kind(penalty_kind);
  check_grad(grad);
  check_cuda(grad, "grad");
  check_grad_with_logits(grad, real_in);
  const c10::cuda::CUDAGuard guard(grad.device());
  check_cuda(real_in, "real");
  LogitGrads l = prepare_logits(real_in, fake_in, loss_kind, label_smoothing);
  at::Tensor stats = at::empty({4}, l.real.options().dtype(accumulate_dtype(l.real)));
  at::Tensor values = at::empty({2}, l.real.options().dtype(at::kDouble));  // [critic loss, penalty], unrounded
  launch_critic_loss(l, loss_kind, label_smoothing, nullptr, values.mutable_data_ptr<reduce_t>(), stats);
  const at::Tensor g = dense_samples(grad);
  at::Tensor norms = at::empty({g.size(0)}, g.options().dtype(accumulate_dtype(g)));
  launch_penalty(g, penalty_kind, weight, center, norms, nullptr, values.mutable_data_ptr<reduce_t>() + 1);
  at::Tensor loss = at::empty({}, l.real.options());
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, loss.scalar_type(), "ganzoo_critic_tail_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    tail_finish_kernel<scalar_t, acc_t><<<1, 1, 0, stream>>>(values.const_data_ptr<reduce_t>(),
                                                             loss.mutable_data_ptr<scalar_t>(),
                                                             stats.mutable_data_ptr<acc_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {loss, l.grad_real.view(real_in.sizes()), l.grad_fake.view(fake_in.sizes()), norms, stats};
}

// leaky_pixel_norm's forward (dy null) or backward: one thread a pixel, its channels read twice (the sums, then the
// outputs) at `stride` apart; where pixels are innermost (stride s) a warp's loads are contiguous.
template <typename scalar_t, typename acc_t>
__global__ void leaky_pixel_norm_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ dy,
                                        scalar_t* __restrict__ out, int64_t pixels, int64_t c, int64_t s,
                                        bool channels_inner, acc_t slope, acc_t eps) {
  const int64_t p = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= pixels) return;
  const int64_t base = channels_inner ? p * c : (p / s) * c * s + p % s;
  const int64_t stride = channels_inner ? 1 : s;
  const acc_t inv_c = inverse_count<acc_t>(c);
  acc_t sum_sq = 0, sum_ga = 0;
  for (int64_t j = 0; j < c; ++j) {
    const acc_t a = leaky(static_cast<acc_t>(x[base + j * stride]), slope);
    sum_sq += a * a;
    if (dy != nullptr) sum_ga += static_cast<acc_t>(dy[base + j * stride]) * a;
  }
  const acc_t r = acc_t(1) / ::sqrt(sum_sq * inv_c + eps);
  const acc_t k = r * r * r * sum_ga * inv_c;
  for (int64_t j = 0; j < c; ++j) {
    const int64_t i = base + j * stride;
    const acc_t v = static_cast<acc_t>(x[i]);
    if (dy == nullptr) {
      out[i] = static_cast<scalar_t>(leaky(v, slope) * r);
    } else {
      const acc_t da = r * static_cast<acc_t>(dy[i]) - leaky(v, slope) * k;
      out[i] = static_cast<scalar_t>(v > acc_t(0) ? da : slope * da);
    }
  }
}

at::Tensor leaky_pixel_norm_pass_cuda(const at::Tensor& grad_out, const at::Tensor& x_in, double slope, double eps) {
  check_cuda(x_in, "x");  // grad_out: prepare_pixel_pass holds it to x's device
  const c10::cuda::CUDAGuard guard(x_in.device());
  const PixelPass pass = prepare_pixel_pass(grad_out, x_in);
  const PixelLayout& l = pass.layout;
  const at::Tensor& x = pass.x;
  const at::Tensor& dy = pass.dy;
  at::Tensor out = pass.out;
  const int64_t pixels = l.n * l.s;
  if (x.numel() == 0) return out;  // a grid of zero blocks is an invalid launch
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, x.scalar_type(), "ganzoo_leaky_pixel_norm_cuda", [&] {
    using acc_t = at::opmath_type<scalar_t>;
    const int64_t blocks = (pixels + kThreads - 1) / kThreads;
    TORCH_CHECK(blocks <= INT32_MAX, "ganzoo: leaky_pixel_norm takes at most ", int64_t{INT32_MAX} * kThreads,
                " pixels on CUDA, got ", pixels);
    leaky_pixel_norm_kernel<scalar_t, acc_t><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        x.const_data_ptr<scalar_t>(), dy.defined() ? dy.const_data_ptr<scalar_t>() : nullptr,
        out.mutable_data_ptr<scalar_t>(), pixels, l.c, l.s, l.channels_inner, static_cast<acc_t>(slope),
        static_cast<acc_t>(eps));
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return out;
}

at::Tensor leaky_pixel_norm_cuda(const at::Tensor& x, double slope, double eps) {
  return leaky_pixel_norm_pass_cuda(at::Tensor(), x, slope, eps);
}

at::Tensor leaky_pixel_norm_backward_cuda(const at::Tensor& grad_out, const at::Tensor& x, double slope, double eps) {
  TORCH_CHECK(grad_out.defined(), "ganzoo: leaky_pixel_norm_backward needs grad_out");
  return leaky_pixel_norm_pass_cuda(grad_out, x, slope, eps);
}

}  // namespace

TORCH_LIBRARY_IMPL(ganzoo, CUDA, m) {
  m.impl("gradient_penalty", &gradient_penalty_cuda);
  m.impl("gradient_penalty_backward", &gradient_penalty_backward_cuda);
  m.impl("critic_loss", &critic_loss_cuda);
  m.impl("critic_tail", &critic_tail_cuda);
  m.impl("leaky_pixel_norm", &leaky_pixel_norm_cuda);
  m.impl("leaky_pixel_norm_backward", &leaky_pixel_norm_backward_cuda);
}

}  // namespace ganzoo
