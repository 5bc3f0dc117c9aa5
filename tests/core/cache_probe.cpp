// Runs a small fixed program and prints how many kernels it compiled and loaded from disk.
#include <cstdio>

#include "kiln/device_runtime.h"
#include "kiln/nn.h"
#include "kiln/tensor.h"

int main() {
  using namespace kiln;
  Tensor x = Tensor::arange(0, 64, 1).reshape({8, 8});
  Tensor y = (nn::rms_norm(x, Tensor(), 1e-5).matmul(x) + 1.0).softmax(-1);
  y.realize();
  auto s = runtime_stats();
  std::printf("compiled=%llu from_disk=%llu\n", static_cast<unsigned long long>(s.kernels_compiled),
              static_cast<unsigned long long>(s.kernels_from_disk));
  return 0;
}
