// Calling ganzoo's own ops through the dispatcher from C++ (so each call reaches the kernel for its tensors' device,
// or, below the autograd key, the backend kernel): a typed handle, looked up once per call site.
#pragma once

#include <ATen/core/dispatch/Dispatcher.h>

#include <tuple>

namespace ganzoo {

template <typename Signature>
c10::TypedOperatorHandle<Signature> op(const char* name) {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, "").typed<Signature>();
}

using PenaltySig = std::tuple<at::Tensor, at::Tensor>(const at::Tensor&, int64_t, double, double);
using PenaltyBackwardSig = at::Tensor(const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t, double, double);
using LossSig = std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor>(const at::Tensor&, const at::Tensor&, int64_t,
                                                                          double);

}  // namespace ganzoo
