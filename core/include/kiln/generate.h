// kiln/generate.h — the generation loop every LLM plugin shares (core/src/generate).
//
// A model plugin implements CausalLM (one sequence's forward pass over its own KV cache);
// core owns everything after the logits: sampling, penalties, stop strings, EOS handling,
// UTF-8-safe streaming, logprobs and the hand-off to a tool-call parser.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kiln/model.h"
#include "kiln/tokenizer.h"

namespace kiln {

// What the generation loop needs from a causal language model.
class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t context_length() const = 0;
  // Runs `ids` at positions [start_pos, start_pos + ids.size()); the cache already holds the
  // positions before start_pos (a new sequence starts at 0). Returns the logits of the last
  // position: vocab_size() floats. Prompts longer than the model's prefill chunk are chunked
  // by the model. Throws kiln::Error when start_pos + ids.size() exceeds context_length().
  virtual std::vector<float> forward(std::span<const int32_t> ids, int64_t start_pos) = 0;
};

}  // namespace kiln
