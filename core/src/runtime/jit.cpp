#include "kiln/jit.h"

#include <algorithm>
#include <map>
#include <set>

#include "kiln/device_runtime.h"
#include "kiln/error.h"
#include "runtime/capture.h"
#include "runtime/stats.h"

namespace kiln {

using namespace detail;

namespace detail {
CaptureRecorder*& active_recorder() {
  thread_local CaptureRecorder* r = nullptr;
  return r;
}
void keep_out_of_plan(const DeviceBuffer* buffer) {
  if (CaptureRecorder* rec = active_recorder()) std::erase(rec->allocated, buffer);
}
}  // namespace detail

struct Jit::State {
  Fn fn;
  bool captured = false;
  bool dry_capture = false;  // inside capture(): record launches without running them
  std::vector<CapturedLaunch> launches;
  std::vector<const DeviceBuffer*> input_buffers;      // as seen at capture
  std::vector<std::pair<Shape, DType>> input_sig;
  std::vector<UOpRef> outputs;                          // realized output nodes
  Device* device = nullptr;
  kiln_graph* graph = nullptr;
  size_t arena_bytes = 0;
};

Jit::Jit(Fn fn) : state_(std::make_unique<State>()) { state_->fn = std::move(fn); }

Jit::~Jit() { reset(); }

bool Jit::captured() const { return state_->captured; }
size_t Jit::kernel_count() const { return state_->launches.size(); }
size_t Jit::arena_bytes() const { return state_->arena_bytes; }

void Jit::reset() {
  if (state_->graph && state_->device && state_->device->api().graph_destroy)
    state_->device->api().graph_destroy(state_->device->handle(), state_->graph);
  state_->graph = nullptr;
  state_->captured = false;
  state_->launches.clear();
  state_->input_buffers.clear();
  state_->input_sig.clear();
  state_->outputs.clear();
}

namespace {
std::vector<Tensor> realized_inputs(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> in;
  for (const auto& t : inputs) {
    Tensor c = t;
    const UOpRef& n = c.node();
    if (!(n->realized() || n->op == Op::Buffer)) c = c.contiguous();
    c.realize();
    in.push_back(c);
  }
  return in;
}

// Buffers made during capture and used only inside it are intermediates: those whose
// lifetimes (first to last launch using them) do not overlap share one allocation.
size_t plan_memory(std::vector<CapturedLaunch>& launches, const std::vector<const DeviceBuffer*>& allocated,
                   const std::set<const DeviceBuffer*>& keep) {
  std::set<const DeviceBuffer*> made(allocated.begin(), allocated.end());
  std::map<const DeviceBuffer*, std::pair<size_t, size_t>> life;
  std::map<const DeviceBuffer*, BufferRef> refs;
  for (size_t i = 0; i < launches.size(); ++i)
    for (const auto& b : launches[i].buffers) {
      if (!made.count(b.get()) || keep.count(b.get())) continue;
      auto it = life.find(b.get());
      if (it == life.end()) life[b.get()] = {i, i};
      else it->second.second = i;
      refs[b.get()] = b;
    }
  // greedy by first use: reuse the smallest free allocation that fits
  std::vector<std::pair<size_t, const DeviceBuffer*>> order;
  for (const auto& [b, l] : life) order.push_back({l.first, b});
  std::sort(order.begin(), order.end());
  struct Slot {
    BufferRef buf;
    size_t free_after;
  };
  std::vector<Slot> slots;
  std::map<const DeviceBuffer*, BufferRef> assigned;
  size_t total = 0;
  for (const auto& [first, b] : order) {
    Slot* best = nullptr;
    for (auto& sl : slots)
      if (sl.free_after < first && sl.buf->bytes >= b->bytes && sl.buf->device == b->device &&
          (!best || sl.buf->bytes < best->buf->bytes))
        best = &sl;
    if (!best) {
      slots.push_back({refs[b], 0});
      best = &slots.back();
      total += b->bytes;
    }
    best->free_after = life[b].second;
    assigned[b] = best->buf;
  }
  for (auto& l : launches)
    for (auto& b : l.buffers) {
      auto it = assigned.find(b.get());
      if (it != assigned.end()) b = it->second;
    }
  return total;
}

void build_launch(const CapturedLaunch& l, const std::map<const DeviceBuffer*, kiln_buffer*>& swap,
                  std::vector<kiln_buffer*>& bufs, std::vector<int64_t>& vars, kiln_launch& out) {
  bufs.clear();
  for (const auto& b : l.buffers) {
    auto it = swap.find(b.get());
    bufs.push_back(it == swap.end() ? b->handle : it->second);
  }
  vars.clear();
  for (const auto& v : l.vars) vars.push_back(v.value());
  out = kiln_launch{};
  out.program = l.program->handle;
  out.buffers = bufs.data();
  out.n_buffers = static_cast<uint32_t>(bufs.size());
  out.vars = vars.data();
  out.n_vars = static_cast<uint32_t>(vars.size());
  for (int i = 0; i < 3; ++i) {
    out.global_size[i] = l.global_size[i];
    out.local_size[i] = l.local_size[i];
  }
}
}  // namespace

void Jit::capture(const std::vector<Tensor>& inputs) {
  if (state_->captured) throw Error("jit: capture() of a function already captured");
  state_->dry_capture = true;
  try {
    (*this)(inputs);
  } catch (...) {
    state_->dry_capture = false;
    throw;
  }
  state_->dry_capture = false;
  if (!state_->captured)
    throw Error("jit: capture() of a function that is not replayable (a copy between devices)");
}

std::vector<Tensor> Jit::operator()(const std::vector<Tensor>& inputs_in) {
  State& s = *state_;
  std::vector<Tensor> inputs = realized_inputs(inputs_in);
  if (!s.captured) {
    CaptureRecorder rec;
    rec.dry = s.dry_capture;
    CaptureRecorder* prev = active_recorder();
    active_recorder() = &rec;
    std::vector<Tensor> outs;
    try {
      outs = s.fn(inputs);
      std::vector<Tensor*> ptrs;
      for (auto& o : outs) {
        const UOpRef& n = o.node();
        if (!(n->realized() || n->op == Op::Buffer)) o = o.contiguous();
        ptrs.push_back(&o);
      }
      realize_all(ptrs);
    } catch (...) {
      active_recorder() = prev;
      throw;
    }
    active_recorder() = prev;
    if (rec.unsupported) return outs;  // ran fine, but is not replayable: stay uncaptured
    s.launches = std::move(rec.launches);
    std::set<const DeviceBuffer*> keep;
    for (const auto& o : outs) keep.insert(o.node()->buffer.get());
    for (const auto& t : inputs) keep.insert(t.node()->buffer.get());
    s.arena_bytes = plan_memory(s.launches, rec.allocated, keep);
    for (const auto& t : inputs) {
      s.input_buffers.push_back(t.node()->buffer.get());
      s.input_sig.push_back({t.shape(), t.dtype()});
    }
    for (const auto& o : outs) s.outputs.push_back(o.node());
    s.device = inputs.empty() ? (outs.empty() ? nullptr : outs[0].device()) : inputs[0].device();
    s.captured = true;
    return outs;
  }

  if (inputs.size() != s.input_sig.size())
    throw Error("jit: called with " + std::to_string(inputs.size()) + " inputs, captured with " +
                std::to_string(s.input_sig.size()));
  std::map<const DeviceBuffer*, kiln_buffer*> swap;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].shape() != s.input_sig[i].first || inputs[i].dtype() != s.input_sig[i].second)
      throw Error("jit: input " + std::to_string(i) + " is " + shape_str(inputs[i].shape()) + " " +
                  dtype_name(inputs[i].dtype()) + ", captured as " + shape_str(s.input_sig[i].first) +
                  " " + dtype_name(s.input_sig[i].second));
    swap[s.input_buffers[i]] = inputs[i].node()->buffer->handle;
  }
  // all launches of one replay, prepared together
  size_t n = s.launches.size();
  std::vector<std::vector<kiln_buffer*>> bufs(n);
  std::vector<std::vector<int64_t>> vars(n);
  std::vector<kiln_launch> launches(n);
  for (size_t i = 0; i < n; ++i) build_launch(s.launches[i], swap, bufs[i], vars[i], launches[i]);
  char err[2048] = {0};
  Device* d = s.device;
  if (n) {
    const auto& api = d->api();
    if (api.graph_create && api.graph_launch) {
      if (!s.graph &&
          api.graph_create(d->handle(), launches.data(), static_cast<uint32_t>(n), &s.graph,
                           {err, sizeof err}) != KILN_OK)
        throw Error("jit: device " + d->spec() + " cannot build a graph: " + err);
      if (api.graph_launch(d->handle(), s.graph, launches.data(), static_cast<uint32_t>(n),
                           {err, sizeof err}) != KILN_OK)
        throw Error("jit: graph replay on " + d->spec() + " failed: " + err);
    } else {
      for (auto& l : launches)
        if (api.launch(d->handle(), &l, nullptr, {err, sizeof err}) != KILN_OK)
          throw Error("jit: replay launch on " + d->spec() + " failed: " + err);
    }
  }
  stats().graphs_replayed++;
  stats().kernels_launched += n;
  std::vector<Tensor> outs;
  for (const auto& o : s.outputs) outs.push_back(Tensor(o));
  return outs;
}

}  // namespace kiln
