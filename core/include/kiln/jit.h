// kiln::Jit — capture the kernels a function launches once, then replay them with new input
// buffers and variable values: no graph building, no scheduling, no compiling per call
// (decode steps are replays). On devices with graph support the replay is one device graph.
//
// Rules for the captured function: its inputs are the tensors passed in (realized before the
// call); it may read other realized tensors (weights, caches) and assign into them; symbolic
// values must come from Variables (their current values are read at each replay); it must not
// branch on tensor data on the host. Outputs are realized into buffers the Jit owns and
// reuses: a replay overwrites the previous call's outputs. Intermediates realized inside the
// function share memory by lifetime: don't keep references to them outside it.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "kiln/tensor.h"

namespace kiln {

class Jit {
 public:
  using Fn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;
  explicit Jit(Fn fn);
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs);
  // Captures without running: every kernel is built (compiled or loaded) and recorded, none
  // is launched, so what the function computes is not computed (a warmup that only needs the
  // capture skips one whole step). Throws if already captured or the function is not
  // replayable (a copy between devices).
  void capture(const std::vector<Tensor>& inputs);
  bool captured() const;
  size_t kernel_count() const;  // launches per replay
  size_t arena_bytes() const;   // memory of the intermediates after lifetime planning
  void reset();                 // forget the capture (e.g. after weights change shape)

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace kiln
