// ganzoo's operator library: the schemas of every op are declared here, once. Kernels register per device in their own
// files: ops_cpu.cpp (TORCH_LIBRARY_IMPL(ganzoo, CPU, m)) and cuda/ops_cuda.cu (TORCH_LIBRARY_IMPL(ganzoo, CUDA, m));
// the autograd kernels in autograd.cpp; mlp_critic.cpp is device-generic. Fake (meta) kernels and the reference
// gradients for create_graph are registered from Python, each in its op's module in ganzoo/ops/.
//
// Only light headers: torch/extension.h (pybind11 and all of torch's C++ API) costs ~40-60 s per file to compile on a
// 2-core machine, Python.h plus torch/library.h ~13 s.
#include <Python.h>

#include <torch/library.h>

#ifndef GANZOO_WITH_CUDA
#define GANZOO_WITH_CUDA 0
#endif

extern "C" {
// `import ganzoo._C` loads this shared object; loading it is what registers the ops with PyTorch's dispatcher, so the
// module itself only carries build facts.
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT, "_C", "ganzoo's compiled ops, registered as torch.ops.ganzoo.*", -1, nullptr};
  PyObject* module = PyModule_Create(&module_def);
  if (module == nullptr) return nullptr;
  if (PyModule_AddIntConstant(module, "WITH_CUDA", GANZOO_WITH_CUDA) < 0) {
    Py_DECREF(module);
    return nullptr;
  }
  return module;
}
}

// loss_kind, penalty_kind: the kernel codes of ganzoo/kinds.py's table (LossKind, PenaltyKind in ops_common.h).
TORCH_LIBRARY(ganzoo, m) {
  // weight * mean_i f(||g_i||) over per-sample norms of all non-batch dims -> (scalar loss, norms (B,))
  m.def("gradient_penalty(Tensor grad, int kind, float weight, float center) -> (Tensor, Tensor)");
  // dL/dg = grad_out * c_i * g_i from the saved norms: one elementwise pass
  m.def("gradient_penalty_backward(Tensor grad_out, Tensor grad, Tensor norms, int kind, float weight, float center) "
        "-> Tensor");
  // the discriminator loss over real and fake logits -> (scalar loss, dL/dreal, dL/dfake, stats = [mean D(real),
  // mean D(fake), accuracy]); the gradients are saved for the backward, the stats are for logging without a sync
  m.def("critic_loss(Tensor real, Tensor fake, int kind, float label_smoothing) -> (Tensor, Tensor, Tensor, Tensor)");
  // the whole critic tail: critic_loss + gradient_penalty -> (loss, dL/dreal, dL/dfake, norms, stats), where stats adds
  // the penalty's value to critic_loss's three
  m.def("critic_tail(Tensor real, Tensor fake, Tensor grad, int loss_kind, float label_smoothing, int penalty_kind, "
        "float weight, float center) -> (Tensor, Tensor, Tensor, Tensor, Tensor)");
  // The reference's gradients of the three ops above, differentiable (what their backward runs under create_graph):
  // implemented in Python over ganzoo/ops/reference.py, as CompositeImplicitAutograd (each op's module in ganzoo/ops/).
  m.def("gradient_penalty_ref_grad(Tensor grad_out, Tensor grad, int kind, float weight, float center) -> Tensor");
  m.def("critic_loss_ref_grads(Tensor grad_out, Tensor real, Tensor fake, int kind, float label_smoothing) "
        "-> (Tensor, Tensor)");
  m.def("critic_tail_ref_grads(Tensor grad_out, Tensor real, Tensor fake, Tensor grad, int loss_kind, "
        "float label_smoothing, int penalty_kind, float weight, float center) -> (Tensor, Tensor, Tensor)");
  // leaky_relu(x, slope) then each pixel's channels (dim 1) scaled to unit root-mean-square, eps inside the root:
  // progressive growing's generator after every conv, in one pass (ops_common.h); its backward recomputes from x
  m.def("leaky_pixel_norm(Tensor x, float slope, float eps) -> Tensor");
  m.def("leaky_pixel_norm_backward(Tensor grad_out, Tensor x, float slope, float eps) -> Tensor");
  m.def("leaky_pixel_norm_ref_grad(Tensor grad_out, Tensor x, float slope, float eps) -> Tensor");
  // an MLP critic's (Linear + LeakyReLU(slope) layers, then a one-logit head) critic loss on real and fake, plus the
  // penalty on g = dD/dx at `point` when given -> (loss, stats as critic_tail's, dL/dweights, dL/dbiases), by hand-derived
  // formulas instead of a double backward (csrc/mlp_critic.cpp)
  m.def("mlp_critic_grads(Tensor real, Tensor fake, Tensor? point, Tensor[] weights, Tensor[] biases, float slope, "
        "int loss_kind, float label_smoothing, int penalty_kind, float weight, float center) "
        "-> (Tensor, Tensor, Tensor[], Tensor[])");
}
