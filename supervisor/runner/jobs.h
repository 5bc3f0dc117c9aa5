// Executing one job against the hosted model: request fields -> model call -> reply bodies
// (chunks, progress, one terminal result or error).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kiln/model.h"
#include "model_host.h"

namespace kiln::runner {

using json = nlohmann::json;

struct JobContext {
  uint64_t uid = 0;
  std::string kind;
  json request;
  const CancelFlag* cancel = nullptr;
  std::function<void(json body)> emit;                      // sends one reply body
  std::function<json(std::vector<uint8_t> bytes)> make_blob;  // inline or shared memory
  std::function<std::vector<uint8_t>(const json& value)> read_blob;
};

// Runs the job; emits exactly one terminal body (result or error) last, whatever happens.
void run_job(ModelHost& host, JobContext& ctx);

}  // namespace kiln::runner
