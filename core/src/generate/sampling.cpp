// Filtering and drawing. The filters follow transformers' logits warpers (temperature, top-k,
// top-p, min-p, in that order); probabilities are computed in double over the kept set.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kiln/error.h"
#include "kiln/generate.h"

namespace kiln {

namespace {

struct Scored {
  double score;
  int32_t id;
};
// Most likely first; ties go to the lower id so results do not depend on sort stability.
bool higher(const Scored& a, const Scored& b) { return a.score > b.score || (a.score == b.score && a.id < b.id); }

// Sorts the best `n` of `v` to its front (all of it when n >= size).
void sort_front(std::vector<Scored>& v, size_t n) {
  if (n >= v.size()) {
    std::sort(v.begin(), v.end(), higher);
  } else {
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(), higher);
  }
}

}  // namespace

// The first index of the largest value (NaNs never win). Per token of a greedy decode this scans
// the whole vocabulary, so the max runs in 16 independent lanes the compiler can vectorize.
int32_t greedy_token(std::span<const float> logits) {
  constexpr size_t kLanes = 16;
  float lane[kLanes];
  std::fill(lane, lane + kLanes, -std::numeric_limits<float>::infinity());
  const size_t n = logits.size(), body = n - n % kLanes;
  for (size_t i = 0; i < body; i += kLanes)
    for (size_t j = 0; j < kLanes; ++j) lane[j] = logits[i + j] > lane[j] ? logits[i + j] : lane[j];
  float best = *std::max_element(lane, lane + kLanes);
  for (size_t i = body; i < n; ++i) best = logits[i] > best ? logits[i] : best;
  for (size_t i = 0; i < n; ++i)
    if (logits[i] == best) return static_cast<int32_t>(i);
  return 0;  // every logit is NaN or -inf
}

int32_t CausalLM::forward_greedy(std::span<const int32_t> ids, int64_t start_pos) {
  return greedy_token(forward(ids, start_pos));
}

void CausalLM::greedy_enqueue(std::optional<int32_t>, int64_t) {
  throw Error("generate: this model does not pipeline greedy decoding");
}

int32_t CausalLM::greedy_collect() { throw Error("generate: this model does not pipeline greedy decoding"); }

std::vector<Candidate> filter_candidates(std::span<const float> logits, const SamplingParams& p) {
  if (logits.empty()) throw Error("filter_candidates: empty logits");
  if (p.temperature <= 0) return {Candidate{greedy_token(logits), 1.0}};

  std::vector<Scored> kept;
  kept.reserve(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const double s = static_cast<double>(logits[i]) / p.temperature;
    if (s != -std::numeric_limits<double>::infinity()) kept.push_back({s, static_cast<int32_t>(i)});
  }
  if (kept.empty()) throw Error("filter_candidates: every logit is -inf");
  bool sorted = false;

  // top-k: everything below the k-th largest score goes; ties with it stay (as transformers).
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < kept.size()) {
    const auto kth = kept.begin() + (p.top_k - 1);
    std::nth_element(kept.begin(), kth, kept.end(), higher);
    const double threshold = kth->score;
    std::erase_if(kept, [&](const Scored& s) { return s.score < threshold; });
  }

  // top-p: with tokens sorted by probability, a token stays while the mass of the tokens
  // strictly more likely than it is below top_p (transformers removes those whose ascending
  // cumulative probability is <= 1 - top_p). Sorted in growing prefixes: usually few tokens
  // carry the mass.
  if (p.top_p < 1.0) {
    const double max_score = std::min_element(kept.begin(), kept.end(), higher)->score;  // first under `higher`
    double z = 0;
    for (const auto& s : kept) z += std::exp(s.score - max_score);
    size_t n = std::min<size_t>(256, kept.size());
    for (;;) {
      sort_front(kept, n);
      double before = 0;
      size_t keep = 0;
      for (; keep < n; ++keep) {
        if (keep > 0 && before >= p.top_p) break;
        before += std::exp(kept[keep].score - max_score) / z;
      }
      if (keep < n || n == kept.size()) {
        kept.resize(keep);
        break;
      }
      n = std::min(kept.size(), n * 8);
    }
    sorted = true;
  }

  // min-p: a token goes when its probability is below min_p times the top probability; the
  // ratio does not depend on normalization: exp(s - max) < min_p.
  if (p.min_p > 0) {
    const double max_score = std::min_element(kept.begin(), kept.end(), higher)->score;  // first under `higher`
    std::erase_if(kept, [&](const Scored& s) { return std::exp(s.score - max_score) < p.min_p; });
  }

  if (!sorted) std::sort(kept.begin(), kept.end(), higher);
  const double max_score = kept.front().score;
  double z = 0;
  for (const auto& s : kept) z += std::exp(s.score - max_score);
  std::vector<Candidate> out;
  out.reserve(kept.size());
  for (const auto& s : kept) out.push_back({s.id, std::exp(s.score - max_score) / z});
  return out;
}

SamplingRng::SamplingRng(std::optional<uint64_t> seed)
    : seed_(seed ? *seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()),
      engine_(seed_) {}

double SamplingRng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

int32_t sample_token(std::span<const float> logits, const SamplingParams& p, std::span<const int32_t> context,
                     std::span<const int32_t> generated, SamplingRng& rng) {
  if (p.plain_greedy()) return greedy_token(logits);  // no copy
  std::vector<float> work(logits.begin(), logits.end());
  apply_repetition_penalty(work, context, p.repeat_penalty);
  apply_presence_frequency_penalty(work, generated, p.presence_penalty, p.frequency_penalty);
  if (p.temperature <= 0) return greedy_token(work);
  const std::vector<Candidate> cands = filter_candidates(work, p);
  const double u = rng.uniform();
  double cum = 0;
  for (const auto& c : cands) {
    cum += c.prob;
    if (u < cum) return c.id;
  }
  return cands.back().id;  // rounding left u just above the total
}

PositionLogprobs logprobs_of(std::span<const float> logits, int32_t chosen, int64_t top_n) {
  if (chosen < 0 || static_cast<size_t>(chosen) >= logits.size())
    throw Error("logprobs_of: token id " + std::to_string(chosen) + " outside the vocabulary of " +
                std::to_string(logits.size()));
  double m = -std::numeric_limits<double>::infinity();
  for (float l : logits) m = std::max(m, static_cast<double>(l));
  double z = 0;
  for (float l : logits) z += std::exp(static_cast<double>(l) - m);
  const double lse = m + std::log(z);
  PositionLogprobs out;
  out.chosen = {chosen, static_cast<float>(logits[static_cast<size_t>(chosen)] - lse)};
  if (top_n > 0) {
    std::vector<Scored> all(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) all[i] = {logits[i], static_cast<int32_t>(i)};
    const size_t n = std::min(all.size(), static_cast<size_t>(top_n));
    sort_front(all, n);
    for (size_t i = 0; i < n; ++i) out.top.push_back({all[i].id, static_cast<float>(all[i].score - lse)});
  }
  return out;
}

}  // namespace kiln
