#include "runtime/realize.h"

#include <chrono>
#include <iostream>
#include <unordered_set>
#include <vector>

#include "codegen/lowerer.h"
#include "kiln/error.h"
#include "runtime/beam.h"
#include "runtime/capture.h"
#include "runtime/debug.h"
#include "runtime/launch_args.h"
#include "runtime/program_cache.h"
#include "runtime/stats.h"
#include "schedule/scheduler.h"

namespace kiln::detail {

namespace {

void check(Device* d, kiln_status st, const char* what, const char* err) {
  if (st != KILN_OK) throw Error("device " + d->spec() + ": " + what + " failed: " + err);
}

void launch_kernel(const LoweredKernel& k, const ProgramRef& prog, Device* d) {
  LaunchArgs args(k, prog);
  char err[2048] = {0};
  double t = 0;
  auto start = std::chrono::steady_clock::now();
  CaptureRecorder* recorder = active_recorder();
  if (!recorder || !recorder->dry) {
    check(d, d->api().launch(d->handle(), &args.launch, debug_level() >= 2 ? &t : nullptr, {err, sizeof err}),
          "launch", err);
    stats().kernels_launched++;
  }
  if (CaptureRecorder* rec = recorder) {
    CapturedLaunch c;
    c.program = prog;
    for (const auto& p : k.params) c.buffers.push_back(p->buffer);
    c.vars = k.vars;
    for (int i = 0; i < 3; ++i) {
      c.global_size[i] = k.global_size[i];
      c.local_size[i] = k.local_size[i];
    }
    c.name = k.name;
    rec->launches.push_back(std::move(c));
  }
  if (debug_level() >= 2) {
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    // host time of the (synchronized) launch, and the device's own timing when it gives one
    std::cerr << "kiln: " << k.name << " " << us << " us";
    if (t > 0) std::cerr << " gpu " << t * 1e6 << " us";
    std::cerr << " grid " << k.global_size[0] << "x" << k.local_size[0] << "\n";
  }
}

void run_copy(const UOpRef& node) {
  const UOp* src = node->src[0].get();
  if (CaptureRecorder* rec = active_recorder()) rec->unsupported = true;
  auto out = std::make_shared<DeviceBuffer>(node->device, node->numel() * dtype_size(node->dtype));
  size_t bytes = out->bytes;
  char err[1024] = {0};
  if (bytes) {
    if (src->device == node->device) {
      check(node->device, node->device->api().copy_device(node->device->handle(), out->handle, 0,
                                                          src->buffer->handle, 0, bytes,
                                                          {err, sizeof err}),
            "copy", err);
    } else {
      std::vector<char> host(bytes);
      check(src->device, src->device->api().copy_out(src->device->handle(), host.data(),
                                                      src->buffer->handle, 0, bytes,
                                                      {err, sizeof err}),
            "copy out", err);
      check(node->device, node->device->api().copy_in(node->device->handle(), out->handle, 0,
                                                      host.data(), bytes, {err, sizeof err}),
            "copy in", err);
    }
  }
  set_realized(node, out);
}

}  // namespace

namespace {
void run_schedule(Schedule& s, const UOp* skip) {
  if (s.items.empty()) return;
  stats().schedules_built++;
  for (auto& item : s.items) {
    if (item.root.get() == skip) continue;
    if (item.kind == ScheduleItem::Kind::Copy) {
      run_copy(item.root);
      continue;
    }
    Device* d = item.root->device;
    auto out = std::make_shared<DeviceBuffer>(d, item.root->numel() * dtype_size(item.root->dtype));
    if (item.root->numel() == 0) {
      set_realized(item.root, out);
      continue;
    }
    // the output slot reads the fresh buffer (BEAM times candidates into it)
    item.root->buffer = out;
    try {
      LoweredKernel k = choose_kernel(item.root, d);
      stats().kernels_lowered++;
      ProgramRef prog = get_program(d, k);
      launch_kernel(k, prog, d);
    } catch (...) {
      item.root->buffer = nullptr;
      throw;
    }
    set_realized(item.root, out);
  }
  if (debug_level() >= 1)
    std::cerr << "kiln: scheduled " << s.items.size() << " kernel(s)\n";
}
}  // namespace

void realize_nodes(const std::vector<UOpRef>& outputs) {
  Schedule s = create_schedule(
      outputs, schedule_options_for(outputs.empty() ? nullptr : outputs[0]->device));
  run_schedule(s, nullptr);
}

namespace {
// Each node once: values share subexpressions (a chain of dot4 steps reads one packed word
// several times), and a walk of every path is exponential in the chain's length.
bool reads_buffer(const UOp* u, const DeviceBuffer* buf) {
  std::vector<const UOp*> stack{u};
  std::unordered_set<const UOp*> seen;
  while (!stack.empty()) {
    const UOp* n = stack.back();
    stack.pop_back();
    if (!seen.insert(n).second) continue;
    if (n->buffer.get() == buf) return true;
    for (const auto& s : n->src) stack.push_back(s.get());
  }
  return false;
}
}  // namespace

void run_assign(const UOpRef& target, const UOpRef& value_in) {
  const UOpRef& base = view_base(target);
  UOpRef value = value_in;
  // A kernel never reads the memory it writes at other positions: compute such a value first.
  if (reads_buffer(value.get(), base->buffer.get())) {
    value = make_contiguous(value);
    realize_nodes({value});
  } else {
    // the value is fused into the assign kernel; only the boundaries inside it run first
    Schedule s = create_schedule({value}, schedule_options_for(base->device));
    run_schedule(s, value.get());
  }
  if (target->numel() == 0) return;
  Device* d = base->device;
  LoweredKernel k = lower_assign(target, value, d->caps());
  stats().kernels_lowered++;
  ProgramRef prog = get_program(d, k);
  launch_kernel(k, prog, d);
}

}  // namespace kiln::detail
