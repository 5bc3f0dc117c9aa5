// The lazy graph: hash-consed nodes (op, dtype, shape, sources, argument). Equal expressions
// built twice are the same node, so the scheduler computes them once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/shape_tracker.h"
#include "kiln/device_runtime.h"
#include "kiln/tensor.h"

namespace kiln::detail {

enum class Op : uint8_t {
  // leaves
  Buffer,  // realized memory (buffer), row-major in `shape`
  Const,   // a scalar (value); shape () — broadcast through View
  Arange,  // shape (n,): value = index
  Var,     // shape (): the current value of a Variable (I32)
  // unary
  Neg, Exp2, Log2, Sin, Sqrt, Recip, Trunc, Not,
  // binary
  Add, Sub, Mul, FDiv, IDiv, Mod, Max, Min, CmpLt, CmpNe, CmpEq, And, Or, Xor, Shl, Shr, Pow,
  // ternary
  Where, MulAdd, Dot4,
  // conversion
  Cast, Bitcast,
  // structure
  Reduce,      // src0 reduced over `axes` (keepdim: reduced axes become 1)
  View,        // src0 seen through `st` (movement ops)
  Gather,      // src0 indexed along `axis` by integer src1 (out shape = src1 shape)
  Contiguous,  // realization boundary
  Copy,        // src0 onto `device`
  Attention,   // softmax(q k^T * scale + mask) v, tiled with an online softmax (src q, k, v)
};

// Arguments of an Attention node (causal/sliding masks relative to the query position).
struct AttentionArgs {
  double scale = 1;
  bool causal = false;
  int64_t window = 0;    // > 0: keys more than window-1 positions back are masked
  int64_t q_offset = 0;  // query i sits at key position q_offset (+ var) + i
  std::optional<Variable> q_offset_var;
  // the Lk key rows are a ring: key position r lives in row r mod Lk (sliding-window caches)
  bool ring = false;
  // src[3], src[4]: key and value rows (B, Hk, Lq, D / Dv) the kernel stores into src[1] /
  // src[2]'s memory at the queries' positions before it reads a key (a decode step's K/V write
  // in its attention kernel; those two are views of realized memory, not a ring)
  bool write_kv = false;
  bool operator==(const AttentionArgs& o) const {
    return scale == o.scale && causal == o.causal && window == o.window && q_offset == o.q_offset &&
           ring == o.ring && write_kv == o.write_kv &&
           q_offset_var.has_value() == o.q_offset_var.has_value() &&
           (!q_offset_var || *q_offset_var == *o.q_offset_var);
  }
};

const char* op_name(Op op);
bool is_unary(Op op);
bool is_binary(Op op);
bool is_ternary(Op op);
inline bool is_alu(Op op) { return is_unary(op) || is_binary(op) || is_ternary(op); }

// Device memory with RAII: freed when the last reference goes.
struct DeviceBuffer {
  Device* device = nullptr;
  kiln_buffer* handle = nullptr;
  size_t bytes = 0;
  DeviceBuffer(Device* d, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};
using BufferRef = std::shared_ptr<DeviceBuffer>;

struct UOp {
  Op op;
  DType dtype;
  Shape shape;
  Device* device;
  // Sources; cleared once the node is realized (it then reads as a Buffer).
  mutable std::vector<UOpRef> src;
  // arguments (by op)
  double const_value = 0;        // Const (floats, and ints that fit a double exactly)
  int64_t const_int = 0;         // Const for integer dtypes (exact)
  ShapeTracker st;               // View
  ReduceOp reduce_op = ReduceOp::Sum;
  std::vector<int> axes;         // Reduce
  int axis = 0;                  // Gather
  std::optional<Variable> var;   // Var
  AttentionArgs attention;       // Attention
  // The node's value once realized (Buffer nodes always have it).
  mutable BufferRef buffer;
  size_t hash = 0;

  bool realized() const { return buffer != nullptr; }
  int64_t numel() const { return shape_numel(shape); }
  std::string str() const;
};

// Interned constructors (identical arguments give the same node).
UOpRef make_buffer_node(BufferRef buffer, DType dtype, const Shape& shape);
UOpRef make_const(double value, DType dtype, Device* device);
UOpRef make_const_int(int64_t value, DType dtype, Device* device);
UOpRef make_arange(int64_t n, DType dtype, Device* device);
UOpRef make_var(const Variable& v, Device* device);
UOpRef make_alu(Op op, DType dtype, std::vector<UOpRef> src);
UOpRef make_cast(Op op, DType dtype, UOpRef src);  // Cast or Bitcast
UOpRef make_reduce(ReduceOp op, UOpRef src, std::vector<int> axes);
UOpRef make_view(UOpRef src, const ShapeTracker& st);  // folds View(View) and no-op views
UOpRef make_gather(UOpRef table, UOpRef index, int axis);
UOpRef make_contiguous(UOpRef src);
UOpRef make_copy(UOpRef src, Device* device);
UOpRef make_attention(UOpRef q, UOpRef k, UOpRef v, const AttentionArgs& args);
// ... that first stores k_new, v_new into k, v's memory (AttentionArgs::write_kv)
UOpRef make_attention_writing(UOpRef q, UOpRef k, UOpRef v, UOpRef k_new, UOpRef v_new,
                              AttentionArgs args);

// The node whose memory an unrealized view reads (its source), else `u` itself: where a store
// into `u` lands (an assign's target, an attention's K/V write).
inline const UOpRef& view_base(const UOpRef& u) {
  return u->op == Op::View && !u->realized() ? u->src[0] : u;
}
// `u` is memory a kernel may store into: realized (or a buffer), or an unpadded view of that
inline bool writable_memory(const UOpRef& u) {
  const UOpRef& b = view_base(u);
  return (b == u || !u->st.has_mask()) && (b->realized() || b->op == Op::Buffer);
}

// Marks `node` realized into `buffer`: it keeps its identity but drops its sources.
void set_realized(const UOpRef& node, BufferRef buffer);

}  // namespace kiln::detail
