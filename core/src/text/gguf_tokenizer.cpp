// The tokenizer stored in a GGUF file (tokenizer.ggml.*), rebuilt as the pipeline llama.cpp
// runs for it:
//   llama  - SentencePiece BPE by token scores, ' ' -> U+2581 with a prefix space
//   gpt2   - byte-level BPE with merges after the pre-tokenizer regexes named by tokenizer.ggml.pre
//   gemma4 - BPE with merges on raw UTF-8 (' ' -> U+2581), split at newlines, byte fallback
// Control, unknown and user-defined tokens are matched in the text as added tokens.
#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "kiln/error.h"
#include "kiln/gguf.h"
#include "text/bpe_model.h"
#include "text/decoders.h"
#include "text/loaders.h"
#include "text/normalizers.h"
#include "text/pipeline_tokenizer.h"
#include "text/post_processors.h"
#include "text/pre_tokenizers.h"
#include "text/spm_model.h"

namespace kiln::text {

namespace {

enum TokenType : int64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

constexpr const char* kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen35Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt2Regex = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
constexpr const char* kTekkenRegex =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kGpt4oRegex =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kDeepseek3Regex =
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
    " ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// How a tokenizer.ggml.pre value pre-tokenizes (llama.cpp's table, with the regexes of the
// Hugging Face files they come from).
struct PreType {
  std::vector<const char*> names;
  std::vector<const char*> regexes;  // applied in order, each splitting the pieces further
  bool digits_first = false;         // Digits(individual_digits) before the regexes
  bool ignore_merges = false;
  bool add_bos = false;
};

const std::vector<PreType>& pre_types() {
  static const std::vector<PreType> table = {
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"},
       {kLlama3Regex},
       false,
       true,
       true},
      // Smaug (a Llama 3 fine-tune): Llama 3's regex, but merges are not ignored
      {{"smaug-bpe"}, {kLlama3Regex}},
      {{"qwen2", "deepseek-r1-qwen", "megrez", "stablelm2", "hunyuan"}, {kQwen2Regex}},
      {{"qwen35"}, {kQwen35Regex}},
      {{"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
        "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "trillion", "granite-docling",
        "roberta-bpe"},
       {kGpt2Regex}},
      {{"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"},
       {kGpt2Regex},
       true},
      {{"tekken"}, {kTekkenRegex}, false, true, true},
      {{"gpt-4o", "llama4"}, {kGpt4oRegex}},
      {{"deepseek-v3"}, {"\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+", kDeepseek3Regex}},
      {{"glm4", "chatglm-bpe"}, {kLlama3Regex}},
      {{"default"},
       {"[\\p{P}\\$\\+<=>\\^~\\|]+",
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)", "\\p{N}+",
        "[0-9][0-9][0-9]"}},
  };
  return table;
}

const PreType& find_pre_type(const std::string& pre, const std::string& file) {
  const std::string name = pre.empty() ? "default" : pre;
  for (const PreType& t : pre_types()) {
    if (std::find_if(t.names.begin(), t.names.end(), [&](const char* n) { return name == n; }) != t.names.end()) return t;
  }
  throw Error(file + ": tokenizer.ggml.pre '" + pre + "' is not supported");
}

// A special token id from the metadata. Converters sometimes write ids past the vocabulary
// (or -1 for "none"); like llama.cpp, such an id is ignored with a warning rather than
// refusing an otherwise usable model.
std::optional<TokenId> token_id_key(const gguf::File& f, const char* key, size_t n_tokens) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  const int64_t id = v->as_int();
  if (id < 0 || static_cast<size_t>(id) >= n_tokens) {
    if (id != -1 && id != 0xFFFFFFFF) {
      spdlog::warn("{}: {} = {} is not a token id (vocabulary size {}); ignored", f.path(), key, id, n_tokens);
    }
    return std::nullopt;
  }
  return static_cast<TokenId>(id);
}

std::optional<bool> bool_key(const gguf::File& f, const char* key) {
  const gguf::Value* v = f.find(key);
  if (v == nullptr) return std::nullopt;
  return v->as_bool();
}

std::unique_ptr<PreTokenizer> regex_splits(const PreType& pre, const std::string& file, bool byte_level) {
  std::vector<std::unique_ptr<PreTokenizer>> steps;
  if (pre.digits_first) {
    steps.push_back(std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Class::Numeric, SplitBehavior::Isolated));
  }
  for (const char* r : pre.regexes) {
    steps.push_back(std::make_unique<SplitPreTokenizer>(std::make_unique<Regex>(r, file + ": tokenizer.ggml.pre"),
                                                        SplitBehavior::Isolated, false));
  }
  if (byte_level) steps.push_back(std::make_unique<ByteLevelPreTokenizer>(false, false));
  return std::make_unique<SequencePreTokenizer>(std::move(steps));
}

std::unique_ptr<Decoder> sentencepiece_decoder(bool strip_prefix_space) {
  std::vector<std::unique_ptr<Decoder>> steps;
  steps.push_back(std::make_unique<ReplaceDecoder>("\xE2\x96\x81", " "));
  steps.push_back(std::make_unique<ByteFallbackDecoder>());
  steps.push_back(std::make_unique<FuseDecoder>());
  if (strip_prefix_space) steps.push_back(std::make_unique<StripDecoder>(' ', 1, 0));
  return std::make_unique<SequenceDecoder>(std::move(steps));
}

PairMap read_merges(const gguf::File& f, const Vocab& vocab) {
  const std::vector<std::string>& merges = f.get("tokenizer.ggml.merges").as_strings();
  PairMap map;
  map.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string& m = merges[i];
    // The separator is the first space after the first character, as llama.cpp reads it.
    const size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos) {
      throw Error(f.path() + ": tokenizer.ggml.merges[" + std::to_string(i) + "]: expected two tokens separated by a space");
    }
    const std::string_view a = std::string_view(m).substr(0, sp), b = std::string_view(m).substr(sp + 1);
    const auto ia = vocab.find(a), ib = vocab.find(b);
    const auto merged = vocab.find(std::string(a) + std::string(b));
    // A merge whose parts or result are not tokens can never yield a token: skip it.
    if (!ia || !ib || !merged) continue;
    map.insert(*ia, *ib, static_cast<uint32_t>(i), *merged, /*overwrite=*/false);
  }
  return map;
}

}  // namespace

std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path) {
  const gguf::File f = gguf::File::open(path);
  const std::string& file = f.path();
  if (!f.has("tokenizer.ggml.model")) throw Error(file + ": no tokenizer (tokenizer.ggml.model is missing)");
  const std::string model = f.get("tokenizer.ggml.model").as_string();
  const std::string pre = f.has("tokenizer.ggml.pre") ? f.get("tokenizer.ggml.pre").as_string() : "";

  const std::vector<std::string>& tokens = f.get("tokenizer.ggml.tokens").as_strings();
  const size_t n = tokens.size();
  if (n == 0 || n >= (size_t{1} << 30)) throw Error(file + ": tokenizer.ggml.tokens has " + std::to_string(n) + " tokens");
  std::vector<int64_t> types(n, kNormal);
  if (const gguf::Value* t = f.find("tokenizer.ggml.token_type")) {
    types = t->as_ints();
    if (types.size() < n) throw Error(file + ": tokenizer.ggml.token_type has fewer entries than tokenizer.ggml.tokens");
  }
  std::vector<float> scores;
  if (const gguf::Value* s = f.find("tokenizer.ggml.scores")) {
    scores = s->as_floats();
    if (scores.size() < n) throw Error(file + ": tokenizer.ggml.scores has fewer entries than tokenizer.ggml.tokens");
  }

  PipelineParts parts;
  parts.vocab = std::make_shared<Vocab>();
  parts.vocab->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string text = tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : tokens[i];
    if (parts.vocab->find(text)) throw Error(file + ": tokenizer.ggml.tokens[" + std::to_string(i) + "]: duplicate token '" + text + "'");
    const int64_t type = types[i];
    if (type == kControl || type == kUserDefined || type == kUnknown) {
      AddedToken t;
      t.content = text;
      t.id = static_cast<TokenId>(i);
      t.special = type != kUserDefined;
      parts.added.add(std::move(t));
    }
    parts.vocab->set(static_cast<TokenId>(i), std::move(text));
  }

  SpecialTokenIds ids;
  ids.bos = token_id_key(f, "tokenizer.ggml.bos_token_id", n);
  ids.eos = token_id_key(f, "tokenizer.ggml.eos_token_id", n);
  ids.eot = token_id_key(f, "tokenizer.ggml.eot_token_id", n);
  ids.pad = token_id_key(f, "tokenizer.ggml.padding_token_id", n);
  ids.unk = token_id_key(f, "tokenizer.ggml.unknown_token_id", n);

  bool add_bos = false;
  std::string description;
  if (model == "llama") {
    if (scores.empty()) throw Error(file + ": tokenizer.ggml.scores is required for a 'llama' tokenizer");
    if (!ids.unk && parts.vocab->find("<unk>")) ids.unk = *parts.vocab->find("<unk>");
    const bool prefix_space = bool_key(f, "tokenizer.ggml.add_space_prefix").value_or(true);
    std::vector<std::unique_ptr<Normalizer>> norm;
    if (prefix_space) norm.push_back(std::make_unique<PrependNormalizer>(" "));
    norm.push_back(std::make_unique<ReplaceNormalizer>(" ", "\xE2\x96\x81"));
    parts.normalizer = std::make_unique<SequenceNormalizer>(std::move(norm));
    parts.model = std::make_unique<SpmScoreModel>(parts.vocab, std::move(scores), ids.unk);
    parts.decoder = sentencepiece_decoder(prefix_space);
    add_bos = true;
    description = "GGUF llama (SentencePiece BPE)";
  } else if (model == "gpt2") {
    const PreType& p = find_pre_type(pre, file);
    parts.pre_tokenizer = regex_splits(p, file, /*byte_level=*/true);
    BpeOptions opt;
    opt.ignore_merges = p.ignore_merges;
    parts.model = std::make_unique<BpeModel>(parts.vocab, read_merges(f, *parts.vocab), opt);
    parts.decoder = std::make_unique<ByteLevelDecoder>();
    add_bos = p.add_bos;
    description = "GGUF gpt2 (byte-level BPE, pre '" + (pre.empty() ? std::string("default") : pre) + "')";
  } else if (model == "gemma4") {
    parts.normalizer = std::make_unique<ReplaceNormalizer>(" ", "\xE2\x96\x81");
    PreType newline_split{{}, {"[^\\n]+|[\\n]+"}};
    parts.pre_tokenizer = regex_splits(newline_split, file, /*byte_level=*/false);
    BpeOptions opt;
    opt.byte_fallback = true;
    opt.whole_newline_runs = true;
    parts.model = std::make_unique<BpeModel>(parts.vocab, read_merges(f, *parts.vocab), opt);
    parts.decoder = sentencepiece_decoder(false);
    add_bos = true;  // llama.cpp forces BOS for Gemma 4
    description = "GGUF gemma4 (SentencePiece-style BPE)";
  } else {
    throw Error(file + ": tokenizer.ggml.model '" + model + "' is not supported (supported: llama, gpt2, gemma4)");
  }
  if (model != "gemma4") add_bos = bool_key(f, "tokenizer.ggml.add_bos_token").value_or(add_bos);
  const bool add_eos = bool_key(f, "tokenizer.ggml.add_eos_token").value_or(false);
  std::vector<TokenId> before, after;
  if (add_bos) {
    if (!ids.bos) throw Error(file + ": tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is not set");
    before.push_back(*ids.bos);
  }
  if (add_eos) {
    if (!ids.eos) throw Error(file + ": tokenizer.ggml.add_eos_token is true but tokenizer.ggml.eos_token_id is not set");
    after.push_back(*ids.eos);
  }
  parts.post_processor = std::make_unique<TemplatePostProcessor>(std::move(before), std::move(after));
  parts.added.build(nullptr);

  TokenizerConfig cfg;
  for (const std::string& key : f.keys()) {
    if (key == "tokenizer.chat_template") {
      cfg.chat_template = f.get(key).as_string();
      cfg.chat_templates["default"] = cfg.chat_template;
    } else if (key.rfind("tokenizer.chat_template.", 0) == 0) {
      cfg.chat_templates[key.substr(std::strlen("tokenizer.chat_template."))] = f.get(key).as_string();
    }
  }
  auto name_of = [&](std::optional<TokenId> id) -> std::optional<std::string> {
    if (!id) return std::nullopt;
    return *parts.vocab->token(*id);
  };
  cfg.bos_token = name_of(ids.bos);
  cfg.eos_token = name_of(ids.eos);
  cfg.pad_token = name_of(ids.pad);
  cfg.unk_token = name_of(ids.unk);
  cfg.add_bos_token = add_bos;
  cfg.add_eos_token = add_eos;

  auto tok = std::make_unique<PipelineTokenizer>(std::move(parts), std::move(cfg), std::move(description));
  tok->set_special_ids(ids);
  return tok;
}

}  // namespace kiln::text
