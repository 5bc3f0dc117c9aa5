#include "render_llvm.h"

#include "errors.h"
#include "ir_dump.h"
#include "kernel_abi.h"
#include "render_emitter.h"

namespace kiln::cpu {

std::string kernel_symbol(const std::string& name) { return "kiln_kernel." + name; }

std::string render_llvm(const kiln_kernel& k) {
  // LOCAL lives on the calling thread's stack (1 MiB at most); no warps on a CPU.
  static const CheckTarget cpu{"cpu_llvm", 1u << 20, 1, false};
  KernelSummary summary = check_kernel(k, cpu);
  return Emitter(k, summary).render();
}

Emitter::Emitter(const kiln_kernel& k, const KernelSummary& summary)
    : k_(k), sum_(summary), vals_(k.n_insts), reduce_update_(k.n_insts, false) {
  // An ADD/MUL/MULADD whose result is assigned back to an ACC it reads is a reduction step:
  // it may be reassociated so the loop vectorizer can keep partial sums per lane.
  for (uint32_t i = 0; i < k.n_insts; ++i) {
    const kiln_ir_inst& in = k.insts[i];
    if (in.op != KILN_IR_ASSIGN) continue;
    const kiln_ir_inst& v = k.insts[in.src[1]];
    if (v.op != KILN_IR_ADD && v.op != KILN_IR_MUL && v.op != KILN_IR_MULADD) continue;
    for (int j = 0; j < KILN_IR_MAX_SRC; ++j)
      if (v.src[j] == in.src[0]) reduce_update_[in.src[1]] = true;
  }
}

std::string Emitter::tmp() { return "%t" + std::to_string(next_tmp_++); }

void Emitter::emit(const std::string& line) { body_ += "  " + line + "\n"; }

std::string Emitter::def(const std::string& rhs) {
  std::string name = tmp();
  emit(name + " = " + rhs);
  return name;
}

void Emitter::declare(const std::string& declaration) { decls_.insert(declaration); }

void Emitter::start_block(const std::string& label) {
  body_ += label + ":\n";
  cur_block_ = label;
}

Val Emitter::intrinsic(const std::string& name, const std::vector<Val>& args, const Val& like) {
  const std::string type = like.type();
  const std::string fn = "@llvm." + name + "." + llvm_mangle(llvm_reg_scalar(like.dt), like.lanes);
  std::string params, call_args;
  for (size_t i = 0; i < args.size(); ++i) {
    params += (i ? ", " : "") + type;
    call_args += cat(i ? ", " : "", args[i].typed());
  }
  declare("declare " + type + " " + fn + "(" + params + ")");
  return {def("call " + type + " " + fn + "(" + call_args + ")"), like.dt, like.lanes};
}

Val Emitter::operand(int32_t idx, unsigned lanes) {
  const kiln_ir_inst& in = k_.insts[idx];
  Val v{vals_[idx], static_cast<kiln_dtype>(in.dtype), lanes_of(in)};
  if (in.op == KILN_IR_ACC) v.text = def("load " + v.type() + ", ptr " + vals_[idx]);
  return broadcast(v, lanes);
}

Val Emitter::broadcast(const Val& v, unsigned lanes) {
  if (v.lanes == lanes || lanes <= 1) return v;
  if (v.text[0] != '%') return {splat_text(llvm_reg_scalar(v.dt), v.text, lanes), v.dt, lanes};
  const std::string vt = llvm_reg(v.dt, lanes);
  std::string one = def("insertelement " + vt + " poison, " + v.typed() + ", i64 0");
  std::string all = def("shufflevector " + vt + " " + one + ", " + vt + " poison, <" +
                        std::to_string(lanes) + " x i32> zeroinitializer");
  return {all, v.dt, lanes};
}

std::string Emitter::splat_text(const std::string& scalar_type, const std::string& scalar,
                                unsigned lanes) {
  if (lanes <= 1) return scalar;
  std::string s = "<";
  for (unsigned i = 0; i < lanes; ++i) s += (i ? ", " : "") + scalar_type + " " + scalar;
  return s + ">";
}

Val Emitter::splat_int(kiln_dtype dt, int64_t v, unsigned lanes) {
  kiln_ir_imm imm;
  imm.i = v;
  return {splat_text(llvm_reg_scalar(dt), literal(dt, imm), lanes), dt, lanes};
}

Val Emitter::splat_float(kiln_dtype dt, double v, unsigned lanes) {
  kiln_ir_imm imm;
  imm.f = v;
  return {splat_text(llvm_reg_scalar(dt), literal(dt, imm), lanes), dt, lanes};
}

unsigned Emitter::alignment(const kiln_ir_inst& in, kiln_dtype dt, unsigned lanes) const {
  const unsigned elem = dtype_bytes(dt);
  const unsigned whole = elem * lanes;
  // Buffers and LOCAL arrays are 64-byte aligned, so an index that is a multiple of vcount
  // makes the whole vector naturally aligned.
  if ((in.flags & KILN_IR_FLAG_ALIGNED) && lanes > 1 && (whole & (whole - 1)) == 0 && whole <= 64)
    return whole;
  return elem;
}

std::string Emitter::address(const Val& base, int32_t index_src, kiln_dtype dt, bool inbounds) {
  Val ix = operand(index_src, 1);
  std::string i64 = ix.text;
  if (ix.dt != KILN_DTYPE_I64 && ix.dt != KILN_DTYPE_U64)
    i64 = def(std::string(is_signed_int(ix.dt) ? "sext " : "zext ") + ix.typed() + " to i64");
  // Gated accesses may compute an out-of-range address that is never touched: no inbounds.
  return def(std::string("getelementptr ") + (inbounds ? "inbounds " : "") + llvm_mem_scalar(dt) +
             ", ptr " + base.text + ", i64 " + i64);
}

void Emitter::emit_definition(uint32_t i) {
  const kiln_ir_inst& in = k_.insts[i];
  const auto t = static_cast<kiln_dtype>(in.dtype);
  const std::string n = std::to_string(i);
  switch (in.op) {
    case KILN_IR_PARAM:
      vals_[i] = "%p" + std::to_string(in.arg);
      break;
    case KILN_IR_VAR:
      if (t == KILN_DTYPE_I64) {
        vals_[i] = "%var" + std::to_string(in.arg);
      } else {
        vals_[i] = "%v" + n;
        prologue_ += "  %v" + n + " = trunc i64 %var" + std::to_string(in.arg) + " to i32\n";
      }
      break;
    case KILN_IR_LOCAL:
      vals_[i] = "%v" + n;
      prologue_ += "  %v" + n + " = alloca [" + std::to_string(in.arg) + " x " +
                   llvm_mem_scalar(t) + "], align 64\n";
      break;
    case KILN_IR_SPECIAL: {
      static const char* const axis[] = {"x", "y", "z"};
      if (in.arg >= 3) {
        vals_[i] = "0";  // one thread per group: local ids are always 0
      } else {
        vals_[i] = std::string(t == KILN_DTYPE_I64 ? "%gid." : "%gid32.") + axis[in.arg];
      }
      break;
    }
    case KILN_IR_CONST: {
      std::string scalar = literal(t, in.imm);
      vals_[i] = splat_text(llvm_reg_scalar(t), scalar, lanes_of(in));
      break;
    }
    default:
      break;
  }
}

void Emitter::emit_range(uint32_t i) {
  const kiln_ir_inst& in = k_.insts[i];
  const auto t = static_cast<kiln_dtype>(in.dtype);
  const std::string type = llvm_reg_scalar(t);
  const std::string r = "%r" + std::to_string(i);
  const std::string label = "r" + std::to_string(i);
  Val start = operand(in.src[0], 1);
  Val end = operand(in.src[1], 1);
  const std::string pred = cur_block_;
  emit("br label %" + label + ".head");
  start_block(label + ".head");
  vals_[i] = "%v" + std::to_string(i);
  emit(vals_[i] + " = phi " + type + " [ " + start.text + ", %" + pred + " ], [ " + vals_[i] +
       ".next, %" + label + ".latch ]");
  emit(r + ".c = icmp " + (is_signed_int(t) ? "slt " : "ult ") + type + " " + vals_[i] + ", " +
       end.text);
  emit("br i1 " + r + ".c, label %" + label + ".body, label %" + label + ".exit");
  start_block(label + ".body");
}

void Emitter::emit_endrange(uint32_t i) {
  const uint32_t j = uint32_t(k_.insts[i].src[0]);
  const kiln_ir_inst& range = k_.insts[j];
  const auto t = static_cast<kiln_dtype>(range.dtype);
  const std::string label = "r" + std::to_string(j);
  const std::string v = vals_[j];
  emit("br label %" + label + ".latch");
  start_block(label + ".latch");
  // i < end <= max of the type, so i + 1 cannot wrap.
  emit(v + ".next = add " + (is_signed_int(t) ? "nsw " : "nuw ") + llvm_reg_scalar(t) + " " + v +
       ", 1");
  std::string md;
  if (range.flags & KILN_IR_FLAG_UNROLL) {
    const std::string id = std::to_string(loop_md_.size() * 2);
    const std::string opt = std::to_string(loop_md_.size() * 2 + 1);
    loop_md_.push_back("!" + id + " = distinct !{!" + id + ", !" + opt + "}\n!" + opt +
                       " = !{!\"llvm.loop.unroll.full\"}\n");
    md = ", !llvm.loop !" + id;
  }
  emit("br label %" + label + ".head" + md);
  start_block(label + ".exit");
}

void Emitter::emit_load(uint32_t i) {
  const kiln_ir_inst& in = k_.insts[i];
  const auto t = static_cast<kiln_dtype>(in.dtype);
  const unsigned lanes = lanes_of(in);
  const Val base{vals_[in.src[0]], t, 1};
  const std::string mem = llvm_mem(t, lanes);
  const std::string align = std::to_string(alignment(in, t, lanes));
  const Val zero = is_float(t) && t != KILN_DTYPE_BF16 ? splat_float(t, 0.0, lanes)
                                                       : splat_int(t, 0, lanes);
  auto from_mem = [&](const std::string& raw) {
    if (t != KILN_DTYPE_BOOL) return raw;
    return def("icmp ne " + mem + " " + raw + ", zeroinitializer");
  };
  if (in.src[2] < 0) {
    std::string addr = address(base, in.src[1], t, true);
    vals_[i] = from_mem(def("load " + mem + ", ptr " + addr + ", align " + align));
    return;
  }
  const Val alt = in.src[3] >= 0 ? operand(in.src[3], lanes) : zero;
  const Val gate = operand(in.src[2], lanes_of(k_.insts[in.src[2]]));
  if (gate.lanes == 1) {
    // The address is computed and touched only when the gate holds.
    const std::string label = "ld" + std::to_string(i);
    const std::string pred = cur_block_;
    emit("br i1 " + gate.text + ", label %" + label + ".do, label %" + label + ".join");
    start_block(label + ".do");
    std::string addr = address(base, in.src[1], t, false);
    std::string v = from_mem(def("load " + mem + ", ptr " + addr + ", align " + align));
    emit("br label %" + label + ".join");
    start_block(label + ".join");
    vals_[i] = def("phi " + llvm_reg(t, lanes) + " [ " + v + ", %" + label + ".do ], [ " +
                   alt.text + ", %" + pred + " ]");
    return;
  }
  // One gate per lane: a masked load touches only the enabled lanes.
  std::string addr = address(base, in.src[1], t, false);
  std::string pass = alt.text;
  if (t == KILN_DTYPE_BOOL) pass = def("zext " + alt.typed() + " to " + mem);
  const std::string fn = "@llvm.masked.load." + llvm_mangle(llvm_mem_scalar(t), lanes) + ".p0";
  const std::string mask = "<" + std::to_string(lanes) + " x i1>";
  declare("declare " + mem + " " + fn + "(ptr, i32, " + mask + ", " + mem + ")");
  vals_[i] = from_mem(def("call " + mem + " " + fn + "(ptr " + addr + ", i32 " + align + ", " +
                          mask + " " + gate.text + ", " + mem + " " + pass + ")"));
}

void Emitter::emit_store(uint32_t i) {
  const kiln_ir_inst& in = k_.insts[i];
  const kiln_ir_inst& buf = k_.insts[in.src[0]];
  const auto t = static_cast<kiln_dtype>(buf.dtype);
  const unsigned lanes = lanes_of(in);
  const Val base{vals_[in.src[0]], t, 1};
  const std::string mem = llvm_mem(t, lanes);
  const std::string align = std::to_string(alignment(in, t, lanes));
  Val value = operand(in.src[2], lanes);
  std::string raw = value.text;
  if (t == KILN_DTYPE_BOOL) raw = def("zext " + value.typed() + " to " + mem);
  if (in.src[3] < 0) {
    std::string addr = address(base, in.src[1], t, true);
    emit("store " + mem + " " + raw + ", ptr " + addr + ", align " + align);
    return;
  }
  const Val gate = operand(in.src[3], lanes_of(k_.insts[in.src[3]]));
  if (gate.lanes == 1) {
    const std::string label = "st" + std::to_string(i);
    emit("br i1 " + gate.text + ", label %" + label + ".do, label %" + label + ".join");
    start_block(label + ".do");
    std::string addr = address(base, in.src[1], t, false);
    emit("store " + mem + " " + raw + ", ptr " + addr + ", align " + align);
    emit("br label %" + label + ".join");
    start_block(label + ".join");
    return;
  }
  std::string addr = address(base, in.src[1], t, false);
  const std::string fn = "@llvm.masked.store." + llvm_mangle(llvm_mem_scalar(t), lanes) + ".p0";
  const std::string mask = "<" + std::to_string(lanes) + " x i1>";
  declare("declare void " + fn + "(" + mem + ", ptr, i32, " + mask + ")");
  emit("call void " + fn + "(" + mem + " " + raw + ", ptr " + addr + ", i32 " + align + ", " +
       mask + " " + gate.text + ")");
}

void Emitter::emit_inst(uint32_t i) {
  const kiln_ir_inst& in = k_.insts[i];
  cur_inst_ = i;
  body_ += "  ; " + dump_inst(k_, i) + "\n";
  const std::string n = std::to_string(i);
  switch (in.op) {
    case KILN_IR_NOP:
    case KILN_IR_BARRIER:  // one thread per group: nothing to wait for
      return;
    case KILN_IR_PARAM: case KILN_IR_VAR: case KILN_IR_LOCAL: case KILN_IR_SPECIAL:
    case KILN_IR_CONST:
      emit_definition(i);
      return;
    case KILN_IR_ACC: {
      const std::string type = llvm_reg(static_cast<kiln_dtype>(in.dtype), lanes_of(in));
      vals_[i] = "%acc" + n;
      prologue_ += "  %acc" + n + " = alloca " + type + "\n";
      Val init = operand(in.src[0], lanes_of(in));
      emit("store " + init.typed() + ", ptr %acc" + n);
      return;
    }
    case KILN_IR_ASSIGN: {
      const kiln_ir_inst& acc = k_.insts[in.src[0]];
      Val v = operand(in.src[1], lanes_of(acc));
      emit("store " + v.typed() + ", ptr " + vals_[in.src[0]]);
      return;
    }
    case KILN_IR_RANGE: emit_range(i); return;
    case KILN_IR_ENDRANGE: emit_endrange(i); return;
    case KILN_IR_IF: {
      Val c = operand(in.src[0], 1);
      emit("br i1 " + c.text + ", label %if" + n + ".then, label %if" + n + ".end");
      start_block("if" + n + ".then");
      return;
    }
    case KILN_IR_ENDIF: {
      const std::string j = std::to_string(in.src[0]);
      emit("br label %if" + j + ".end");
      start_block("if" + j + ".end");
      return;
    }
    case KILN_IR_LOAD: emit_load(i); return;
    case KILN_IR_STORE: emit_store(i); return;
    case KILN_IR_VECTORIZE: {
      const auto t = static_cast<kiln_dtype>(in.dtype);
      const unsigned lanes = lanes_of(in);
      std::string acc = "poison";
      for (unsigned j = 0; j < lanes; ++j) {
        Val lane = operand(k_.operands[in.src[0] + j], 1);
        acc = def("insertelement " + llvm_reg(t, lanes) + " " + acc + ", " + lane.typed() +
                  ", i32 " + std::to_string(j));
      }
      vals_[i] = acc;
      return;
    }
    case KILN_IR_GEP: {
      Val v = operand(in.src[0], lanes_of(k_.insts[in.src[0]]));
      vals_[i] = def("extractelement " + v.typed() + ", i32 " + std::to_string(in.arg));
      return;
    }
    default:
      vals_[i] = alu(in, i).text;
      return;
  }
}

std::string Emitter::info_text() {
  const std::string name = k_.name;
  std::vector<int64_t> info = {kInfoMagic, kKernelAbiVersion, int64_t(k_.n_params),
                               int64_t(k_.n_vars), int64_t(sum_.work_per_group)};
  for (uint8_t f : sum_.param_flags) info.push_back(f);
  for (int64_t v : sum_.var_min) info.push_back(v);
  for (int64_t v : sum_.var_max) info.push_back(v);
  std::string s = "@" + info_symbol(name) + " = constant [" + std::to_string(info.size()) +
                  " x i64] [";
  for (size_t i = 0; i < info.size(); ++i) s += (i ? ", i64 " : "i64 ") + std::to_string(info[i]);
  return s + "]\n";
}

std::string Emitter::function_text() {
  const std::string name = k_.name;
  std::string params;
  for (uint32_t p = 0; p < k_.n_params; ++p)
    params += "ptr noalias nocapture align 64 %p" + std::to_string(p) + ", ";
  for (uint32_t v = 0; v < k_.n_vars; ++v) params += "i64 %var" + std::to_string(v) + ", ";
  std::string s = "define internal void @kiln_body." + name + "(" + params +
                  "i64 %begin, i64 %end, i64 %gx, i64 %gy) #0 {\nentry:\n" + prologue_;
  // Group coordinates of `begin`; afterwards they advance with carries, no division per group.
  s += "  %gq = udiv i64 %begin, %gx\n"
       "  %x0 = urem i64 %begin, %gx\n"
       "  %y0 = urem i64 %gq, %gy\n"
       "  %z0 = udiv i64 %gq, %gy\n"
       "  %nonempty = icmp ult i64 %begin, %end\n"
       "  br i1 %nonempty, label %group, label %exit\n"
       "group:\n"
       "  %g = phi i64 [ %begin, %entry ], [ %g.next, %group.next ]\n"
       "  %gid.x = phi i64 [ %x0, %entry ], [ %x.next, %group.next ]\n"
       "  %gid.y = phi i64 [ %y0, %entry ], [ %y.next, %group.next ]\n"
       "  %gid.z = phi i64 [ %z0, %entry ], [ %z.next, %group.next ]\n"
       "  %gid32.x = trunc i64 %gid.x to i32\n"
       "  %gid32.y = trunc i64 %gid.y to i32\n"
       "  %gid32.z = trunc i64 %gid.z to i32\n";
  s += body_;
  s += "  br label %group.next\n"
       "group.next:\n"
       "  %g.next = add nuw i64 %g, 1\n"
       "  %x.inc = add nuw i64 %gid.x, 1\n"
       "  %x.wrap = icmp eq i64 %x.inc, %gx\n"
       "  %x.next = select i1 %x.wrap, i64 0, i64 %x.inc\n"
       "  %y.inc = add nuw i64 %gid.y, 1\n"
       "  %y.step = select i1 %x.wrap, i64 %y.inc, i64 %gid.y\n"
       "  %y.wrap = icmp eq i64 %y.step, %gy\n"
       "  %y.next = select i1 %y.wrap, i64 0, i64 %y.step\n"
       "  %z.inc = add nuw i64 %gid.z, 1\n"
       "  %z.next = select i1 %y.wrap, i64 %z.inc, i64 %gid.z\n"
       "  %more = icmp ult i64 %g.next, %end\n"
       "  br i1 %more, label %group, label %exit\n"
       "exit:\n"
       "  ret void\n}\n";
  return s;
}

std::string Emitter::wrapper_text() {
  const std::string name = k_.name;
  std::string s = "define void @" + kernel_symbol(name) +
                  "(ptr nocapture readonly %bufs, ptr nocapture readonly %vars, i64 %begin, "
                  "i64 %end, i64 %gx, i64 %gy) #1 {\nentry:\n";
  std::string args;
  for (uint32_t p = 0; p < k_.n_params; ++p) {
    const std::string n = std::to_string(p);
    s += "  %bp" + n + " = getelementptr inbounds ptr, ptr %bufs, i64 " + n + "\n";
    s += "  %b" + n + " = load ptr, ptr %bp" + n + ", align 8\n";
    args += "ptr %b" + n + ", ";
  }
  for (uint32_t v = 0; v < k_.n_vars; ++v) {
    const std::string n = std::to_string(v);
    s += "  %vp" + n + " = getelementptr inbounds i64, ptr %vars, i64 " + n + "\n";
    s += "  %var" + n + " = load i64, ptr %vp" + n + ", align 8\n";
    args += "i64 %var" + n + ", ";
  }
  s += "  call void @kiln_body." + name + "(" + args +
       "i64 %begin, i64 %end, i64 %gx, i64 %gy)\n  ret void\n}\n";
  return s;
}

std::string Emitter::render() {
  cur_block_ = "group";
  for (uint32_t i = 0; i < k_.n_insts; ++i) emit_inst(i);

  std::string out = "; Kiln kernel rendered by the cpu_llvm device plugin\n";
  std::string listing = dump_kernel(k_);
  size_t start = 0;
  while (start < listing.size()) {
    size_t nl = listing.find('\n', start);
    out += "; " + listing.substr(start, nl - start) + "\n";
    start = nl == std::string::npos ? listing.size() : nl + 1;
  }
  out += "\n" + info_text() + "\n" + function_text() + "\n" + wrapper_text() + "\n";
  for (const auto& d : decls_) out += d + "\n";
  out += "\nattributes #0 = { nounwind nosync nofree mustprogress willreturn }\n";
  out += "attributes #1 = { nounwind }\n";
  for (const auto& md : loop_md_) out += md;
  return out;
}

}  // namespace kiln::cpu
