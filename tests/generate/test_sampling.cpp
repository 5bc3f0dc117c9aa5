// Penalties, filters and log-probabilities against transformers' logits processors
// (tests/data/generate/sampling_cases.json, made by tools/fixtures/generate/
// make_sampling_fixtures.py), and the sampler's draws.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "kiln/generate.h"

using nlohmann::json;
using namespace kiln;

namespace {

const json& fixture() {
  static const json doc = [] {
    std::ifstream in(std::string(KILN_TEST_DATA_DIR) + "/generate/sampling_cases.json");
    REQUIRE(in.good());
    return json::parse(in);
  }();
  return doc;
}

SamplingParams params_of(const json& c) {
  SamplingParams p;
  const json& j = c["params"];
  p.temperature = j["temperature"];
  p.top_k = j["top_k"];
  p.top_p = j["top_p"];
  p.min_p = j["min_p"];
  p.repeat_penalty = j["repeat_penalty"];
  p.presence_penalty = j["presence_penalty"];
  p.frequency_penalty = j["frequency_penalty"];
  return p;
}

std::vector<float> penalized(const json& c) {
  std::vector<float> logits = c["logits"].get<std::vector<float>>();
  const auto ctx = c["context"].get<std::vector<int32_t>>();
  const auto gen = c["generated"].get<std::vector<int32_t>>();
  const SamplingParams p = params_of(c);
  apply_repetition_penalty(logits, ctx, p.repeat_penalty);
  apply_presence_frequency_penalty(logits, gen, p.presence_penalty, p.frequency_penalty);
  return logits;
}

}  // namespace

TEST_CASE("penalties change logits as transformers (repetition) and OpenAI (presence/frequency) define them",
          "[generate][sampling]") {
  for (const json& c : fixture()["cases"]) {
    INFO(c["name"].get<std::string>());
    const std::vector<float> got = penalized(c);
    const auto want = c["penalized_logits"].get<std::vector<float>>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      INFO("id " << i);
      CHECK(got[i] == Approx(want[i]).epsilon(1e-6).margin(1e-6));
    }
  }
}

TEST_CASE("temperature, top-k, top-p and min-p keep exactly transformers' set with its probabilities",
          "[generate][sampling]") {
  for (const json& c : fixture()["cases"]) {
    INFO(c["name"].get<std::string>());
    const std::vector<Candidate> got = filter_candidates(penalized(c), params_of(c));
    const json& want = c["kept"];
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].id == want[i][0].get<int32_t>());
      CHECK(got[i].prob == Approx(want[i][1].get<double>()).margin(1e-6));
    }
  }
}

TEST_CASE("top-p and min-p on a hand-computed distribution", "[generate][sampling]") {
  // probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (logits are their logs)
  const std::vector<float> logits = {std::log(0.0625f), std::log(0.5f), std::log(0.125f), std::log(0.25f),
                                     std::log(0.0625f)};
  SamplingParams p;
  p.temperature = 1.0;
  p.top_k = 0;
  p.min_p = 0;
  SECTION("top_p 0.7: 0.5 alone is short of it, 0.5 + 0.25 reaches it") {
    p.top_p = 0.7;
    auto kept = filter_candidates(logits, p);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].id == 1);
    CHECK(kept[1].id == 3);
    CHECK(kept[0].prob == Approx(2.0 / 3));
    CHECK(kept[1].prob == Approx(1.0 / 3));
  }
  SECTION("top_p 0.3: only the most likely token") {
    p.top_p = 0.3;
    auto kept = filter_candidates(logits, p);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0].id == 1);
    CHECK(kept[0].prob == 1.0);
  }
  SECTION("min_p 0.2: tokens below 0.1 go") {
    p.min_p = 0.2;
    auto kept = filter_candidates(logits, p);
    REQUIRE(kept.size() == 3);
    CHECK(kept[2].id == 2);
    CHECK(kept[2].prob == Approx(0.125 / 0.875));
  }
  SECTION("top_k 3 keeps ties with the third") {
    std::vector<float> tied = {1.0f, 3.0f, 2.0f, 2.0f, 0.5f};
    p.top_k = 2;
    auto kept = filter_candidates(tied, p);
    REQUIRE(kept.size() == 3);
    CHECK(kept[0].id == 1);
    CHECK(kept[1].id == 2);  // ties: lower id first
    CHECK(kept[2].id == 3);
  }
}

TEST_CASE("log-probabilities match torch.log_softmax", "[generate][sampling]") {
  for (const json& c : fixture()["cases"]) {
    INFO(c["name"].get<std::string>());
    const auto logits = c["logits"].get<std::vector<float>>();
    const auto want = c["logprobs"].get<std::vector<double>>();
    const auto top = c["top_logprobs"];
    const PositionLogprobs got = logprobs_of(logits, 7, static_cast<int64_t>(top.size()));
    CHECK(got.chosen.id == 7);
    CHECK(got.chosen.logprob == Approx(want[7]).margin(1e-5));
    REQUIRE(got.top.size() == top.size());
    for (size_t i = 0; i < top.size(); ++i) {
      CHECK(got.top[i].id == top[i][0].get<int32_t>());
      CHECK(got.top[i].logprob == Approx(top[i][1].get<double>()).margin(1e-5));
    }
  }
}

TEST_CASE("greedy picks the argmax after penalties - top_k 1 equals greedy", "[generate][sampling]") {
  for (const json& c : fixture()["cases"]) {
    INFO(c["name"].get<std::string>());
    const auto logits = c["logits"].get<std::vector<float>>();
    const auto ctx = c["context"].get<std::vector<int32_t>>();
    const auto gen = c["generated"].get<std::vector<int32_t>>();
    SamplingParams p = params_of(c);
    const std::vector<float> pen = penalized(c);
    const int32_t best = static_cast<int32_t>(std::max_element(pen.begin(), pen.end()) - pen.begin());
    SamplingRng rng(1);
    p.temperature = 0;
    CHECK(sample_token(logits, p, ctx, gen, rng) == best);
    p.temperature = 1.3;
    p.top_k = 1;
    p.top_p = 1;
    p.min_p = 0;
    for (int i = 0; i < 20; ++i) CHECK(sample_token(logits, p, ctx, gen, rng) == best);
  }
}

TEST_CASE("greedy over a vocabulary-sized row: the first of equal maxima wins, NaN never does",
          "[generate][sampling]") {
  SamplingParams p;
  p.temperature = 0;
  SamplingRng rng(1);
  for (size_t n : {1u, 15u, 16u, 17u, 49153u, 128256u}) {
    INFO("vocab " << n);
    std::vector<float> logits(n);
    for (size_t i = 0; i < n; ++i) logits[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
    const size_t at = n * 2 / 3;  // a later tie must not win; a NaN before it must not either
    logits[at] = 5.0f;
    if (at + 1 < n) logits[n - 1] = 5.0f;
    if (at > 0) logits[at - 1] = std::nanf("");
    CHECK(sample_token(logits, p, {}, {}, rng) == static_cast<int32_t>(at));
  }
  const std::vector<float> all_low(40, -INFINITY);
  CHECK(sample_token(all_low, p, {}, {}, rng) == 0);
}

TEST_CASE("draws follow the kept distribution - a seed reproduces them, another seed differs",
          "[generate][sampling]") {
  const json& c = fixture()["cases"][5];  // top_p 0.9: 14 tokens
  const auto logits = c["logits"].get<std::vector<float>>();
  const SamplingParams p = params_of(c);
  auto draw = [&](uint64_t seed, int n) {
    SamplingRng rng(seed);
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) out.push_back(sample_token(logits, p, {}, {}, rng));
    return out;
  };
  CHECK(draw(42, 200) == draw(42, 200));
  CHECK(draw(42, 200) != draw(43, 200));

  const int n = 40000;
  std::map<int32_t, int> counts;
  for (int32_t id : draw(7, n)) ++counts[id];
  std::map<int32_t, double> want;
  for (const json& k : c["kept"]) want[k[0].get<int32_t>()] = k[1].get<double>();
  for (const auto& [id, count] : counts) CHECK(want.contains(id));  // nothing outside the kept set
  for (const auto& [id, prob] : want) {
    INFO("id " << id);
    const double sd = std::sqrt(prob * (1 - prob) / n);
    CHECK(std::abs(counts[id] / double(n) - prob) < 5 * sd + 1e-9);
  }
}

TEST_CASE("the RNG draws 53-bit uniforms from std::mt19937_64 seeded with the request's seed",
          "[generate][sampling]") {
  SamplingRng rng(5489);
  std::mt19937_64 ref(5489);
  for (int i = 0; i < 1000; ++i) {
    const double u = rng.uniform();
    CHECK(u == static_cast<double>(ref() >> 11) * 0x1.0p-53);
    CHECK((u >= 0 && u < 1));
  }
  CHECK(rng.seed() == 5489);
  CHECK(SamplingRng(std::nullopt).seed() != SamplingRng(std::nullopt).seed());  // 64 random bits
}
