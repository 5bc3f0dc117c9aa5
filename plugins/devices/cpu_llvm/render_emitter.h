// The LLVM IR text emitter behind render_llvm(): one instance renders one checked kernel.
// render_llvm.cpp holds the module skeleton, control flow and memory; render_alu.cpp the ALU
// ops; render_cast.cpp conversions, the half/bf16 helpers and literals.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "dtype_info.h"
#include "ir_check.h"
#include "kiln/kernel_ir.h"

namespace kiln::cpu {

// A value in LLVM text: its operand spelling ("%v7", "%t3", a literal) and kiln type.
struct Val {
  std::string text;
  kiln_dtype dt = KILN_DTYPE_VOID;
  unsigned lanes = 1;
  std::string type() const { return llvm_reg(dt, lanes); }
  std::string typed() const { return type() + " " + text; }  // "float %v3"
};

class Emitter {
 public:
  Emitter(const kiln_kernel& k, const KernelSummary& summary);
  std::string render();

  // ---- used by the op files ----
  std::string tmp();                            // a fresh SSA name
  void emit(const std::string& line);           // one instruction into the current block
  std::string def(const std::string& rhs);      // emit "%tN = rhs", return "%tN"
  void declare(const std::string& declaration); // a "declare ..." line, once
  // Calls an overloaded intrinsic "llvm.NAME.<mangled type>" on values of one type.
  Val intrinsic(const std::string& name, const std::vector<Val>& args, const Val& like);

  // Source `idx` of the kernel as a value, broadcast to `lanes` when it is scalar.
  Val operand(int32_t idx, unsigned lanes);
  Val broadcast(const Val& v, unsigned lanes);
  // A literal of every lane equal: scalar spelling in, "<4 x T> <T x, ...>" text out.
  static std::string splat_text(const std::string& scalar_type, const std::string& scalar,
                                unsigned lanes);
  Val splat_int(kiln_dtype dt, int64_t v, unsigned lanes);
  Val splat_float(kiln_dtype dt, double v, unsigned lanes);

  // Half types: f16/bf16 values widened to f32 for arithmetic and rounded back after it.
  Val widen(const Val& v);                       // f16/bf16 -> f32; others unchanged
  Val narrow(const Val& f32, kiln_dtype to);     // f32 -> f16/bf16 (ties to even)
  Val cast(const Val& v, kiln_dtype to);         // CAST semantics of kernel_ir.h
  Val bitcast(const Val& v, kiln_dtype to);

  // The ALU: one instruction's result (render_alu.cpp).
  Val alu(const kiln_ir_inst& in, uint32_t index);
  // DOT4: VPDPBUSD where the host has VNNI (render_dot4.cpp).
  Val dot4(const kiln_ir_inst& in);

  static std::string literal(kiln_dtype dt, const kiln_ir_imm& imm);  // scalar spelling

 private:
  // render_llvm.cpp
  void emit_inst(uint32_t i);
  void emit_definition(uint32_t i);
  void emit_load(uint32_t i);
  void emit_store(uint32_t i);
  void emit_range(uint32_t i);
  void emit_endrange(uint32_t i);
  std::string address(const Val& base, int32_t index_src, kiln_dtype dt, bool inbounds);
  unsigned alignment(const kiln_ir_inst& in, kiln_dtype dt, unsigned lanes) const;
  void start_block(const std::string& label);
  std::string function_text();
  std::string wrapper_text();
  std::string info_text();

  // render_cast.cpp
  Val round_to_odd_f32(const Val& f64);
  Val int_cast(const Val& v, kiln_dtype to);

  const kiln_kernel& k_;
  const KernelSummary& sum_;
  std::vector<std::string> vals_;   // operand spelling of each instruction's result
  std::vector<bool> reduce_update_; // ADD/MUL feeding an ASSIGN to the ACC it reads
  std::string prologue_;            // entry block: allocas, VAR truncations
  std::string body_;                // the group loop's body
  std::string cur_block_;           // label of the block being filled
  std::set<std::string> decls_;
  std::vector<std::string> loop_md_;  // loop metadata nodes
  unsigned next_tmp_ = 0;
  uint32_t cur_inst_ = 0;
};

}  // namespace kiln::cpu
