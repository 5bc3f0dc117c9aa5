// DOT4 (kernel_ir.h): per i32 lane, acc + the dot product of four unsigned bytes with four
// signed ones. Where the host has VNNI this is one VPDPBUSD per 4, 8 or 16 lanes (the
// instruction wraps like DOT4; its saturating twin is VPDPBUSDS); elsewhere the bytes are
// widened to i32 and each lane's four products summed exactly (PMADDUBSW would saturate).
#include "llvm_backend.h"
#include "render_emitter.h"
#include "text_cat.h"

namespace kiln::cpu {

namespace {

// The VPDPBUSD width LLVM can select for `lanes` i32 lanes on this host, 0 for none.
unsigned vnni_bits(unsigned lanes) {
  const HostInfo& h = host_info();
  const unsigned bits = lanes * 32;
  if (bits == 512) return h.vnni_512 ? 512 : 0;
  if (bits == 256 || bits == 128) return h.vnni_256 ? bits : 0;
  return 0;
}

}  // namespace

Val Emitter::dot4(const kiln_ir_inst& in) {
  const unsigned lanes = lanes_of(in);
  Val a = operand(in.src[0], lanes), b = operand(in.src[1], lanes), c = operand(in.src[2], lanes);
  const std::string vt = llvm_reg(KILN_DTYPE_I32, lanes);
  if (const unsigned bits = vnni_bits(lanes)) {
    const std::string fn = "@llvm.x86.avx512.vpdpbusd." + std::to_string(bits);
    declare("declare " + vt + " " + fn + "(" + vt + ", " + vt + ", " + vt + ")");
    return {def("call " + vt + " " + fn + "(" + c.typed() + ", " + a.typed() + ", " + b.typed() + ")"),
            KILN_DTYPE_I32, lanes};
  }
  const unsigned n = 4 * lanes;
  const std::string bytes = llvm_vec("i8", n), wide = llvm_vec("i32", n);
  std::string ua = def("bitcast " + a.typed() + " to " + bytes);
  std::string sb = def("bitcast " + b.typed() + " to " + bytes);
  std::string za = def("zext " + bytes + " " + ua + " to " + wide);
  std::string xb = def("sext " + bytes + " " + sb + " to " + wide);
  std::string prod = def("mul " + wide + " " + za + ", " + xb);
  // lane j sums products 4j .. 4j+3: four strided shuffles added together
  std::string sum;
  for (unsigned k = 0; k < 4; ++k) {
    std::string mask;
    for (unsigned j = 0; j < lanes; ++j) mask += cat(j ? ", " : "", "i32 ", std::to_string(4 * j + k));
    std::string part = lanes == 1
                           ? def("extractelement " + wide + " " + prod + ", i32 " + std::to_string(k))
                           : def("shufflevector " + wide + " " + prod + ", " + wide + " poison, <" +
                                 std::to_string(lanes) + " x i32> <" + mask + ">");
    sum = sum.empty() ? part : def("add " + vt + " " + sum + ", " + part);
  }
  return {def("add " + vt + " " + sum + ", " + c.text), KILN_DTYPE_I32, lanes};
}

}  // namespace kiln::cpu
