#include "graph/uop.h"

#include <cstring>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "kiln/error.h"
#include "runtime/capture.h"

namespace kiln::detail {

const char* op_name(Op op) {
  switch (op) {
    case Op::Buffer: return "BUFFER";
    case Op::Const: return "CONST";
    case Op::Arange: return "ARANGE";
    case Op::Var: return "VAR";
    case Op::Neg: return "NEG";
    case Op::Exp2: return "EXP2";
    case Op::Log2: return "LOG2";
    case Op::Sin: return "SIN";
    case Op::Sqrt: return "SQRT";
    case Op::Recip: return "RECIP";
    case Op::Trunc: return "TRUNC";
    case Op::Not: return "NOT";
    case Op::Add: return "ADD";
    case Op::Sub: return "SUB";
    case Op::Mul: return "MUL";
    case Op::FDiv: return "FDIV";
    case Op::IDiv: return "IDIV";
    case Op::Mod: return "MOD";
    case Op::Max: return "MAX";
    case Op::Min: return "MIN";
    case Op::CmpLt: return "CMPLT";
    case Op::CmpNe: return "CMPNE";
    case Op::CmpEq: return "CMPEQ";
    case Op::And: return "AND";
    case Op::Or: return "OR";
    case Op::Xor: return "XOR";
    case Op::Shl: return "SHL";
    case Op::Shr: return "SHR";
    case Op::Pow: return "POW";
    case Op::Where: return "WHERE";
    case Op::MulAdd: return "MULADD";
    case Op::Dot4: return "DOT4";
    case Op::Cast: return "CAST";
    case Op::Bitcast: return "BITCAST";
    case Op::Reduce: return "REDUCE";
    case Op::View: return "VIEW";
    case Op::Gather: return "GATHER";
    case Op::Contiguous: return "CONTIGUOUS";
    case Op::Copy: return "COPY";
    case Op::Attention: return "ATTENTION";
  }
  return "?";
}

bool is_unary(Op op) { return op >= Op::Neg && op <= Op::Not; }
bool is_binary(Op op) { return op >= Op::Add && op <= Op::Pow; }
bool is_ternary(Op op) { return op == Op::Where || op == Op::MulAdd || op == Op::Dot4; }

DeviceBuffer::DeviceBuffer(Device* d, size_t nbytes) : device(d), bytes(nbytes) {
  if (CaptureRecorder* rec = active_recorder()) rec->allocated.push_back(this);
  char err[512] = {0};
  // zero-size tensors still get a (1-byte) allocation so every buffer has a handle
  kiln_status st = d->api().alloc(d->handle(), nbytes ? nbytes : 1, &handle, {err, sizeof err});
  if (st != KILN_OK) {
    throw Error("device " + d->spec() + ": cannot allocate " + std::to_string(nbytes) +
                " bytes: " + err);
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (handle) device->api().free(device->handle(), handle);
}

std::string UOp::str() const {
  std::ostringstream os;
  os << op_name(op) << ":" << dtype_name(dtype) << shape_str(shape);
  if (op == Op::Const) os << "=" << (is_float(dtype) ? const_value : double(const_int));
  if (op == Op::View) os << " " << st.str();
  if (op == Op::Reduce) {
    os << " axes=(";
    for (size_t i = 0; i < axes.size(); ++i) os << (i ? "," : "") << axes[i];
    os << ")";
  }
  return os.str();
}

namespace {

size_t mix(size_t h, size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)); }

size_t compute_hash(const UOp& u) {
  size_t h = mix(static_cast<size_t>(u.op), static_cast<size_t>(u.dtype));
  for (auto s : u.shape) h = mix(h, static_cast<size_t>(s));
  h = mix(h, reinterpret_cast<size_t>(u.device));
  for (const auto& s : u.src) h = mix(h, reinterpret_cast<size_t>(s.get()));
  uint64_t bits;
  std::memcpy(&bits, &u.const_value, 8);
  h = mix(h, bits);
  h = mix(h, static_cast<size_t>(u.const_int));
  if (u.op == Op::View) h = mix(h, u.st.hash());
  h = mix(h, static_cast<size_t>(u.reduce_op));
  for (auto a : u.axes) h = mix(h, static_cast<size_t>(a));
  h = mix(h, static_cast<size_t>(u.axis));
  if (u.var) h = mix(h, static_cast<size_t>(u.var->id()));
  h = mix(h, reinterpret_cast<size_t>(u.buffer.get()));
  if (u.op == Op::Attention) {
    std::memcpy(&bits, &u.attention.scale, 8);
    h = mix(mix(mix(h, bits), static_cast<size_t>(u.attention.window)),
            static_cast<size_t>(u.attention.q_offset) * 8 + u.attention.write_kv * 4 +
                u.attention.causal * 2 + u.attention.ring);
    if (u.attention.q_offset_var) h = mix(h, static_cast<size_t>(u.attention.q_offset_var->id()));
  }
  return h;
}

bool same(const UOp& a, const UOp& b) {
  if (a.op != b.op || a.dtype != b.dtype || a.shape != b.shape || a.device != b.device) return false;
  if (a.src.size() != b.src.size()) return false;
  for (size_t i = 0; i < a.src.size(); ++i)
    if (a.src[i] != b.src[i]) return false;
  if (std::memcmp(&a.const_value, &b.const_value, 8) != 0 || a.const_int != b.const_int)
    return false;
  if (a.op == Op::View && !(a.st == b.st)) return false;
  if (a.reduce_op != b.reduce_op || a.axes != b.axes || a.axis != b.axis) return false;
  if (a.var.has_value() != b.var.has_value() || (a.var && !(*a.var == *b.var))) return false;
  if (a.op == Op::Attention && !(a.attention == b.attention)) return false;
  return a.buffer == b.buffer;
}

struct InternTable {
  std::mutex mu;
  std::unordered_multimap<size_t, std::weak_ptr<const UOp>> map;
  size_t inserts = 0;

  UOpRef intern(UOp&& node) {
    node.hash = compute_hash(node);
    std::lock_guard<std::mutex> lock(mu);
    auto range = map.equal_range(node.hash);
    for (auto it = range.first; it != range.second; ++it) {
      if (auto existing = it->second.lock()) {
        if (!existing->realized() && same(*existing, node)) return existing;
      }
    }
    auto fresh = std::make_shared<const UOp>(std::move(node));
    map.emplace(fresh->hash, fresh);
    if (++inserts % 4096 == 0) {
      for (auto it = map.begin(); it != map.end();) {
        it = it->second.expired() ? map.erase(it) : std::next(it);
      }
    }
    return fresh;
  }
};

InternTable& table() {
  static InternTable* t = new InternTable();  // lives for the process (nodes may outlive main)
  return *t;
}

UOp base(Op op, DType dtype, Shape shape, Device* device) {
  UOp u;
  u.op = op;
  u.dtype = dtype;
  u.shape = std::move(shape);
  u.device = device;
  return u;
}

}  // namespace

UOpRef make_buffer_node(BufferRef buffer, DType dtype, const Shape& shape) {
  UOp u = base(Op::Buffer, dtype, shape, buffer->device);
  u.buffer = std::move(buffer);
  u.hash = compute_hash(u);
  return std::make_shared<const UOp>(std::move(u));  // never shared: identity is the buffer
}

UOpRef make_const(double value, DType dtype, Device* device) {
  if (!is_float(dtype)) return make_const_int(static_cast<int64_t>(value), dtype, device);
  UOp u = base(Op::Const, dtype, {}, device);
  u.const_value = value;
  return table().intern(std::move(u));
}

UOpRef make_const_int(int64_t value, DType dtype, Device* device) {
  if (is_float(dtype)) return make_const(static_cast<double>(value), dtype, device);
  UOp u = base(Op::Const, dtype, {}, device);
  if (dtype == DType::Bool) value = value != 0;
  u.const_int = value;
  u.const_value = static_cast<double>(value);
  return table().intern(std::move(u));
}

UOpRef make_arange(int64_t n, DType dtype, Device* device) {
  UOp u = base(Op::Arange, dtype, {n}, device);
  return table().intern(std::move(u));
}

UOpRef make_var(const Variable& v, Device* device) {
  UOp u = base(Op::Var, DType::I32, {}, device);
  u.var = v;
  return table().intern(std::move(u));
}

UOpRef make_alu(Op op, DType dtype, std::vector<UOpRef> src) {
  Shape shape = src.at(0)->shape;
  Device* device = src[0]->device;
  UOp u = base(op, dtype, shape, device);
  u.src = std::move(src);
  return table().intern(std::move(u));
}

UOpRef make_cast(Op op, DType dtype, UOpRef src) {
  if (op == Op::Cast && src->dtype == dtype) return src;
  UOp u = base(op, dtype, src->shape, src->device);
  u.src = {std::move(src)};
  return table().intern(std::move(u));
}

UOpRef make_reduce(ReduceOp rop, UOpRef src, std::vector<int> axes) {
  Shape shape = src->shape;
  for (int a : axes) shape[a] = 1;
  UOp u = base(Op::Reduce, src->dtype, shape, src->device);
  u.reduce_op = rop;
  u.axes = std::move(axes);
  u.src = {std::move(src)};
  return table().intern(std::move(u));
}

UOpRef make_view(UOpRef src, const ShapeTracker& st) {
  if (st.is_contiguous() && st.shape() == src->shape) return src;
  if (src->op == Op::View && !src->realized()) {
    // a view of a view: one tracker over the inner source
    return make_view(src->src[0], st.compose_onto(src->st));
  }
  UOp u = base(Op::View, src->dtype, st.shape(), src->device);
  u.st = st;
  u.src = {std::move(src)};
  return table().intern(std::move(u));
}

UOpRef make_gather(UOpRef table_node, UOpRef index, int axis) {
  if (table_node->shape.size() != index->shape.size())
    throw Error("gather: index " + shape_str(index->shape) + " and table " +
                shape_str(table_node->shape) + " differ in rank");
  UOp u = base(Op::Gather, table_node->dtype, index->shape, table_node->device);
  u.axis = axis;
  u.src = {std::move(table_node), std::move(index)};
  return table().intern(std::move(u));
}

UOpRef make_contiguous(UOpRef src) {
  UOp u = base(Op::Contiguous, src->dtype, src->shape, src->device);
  u.src = {std::move(src)};
  return table().intern(std::move(u));
}

UOpRef make_copy(UOpRef src, Device* device) {
  UOp u = base(Op::Copy, src->dtype, src->shape, device);
  u.src = {std::move(src)};
  return table().intern(std::move(u));
}

namespace {
// An attention node over sources q, k, v (and the K/V write's rows): q's shape with v's width
UOpRef attention_node(std::vector<UOpRef> src, const AttentionArgs& args) {
  Shape shape = src[0]->shape;
  shape.back() = src[2]->shape.back();
  UOp u = base(Op::Attention, src[0]->dtype, shape, src[0]->device);
  u.attention = args;
  u.src = std::move(src);
  return table().intern(std::move(u));
}
}  // namespace

UOpRef make_attention(UOpRef q, UOpRef k, UOpRef v, const AttentionArgs& args) {
  return attention_node({std::move(q), std::move(k), std::move(v)}, args);
}

UOpRef make_attention_writing(UOpRef q, UOpRef k, UOpRef v, UOpRef k_new, UOpRef v_new,
                              AttentionArgs args) {
  args.write_kv = true;
  return attention_node(
      {std::move(q), std::move(k), std::move(v), std::move(k_new), std::move(v_new)}, args);
}

void set_realized(const UOpRef& node, BufferRef buffer) {
  node->buffer = std::move(buffer);
  node->src.clear();
}

}  // namespace kiln::detail
