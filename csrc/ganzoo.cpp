// ganzoo's operator library: op schemas are declared once, in the TORCH_LIBRARY block below; CPU kernels register in
// their own files with TORCH_LIBRARY_IMPL(ganzoo, CPU, m) and CUDA kernels under csrc/cuda/.
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

TORCH_LIBRARY(ganzoo, m) {
  // Schemas of the fused ops are declared here, in one place.
}
