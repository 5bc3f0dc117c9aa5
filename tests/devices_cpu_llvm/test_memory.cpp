// Loads, stores, grids, loops and accumulators of the cpu_llvm device.
#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "ir_builder.h"

using kt::Cpu;
using kt::IrBuilder;

TEST_CASE("cpu_llvm: elementwise add over a 1-D grid, f32") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("add_f32");
  int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1), y = b.param(KILN_DTYPE_F32, 2);
  int32_t i = b.gid(0);
  b.store(out, i, b.alu(KILN_IR_ADD, b.load(x, i), b.load(y, i)));
  kiln_program* p = cpu.build(b);
  const size_t n = 1000;
  std::vector<float> xs(n), ys(n);
  for (size_t k = 0; k < n; ++k) xs[k] = float(k) * 0.5f, ys[k] = 3.0f - float(k);
  auto* bo = cpu.alloc(n * 4);
  auto* bx = cpu.upload(xs);
  auto* by = cpu.upload(ys);
  cpu.run(p, {bo, bx, by}, {}, n);
  auto r = cpu.download<float>(bo, n);
  for (size_t k = 0; k < n; ++k) REQUIRE(r[k] == xs[k] + ys[k]);
  cpu.free(bo), cpu.free(bx), cpu.free(by);
  cpu.api().unload(cpu.dev(), p);
}

TEST_CASE("cpu_llvm: row sums with ACC + RANGE, f32", "[reduce]") {
  Cpu& cpu = Cpu::get();
  IrBuilder b("rowsum");
  int32_t out = b.param(KILN_DTYPE_F32, 0), x = b.param(KILN_DTYPE_F32, 1);
  int32_t row = b.gid(0);
  int32_t K = b.ci(KILN_DTYPE_I32, 256);
  int32_t base = b.alu(KILN_IR_MUL, row, K);
  int32_t acc = b.acc(b.cf(KILN_DTYPE_F32, 0.0));
  int32_t j = b.range(b.ci(KILN_DTYPE_I32, 0), K, KILN_IR_FLAG_REDUCE);
  int32_t v = b.load(x, b.alu(KILN_IR_ADD, base, j));
  b.assign(acc, b.alu(KILN_IR_ADD, acc, v));
  b.end_range(j);
  b.store(out, row, acc);
  kiln_program* p = cpu.build(b);
  const size_t rows = 64, k = 256;
  std::vector<float> xs(rows * k);
  for (size_t q = 0; q < xs.size(); ++q) xs[q] = float(q % 17) - 8.0f;
  auto* bo = cpu.alloc(rows * 4);
  auto* bx = cpu.upload(xs);
  cpu.run(p, {bo, bx}, {}, rows);
  auto r = cpu.download<float>(bo, rows);
  for (size_t q = 0; q < rows; ++q) {
    double s = 0;
    for (size_t c = 0; c < k; ++c) s += xs[q * k + c];
    REQUIRE(r[q] == Approx(s).margin(1e-3));
  }
  cpu.free(bo), cpu.free(bx);
  cpu.api().unload(cpu.dev(), p);
}
