#include <atomic>

#include "kiln/tensor.h"

namespace kiln {

struct Variable::State {
  std::string name;
  int64_t min_value, max_value, value;
  int id;
};

Variable::Variable(std::string name, int64_t min_value, int64_t max_value) {
  static std::atomic<int> next{1};
  if (min_value > max_value)
    throw Error("variable " + name + ": min " + std::to_string(min_value) + " > max " +
                std::to_string(max_value));
  state_ = std::make_shared<State>(State{std::move(name), min_value, max_value, min_value, next++});
}
const std::string& Variable::name() const { return state_->name; }
int64_t Variable::min_value() const { return state_->min_value; }
int64_t Variable::max_value() const { return state_->max_value; }
int64_t Variable::value() const { return state_->value; }
int Variable::id() const { return state_->id; }
void Variable::bind(int64_t v) {
  if (v < state_->min_value || v > state_->max_value)
    throw Error("variable " + state_->name + ": value " + std::to_string(v) + " outside [" +
                std::to_string(state_->min_value) + ", " + std::to_string(state_->max_value) + "]");
  state_->value = v;
}

}  // namespace kiln
