// scaled_dot_product_attention: plain, causal, sliding window, queries offset into the keys
// (decode), grouped-query heads, custom scale, non-contiguous q/k/v, a symbolic q_offset, a
// sliding-window key ring, a decode step that writes its own K/V row; and in
// family "attention_large", SD1.x's 4096-token self-attention with 8 heads (rows sampled).
#include <algorithm>

#include "cases.h"
#include "kiln/nn.h"

namespace kiln::opsuite {

namespace {

struct AttnLayout {
  std::string tag;
  Shape q, kv;
  ref::AttentionParams p;
  bool from_blhd = false;  // q, k, v stored (B, L, H, D) and read through transpose(1, 2)
};

nn::AttentionOptions options_of(const ref::AttentionParams& p) {
  nn::AttentionOptions o;
  o.causal = p.causal;
  o.sliding_window = p.sliding_window;
  o.scale = p.scale;
  o.q_offset = p.q_offset;
  return o;
}

Tolerance attention_tolerance(DType t) {
  if (t == DType::F32) return {1e-5, 2e-5, 0};
  return {4 * ref::epsilon(t), 4 * ref::epsilon(t), 0};
}

Input qkv_input(Context& cx, DType t, const Shape& s, bool from_blhd, double range = 1) {
  Domain d = Domain::range(-range, range);
  if (!from_blhd) return make_input(cx, t, s, d);
  Input x = make_input(cx, t, {s[0], s[2], s[1], s[3]}, d);
  return {ref::transpose(x.ref, 1, 2), x.t.transpose(1, 2)};
}

ref::AttentionParams params(bool causal, std::optional<int64_t> window, std::optional<double> scale,
                            int64_t q_offset) {
  ref::AttentionParams p;
  p.causal = causal;
  p.sliding_window = window;
  p.scale = scale;
  p.q_offset = q_offset;
  return p;
}

// The typical and the "peaky" case of one layout (larger q and k make the softmax close to
// one-hot).
void add_layout_cases(CaseList& cases, DType t, const AttnLayout& l) {
  std::string name = case_name("attention", "sdpa", dtype_str(t) + " " + l.tag + " q" + shape_str_of(l.q) +
                                                        " kv" + shape_str_of(l.kv));
  for (double range : {1.0, 4.0})
    cases.push_back({"attention", name + (range == 1 ? " typical" : " peaky"), {t}, [=](Context& cx) {
                       Input q = qkv_input(cx, t, l.q, l.from_blhd, range);
                       Input k = qkv_input(cx, t, l.kv, l.from_blhd, range);
                       Input v = qkv_input(cx, t, l.kv, l.from_blhd);
                       return compare(ref::attention(q.ref, k.ref, v.ref, l.p),
                                      nn::scaled_dot_product_attention(q.t, k.t, v.t, options_of(l.p)),
                                      attention_tolerance(t));
                     }});
}

}  // namespace

void add_attention_cases(CaseList& cases) {
  const std::vector<AttnLayout> layouts{
      {"plain", {1, 1, 4, 8}, {1, 1, 4, 8}, params(false, {}, {}, 0)},
      {"causal", {1, 2, 9, 16}, {1, 2, 9, 16}, params(true, {}, {}, 0)},
      {"gqa causal", {2, 4, 7, 16}, {2, 2, 7, 16}, params(true, {}, {}, 0)},
      {"decode q_offset 8", {1, 2, 1, 32}, {1, 2, 9, 32}, params(true, {}, {}, 8)},
      {"chunk q_offset 7", {1, 2, 5, 8}, {1, 2, 12, 8}, params(true, {}, {}, 7)},
      {"sliding 4 causal", {1, 2, 12, 8}, {1, 2, 12, 8}, params(true, 4, {}, 0)},
      {"sliding 3 decode", {1, 4, 1, 16}, {1, 1, 10, 16}, params(true, 3, {}, 9)},
      {"scale 0.5", {1, 1, 6, 8}, {1, 1, 10, 8}, params(false, {}, 0.5, 0)},
      {"single key", {1, 2, 3, 8}, {1, 2, 1, 8}, params(false, {}, {}, 0)},
      {"blhd views causal", {1, 4, 33, 64}, {1, 2, 33, 64}, params(true, {}, {}, 0), true},
      {"long keys", {1, 2, 4, 64}, {1, 2, 300, 64}, params(false, {}, {}, 0)},
      // CPUs run the query heads of one KV head together (up to 8) over blocks of keys: four
      // heads, 37 keys (a partial last block); twelve heads per KV head take the per-head path
      {"gqa 4 heads per kv, partial key block", {1, 8, 3, 32}, {1, 2, 37, 32}, params(true, {}, {}, 34)},
      {"gqa 12 heads per kv", {1, 12, 2, 16}, {1, 1, 19, 16}, params(true, {}, {}, 17)},
  };
  for (DType t : float_dtypes())
    for (size_t i = 0; i < layouts.size(); ++i)
      if (t == DType::F32 || i % 2 == 1) add_layout_cases(cases, t, layouts[i]);
  // Shapes a GPU with tensor cores runs as MMA tiles (half q, k, v; 16-query tiles; D a
  // multiple of 32): key counts that are no multiple of the 32-key step, an offset chunk, a
  // sliding window wider than one step, GQA, transposed views.
  const std::vector<AttnLayout> mma_layouts{
      {"mma gqa causal", {1, 4, 32, 64}, {1, 2, 32, 64}, params(true, {}, {}, 0)},
      {"mma chunk q_offset 40", {1, 2, 16, 64}, {1, 2, 100, 64}, params(true, {}, {}, 40)},
      {"mma sliding 20", {1, 2, 48, 32}, {1, 2, 48, 32}, params(true, 20, {}, 0)},
      {"mma long keys", {1, 2, 16, 64}, {1, 2, 300, 64}, params(false, {}, {}, 0)},
      {"mma blhd views causal", {1, 4, 32, 64}, {1, 2, 32, 64}, params(true, {}, {}, 0), true},
  };
  for (DType t : {DType::F16, DType::BF16})
    for (const AttnLayout& l : mma_layouts) add_layout_cases(cases, t, l);
  // One compiled kernel serves every position: a symbolic q_offset bound to two values.
  cases.push_back({"attention", "attention/sdpa f32 symbolic q_offset decode", {DType::F32}, [](Context& cx) {
                     Variable pos("opsuite_pos", 0, 15);
                     nn::AttentionOptions o;
                     o.causal = true;
                     o.q_offset_var = pos;
                     Input k = make_input(cx, DType::F32, {1, 2, 16, 16}, Domain::range(-1, 1));
                     Input v = make_input(cx, DType::F32, {1, 2, 16, 16}, Domain::range(-1, 1));
                     for (int64_t p : {3, 15, 0}) {
                       Input q = make_input(cx, DType::F32, {1, 2, 1, 16}, Domain::range(-1, 1));
                       pos.bind(p);
                       Outcome out = compare(ref::attention(q.ref, k.ref, v.ref, params(true, {}, {}, p)),
                                             nn::scaled_dot_product_attention(q.t, k.t, v.t, o),
                                             attention_tolerance(DType::F32));
                       if (out.status != Status::Passed) {
                         out.message = "q_offset bound to " + std::to_string(p) + ": " + out.message;
                         return out;
                       }
                     }
                     return Outcome{};
                   }});

  // A sliding-window KV cache kept as a ring of 9 rows (position p in row p % 9): three queries
  // at symbolic positions p..p+2 against the reference over all 40 keys with window 6.
  cases.push_back(
      {"attention",
       "attention/sdpa f32 key ring (window 6, 9 rows) symbolic q_offset",
       {DType::F32},
       [](Context& cx) {
         const int64_t n = 40, R = 9, D = 16;
         Variable pos("opsuite_ring_pos", 0, n - 3);
         nn::AttentionOptions o;
         o.causal = true;
         o.sliding_window = 6;
         o.q_offset_var = pos;
         o.ring = true;
         Input k = make_input(cx, DType::F32, {1, 2, n, D}, Domain::range(-1, 1));
         Input v = make_input(cx, DType::F32, {1, 2, n, D}, Domain::range(-1, 1));
         for (int64_t p : {0, 4, 9, 17, 37}) {
           ref::NDArray kr(DType::F32, {1, 2, R, D}), vr(DType::F32, {1, 2, R, D});
           for (int64_t h = 0; h < 2; ++h)
             for (int64_t x = std::max<int64_t>(0, p + 3 - R); x < p + 3; ++x)
               for (int64_t d = 0; d < D; ++d) {
                 kr.data[((h * R) + x % R) * D + d] = k.ref.data[((h * n) + x) * D + d];
                 vr.data[((h * R) + x % R) * D + d] = v.ref.data[((h * n) + x) * D + d];
               }
           Input q = make_input(cx, DType::F32, {1, 4, 3, D}, Domain::range(-1, 1));
           pos.bind(p);
           Outcome out = compare(
               ref::attention(q.ref, k.ref, v.ref, params(true, 6, {}, p)),
               nn::scaled_dot_product_attention(q.t, make_input(cx, kr).t, make_input(cx, vr).t, o),
               attention_tolerance(DType::F32));
           if (out.status != Status::Passed) {
             out.message = "q_offset bound to " + std::to_string(p) + ": " + out.message;
             return out;
           }
         }
         return Outcome{};
       }});

  // A decode step's K/V write inside its attention kernel (AttentionOptions::write_k / write_v,
  // a model's KV cache): 32 query heads over 8 KV heads of 64, one query at a symbolic
  // position; the new rows must land in the cache's memory and count as the query's own key.
  for (DType t : {DType::F32, DType::BF16})
    cases.push_back(
        {"attention",
         case_name("attention", "sdpa", dtype_str(t) + " decode writing its K/V row, symbolic q_offset"),
         {t},
         [t](Context& cx) {
           const int64_t n = 48, D = 64;
           Variable pos("opsuite_kv_write_pos_" + dtype_str(t), 0, n - 1);
           Input k = make_input(cx, t, {1, 8, n, D}, Domain::range(-1, 1));
           Input v = make_input(cx, t, {1, 8, n, D}, Domain::range(-1, 1));
           for (int64_t p : {0, 5, 47}) {
             Input q = make_input(cx, t, {1, 32, 1, D}, Domain::range(-1, 1));
             Input kn = make_input(cx, t, {1, 8, 1, D}, Domain::range(-1, 1));
             Input vn = make_input(cx, t, {1, 8, 1, D}, Domain::range(-1, 1));
             for (int64_t h = 0; h < 8; ++h)
               for (int64_t d = 0; d < D; ++d) {
                 k.ref.data[size_t((h * n + p) * D + d)] = kn.ref.data[size_t(h * D + d)];
                 v.ref.data[size_t((h * n + p) * D + d)] = vn.ref.data[size_t(h * D + d)];
               }
             nn::AttentionOptions o;
             o.causal = true;
             o.q_offset_var = pos;
             o.write_k = kn.t;
             o.write_v = vn.t;
             pos.bind(p);
             Outcome out = compare(ref::attention(q.ref, k.ref, v.ref, params(true, {}, {}, p)),
                                   nn::scaled_dot_product_attention(q.t, k.t, v.t, o),
                                   attention_tolerance(t));
             // the rows the kernel stored, read back from the cache's memory
             if (out.status == Status::Passed)
               out = compare_values(k.ref, read_back(k.t), {0, 0, 0});
             if (out.status == Status::Passed)
               out = compare_values(v.ref, read_back(v.t), {0, 0, 0});
             if (out.status != Status::Passed) {
               out.message = "q_offset bound to " + std::to_string(p) + ": " + out.message;
               return out;
             }
           }
           return Outcome{};
         }});

  // SD1.x self-attention: 4096 tokens, 8 heads of 40, never materializing the 4096x4096 scores.
  // The reference evaluates a sample of rows.
  for (bool causal : {false, true}) {
    std::string name = std::string("attention_large/sdpa f32 (1, 8, 4096, 40)") + (causal ? " causal" : "");
    cases.push_back({"attention_large", name, {DType::F32}, [causal](Context& cx) {
                       const Shape s{1, 8, 4096, 40};
                       Input q = make_input(cx, DType::F32, s, Domain::range(-1, 1));
                       Input k = make_input(cx, DType::F32, s, Domain::range(-1, 1));
                       Input v = make_input(cx, DType::F32, s, Domain::range(-1, 1));
                       ref::AttentionParams p = params(causal, {}, {}, 0);
                       Tensor out = nn::scaled_dot_product_attention(q.t, k.t, v.t, options_of(p));
                       if (out.shape() != s)
                         return Outcome::fail("result shape " + shape_str_of(out.shape()) + ", expected " + shape_str_of(s));
                       if (out.dtype() != DType::F32) return Outcome::fail("result dtype " + dtype_str(out.dtype()));
                       ref::NDArray all = read_back(out);
                       std::vector<ref::Index> rows;
                       for (int64_t h = 0; h < 8; ++h)
                         for (int64_t r : {int64_t{0}, int64_t{1}, int64_t{4095}, cx.rng.integer(2, 4094),
                                           cx.rng.integer(2, 4094), cx.rng.integer(2, 4094)})
                           rows.push_back({0, h, r});
                       ref::NDArray want = ref::attention_rows(q.ref, k.ref, v.ref, p, rows);
                       ref::NDArray got(DType::F32, want.shape);
                       for (size_t i = 0; i < rows.size(); ++i)
                         for (int64_t x = 0; x < 40; ++x)
                           got.data[i * 40 + x] = all.at({0, rows[i][1], rows[i][2], x});
                       return compare_values(want, got, attention_tolerance(DType::F32));
                     }});
  }
}

}  // namespace kiln::opsuite
