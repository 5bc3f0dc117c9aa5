// RoPE frequencies (transformers' modeling_rope_utils, in the same order of operations) and
// the rotation as Tensor ops.
#include "kiln/rope.h"

#include <algorithm>
#include <cmath>

#include "kiln/error.h"

namespace kiln::nn {

namespace {

// torch computes base ** (arange(0, dim, 2) / dim) in float32.
std::vector<float> base_inv_freq(double base, int64_t dim) {
  std::vector<float> out;
  for (int64_t i = 0; i < dim; i += 2) {
    float e = static_cast<float>(i) / static_cast<float>(dim);
    out.push_back(1.0f / std::pow(static_cast<float>(base), e));
  }
  return out;
}

double yarn_mscale(double scale, double mscale = 1.0) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

double need(const std::optional<double>& v, const char* key, const RopeParameters& p) {
  if (!v) throw Error(p.field + ": rope type '" + p.rope_type + "' needs '" + key + "'");
  return *v;
}

}  // namespace

RopeTable rope_table(const RopeParameters& p, int64_t head_dim, int64_t max_position_embeddings,
                     int64_t seq_len) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    throw Error("rope: head_dim " + std::to_string(head_dim) + " must be positive and even");
  int64_t dim = head_dim;
  if (p.partial_rotary_factor && *p.partial_rotary_factor != 1.0)
    throw Error("rope: partial_rotary_factor " + std::to_string(*p.partial_rotary_factor) +
                " is not supported by this model plugin");
  if (p.rope_theta <= 0) throw Error("rope: rope_theta " + std::to_string(p.rope_theta) + " must be positive");
  RopeTable t;
  t.inv_freq = base_inv_freq(p.rope_theta, dim);
  const std::string& type = p.rope_type;
  if (type == "default") return t;
  if (type == "dynamic") {
    // dynamic NTK: past the trained context the base grows with the sequence length, in
    // float32 as transformers computes it from a tensor seq_len
    const float factor = static_cast<float>(need(p.factor, "factor", p));
    if (max_position_embeddings <= 0)
      throw Error(p.field + ": rope type 'dynamic' needs a positive max_position_embeddings");
    if (seq_len <= max_position_embeddings) return t;
    float s = factor * static_cast<float>(seq_len) / static_cast<float>(max_position_embeddings) -
              (factor - 1.0f);
    float base =
        static_cast<float>(p.rope_theta) *
        std::pow(s, static_cast<float>(static_cast<double>(dim) / static_cast<double>(dim - 2)));
    t.inv_freq = base_inv_freq(base, dim);
    return t;
  }
  if (type == "linear") {
    float f = static_cast<float>(need(p.factor, "factor", p));
    for (auto& v : t.inv_freq) v /= f;
    return t;
  }
  if (type == "llama3") {
    double factor = need(p.factor, "factor", p);
    double lo = need(p.low_freq_factor, "low_freq_factor", p);
    double hi = need(p.high_freq_factor, "high_freq_factor", p);
    if (!p.original_max_position_embeddings)
      throw Error(p.field + ": rope type 'llama3' needs 'original_max_position_embeddings'");
    double old_ctx = static_cast<double>(*p.original_max_position_embeddings);
    double low_wavelen = old_ctx / lo, high_wavelen = old_ctx / hi;
    for (auto& v : t.inv_freq) {
      float inv = v;
      float wavelen = static_cast<float>(2 * M_PI) / inv;
      float scaled = wavelen > low_wavelen ? inv / static_cast<float>(factor) : inv;
      float smooth = static_cast<float>((old_ctx / wavelen - lo) / (hi - lo));
      float smoothed = (1 - smooth) * scaled / static_cast<float>(factor) + smooth * scaled;
      bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      v = medium ? smoothed : scaled;
    }
    return t;
  }
  if (type == "yarn") {
    double factor = need(p.factor, "factor", p);
    if (p.attention_factor) {
      t.attention_factor = *p.attention_factor;
    } else if (p.mscale && p.mscale_all_dim) {
      t.attention_factor = yarn_mscale(factor, *p.mscale) / yarn_mscale(factor, *p.mscale_all_dim);
    } else {
      t.attention_factor = yarn_mscale(factor);
    }
    double beta_fast = p.beta_fast.value_or(32.0), beta_slow = p.beta_slow.value_or(1.0);
    double orig = static_cast<double>(p.original_max_position_embeddings.value_or(max_position_embeddings));
    auto corr_dim = [&](double rot) {
      return (static_cast<double>(dim) * std::log(orig / (rot * 2 * M_PI))) / (2 * std::log(p.rope_theta));
    };
    bool truncate = !p.raw.contains("truncate") || p.raw["truncate"].get<bool>();
    double low = corr_dim(beta_fast), high = corr_dim(beta_slow);
    if (truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (size_t i = 0; i < t.inv_freq.size(); ++i) {
      float pos_freq = 1.0f / t.inv_freq[i];
      float extra = 1.0f / pos_freq, inter = 1.0f / (static_cast<float>(factor) * pos_freq);
      float ramp = std::clamp(static_cast<float>((static_cast<double>(i) - low) / (high - low)), 0.0f, 1.0f);
      float extra_factor = 1 - ramp;
      t.inv_freq[i] = inter * (1 - extra_factor) + extra * extra_factor;
    }
    return t;
  }
  throw Error(p.field + ": rope type '" + type +
              "' is not supported by kiln (default, linear, dynamic, yarn, llama3)");
}

bool rope_depends_on_length(const RopeParameters& p) {
  return p.rope_type == "dynamic";
}

std::pair<Tensor, Tensor> rope_cos_sin(const Tensor& positions, const RopeTable& table, Device* device) {
  int64_t half = static_cast<int64_t>(table.inv_freq.size());
  return rope_cos_sin(positions, Tensor::from_vector(table.inv_freq, {1, half}, device),
                      table.attention_factor);
}

std::pair<Tensor, Tensor> rope_cos_sin(const Tensor& positions, const Tensor& inv_freq,
                                       double attention_factor) {
  Tensor freqs = positions.cast(DType::F32).reshape({-1, 1}) * inv_freq.reshape({1, -1});
  Tensor c = freqs.cos(), s = freqs.sin();
  if (attention_factor != 1.0) {
    c = c * attention_factor;
    s = s * attention_factor;
  }
  return {c, s};
}

Tensor apply_rope(const Tensor& x, const Tensor& cos, const Tensor& sin, RopeStyle style) {
  int64_t d = x.dim(-1), half = d / 2;
  if (d % 2 != 0 || cos.dim(-1) != half)
    throw Error("apply_rope: x " + shape_str(x.shape()) + " does not fit cos " + shape_str(cos.shape()));
  Tensor xf = x.cast(DType::F32);
  if (style == RopeStyle::Half) {
    Tensor x1 = xf.slice(-1, 0, half), x2 = xf.slice(-1, half, d);
    return Tensor::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1).cast(x.dtype());
  }
  Shape pairs = x.shape();
  pairs.back() = half;
  pairs.push_back(2);
  Tensor xp = xf.reshape(pairs);
  Tensor x1 = xp.slice(-1, 0, 1), x2 = xp.slice(-1, 1, 2);
  Tensor c = cos.reshape({cos.dim(0), half, 1}), s = sin.reshape({sin.dim(0), half, 1});
  return Tensor::cat({x1 * c - x2 * s, x1 * s + x2 * c}, -1).reshape(x.shape()).cast(x.dtype());
}

}  // namespace kiln::nn
