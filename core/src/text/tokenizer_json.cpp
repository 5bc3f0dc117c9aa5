// tokenizer.json -> PipelineTokenizer. Every stage type we support is built here; anything
// else is refused with an error naming the file and the field.
#include <algorithm>
#include <cstring>

#include "text/bpe_model.h"
#include "text/byte_level.h"
#include "text/decoders.h"
#include "text/json_fields.h"
#include "text/loaders.h"
#include "text/normalizers.h"
#include "text/pipeline_tokenizer.h"
#include "text/post_processors.h"
#include "text/pre_tokenizers.h"
#include "text/utf8.h"

namespace kiln::text {

namespace {

// model.vocab and model.merges hold most of a tokenizer.json (hundreds of thousands of
// entries): they are taken out while parsing instead of being built into the JSON tree.
struct MergeEntry {
  std::string a, b;
  std::string raw;  // the string form as written, for messages
  bool ok = false;
};

struct StreamedModel {
  std::vector<std::pair<std::string, Json>> vocab;
  std::vector<MergeEntry> merges;
  bool has_vocab = false;
  bool has_merges = false;
};

Json parse_streaming(std::string_view text, const std::string& name, StreamedModel& model) {
  std::vector<std::string> keys(8);
  std::vector<Json::value_t> kinds(8, Json::value_t::null);
  std::vector<std::string> pair;
  bool pair_bad = false;
  auto in = [&](const char* container, Json::value_t kind) {
    return keys[1] == "model" && keys[2] == container && kinds[1] == Json::value_t::object && kinds[2] == kind;
  };
  auto cb = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    const auto d = static_cast<size_t>(depth);
    if (d + 1 >= keys.size()) {
      keys.resize(d + 2);
      kinds.resize(d + 2, Json::value_t::null);
    }
    switch (event) {
      case Json::parse_event_t::key:
        keys[d] = parsed.get<std::string>();
        // A vocabulary entry's key is kept here, not in the tree; its value is taken below.
        return !(d == 3 && in("vocab", Json::value_t::object));
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        kinds[d] = event == Json::parse_event_t::object_start ? Json::value_t::object : Json::value_t::array;
        keys[d + 1].clear();
        if (d == 2 && keys[1] == "model" && keys[2] == "vocab" && kinds[2] == Json::value_t::object) model.has_vocab = true;
        if (d == 2 && keys[1] == "model" && keys[2] == "merges" && kinds[2] == Json::value_t::array) model.has_merges = true;
        if (d == 3 && in("vocab", Json::value_t::object)) {
          model.vocab.emplace_back(keys[3], Json());  // not an integer: reported later
        } else if (d == 3 && in("merges", Json::value_t::array)) {
          pair.clear();
          pair_bad = event != Json::parse_event_t::array_start;
        } else if (d == 4 && in("merges", Json::value_t::array)) {
          pair_bad = true;
        }
        return true;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (d == 3 && in("merges", Json::value_t::array)) {
          MergeEntry m;
          m.ok = !pair_bad && pair.size() == 2 && kinds[3] == Json::value_t::array;
          if (m.ok) {
            m.a = std::move(pair[0]);
            m.b = std::move(pair[1]);
          }
          model.merges.push_back(std::move(m));
          return false;
        }
        return true;
      case Json::parse_event_t::value:
        if (d == 3 && in("vocab", Json::value_t::object)) {
          model.vocab.emplace_back(keys[3], std::move(parsed));
          return false;
        }
        if (d == 3 && in("merges", Json::value_t::array)) {
          MergeEntry m;
          if (parsed.is_string()) {
            m.raw = parsed.get<std::string>();
            const size_t sp = m.raw.find(' ');
            m.ok = sp != std::string::npos && m.raw.find(' ', sp + 1) == std::string::npos;
            if (m.ok) {
              m.a = m.raw.substr(0, sp);
              m.b = m.raw.substr(sp + 1);
            }
          }
          model.merges.push_back(std::move(m));
          return false;
        }
        if (d == 4 && in("merges", Json::value_t::array) && kinds[3] == Json::value_t::array) {
          if (parsed.is_string()) {
            pair.push_back(parsed.get<std::string>());
          } else {
            pair_bad = true;
          }
          return false;
        }
        return true;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), cb);
  } catch (const Json::exception& e) {
    throw Error(name + ": not valid JSON (" + e.what() + ")");
  }
}

std::string type_of(const Json& j, const JsonPath& at) {
  require_object(j, at);
  return get_string(j, "type", at);
}

[[noreturn]] void unsupported(const JsonPath& at, const std::string& kind, const std::string& type) {
  (at / "type").fail(kind + " '" + type + "' is not supported");
}

// {"String": "x"} or {"Regex": "x"}: a literal, or a compiled regex.
struct Pattern {
  std::string literal;
  std::unique_ptr<Regex> regex;
};

Pattern parse_pattern(const Json& obj, const JsonPath& at) {
  const JsonPath p = at / "pattern";
  const Json* j = field(obj, "pattern");
  if (j == nullptr) p.fail("missing");
  require_object(*j, p);
  Pattern out;
  if (const Json* s = field(*j, "String")) {
    if (!s->is_string()) (p / "String").fail("expected a string");
    out.literal = s->get<std::string>();
  } else if (const Json* r = field(*j, "Regex")) {
    if (!r->is_string()) (p / "Regex").fail("expected a string");
    out.regex = std::make_unique<Regex>(r->get<std::string>(), p.file() + ": " + p.path());
  } else {
    p.fail("expected {\"String\": ...} or {\"Regex\": ...}");
  }
  return out;
}

SplitBehavior parse_behavior(const Json& obj, const JsonPath& at, SplitBehavior fallback) {
  auto s = get_optional_string(obj, "behavior", at);
  if (!s) return fallback;
  if (*s == "Removed") return SplitBehavior::Removed;
  if (*s == "Isolated") return SplitBehavior::Isolated;
  if (*s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (*s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (*s == "Contiguous") return SplitBehavior::Contiguous;
  (at / "behavior").fail("unknown behavior '" + *s + "'");
}

PrependScheme parse_prepend_scheme(const Json& obj, const JsonPath& at) {
  if (auto s = get_optional_string(obj, "prepend_scheme", at)) {
    if (*s == "always") return PrependScheme::Always;
    if (*s == "never") return PrependScheme::Never;
    if (*s == "first") return PrependScheme::First;
    (at / "prepend_scheme").fail("unknown scheme '" + *s + "'");
  }
  // Older files: add_prefix_space instead of prepend_scheme.
  return get_bool(obj, "add_prefix_space", true, at) ? PrependScheme::Always : PrependScheme::Never;
}

std::unique_ptr<Normalizer> parse_normalizer(const Json& j, const JsonPath& at) {
  const std::string type = type_of(j, at);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> steps;
    const Json& list = get_array(j, "normalizers", at);
    for (size_t i = 0; i < list.size(); ++i) steps.push_back(parse_normalizer(list[i], (at / "normalizers")[i]));
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(get_bool(j, "strip_left", true, at), get_bool(j, "strip_right", true, at));
  }
  if (type == "Replace") {
    Pattern p = parse_pattern(j, at);
    std::string content = get_string(j, "content", at);
    if (p.regex) return std::make_unique<ReplaceNormalizer>(std::move(p.regex), std::move(content));
    return std::make_unique<ReplaceNormalizer>(std::move(p.literal), std::move(content));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(get_string(j, "prepend", at));
  if (type == "BertNormalizer") {
    const bool lowercase = get_bool(j, "lowercase", true, at);
    return std::make_unique<BertNormalizer>(get_bool(j, "clean_text", true, at),
                                            get_bool(j, "handle_chinese_chars", true, at),
                                            get_bool(j, "strip_accents", lowercase, at), lowercase);
  }
  if (type == "Precompiled") {
    // A SentencePiece character map; an empty one normalizes nothing.
    const Json* map = field(j, "precompiled_charsmap");
    if (map == nullptr || (map->is_string() && map->get<std::string>().empty())) {
      return std::make_unique<SequenceNormalizer>(std::vector<std::unique_ptr<Normalizer>>{});
    }
  }
  unsupported(at, "normalizer", type);
}

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const Json& j, const JsonPath& at) {
  const std::string type = type_of(j, at);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    const Json& list = get_array(j, "pretokenizers", at);
    for (size_t i = 0; i < list.size(); ++i) steps.push_back(parse_pre_tokenizer(list[i], (at / "pretokenizers")[i]));
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  if (type == "Split") {
    Pattern p = parse_pattern(j, at);
    const SplitBehavior b = parse_behavior(j, at, SplitBehavior::Isolated);
    const bool invert = get_bool(j, "invert", false, at);
    if (p.regex) return std::make_unique<SplitPreTokenizer>(std::move(p.regex), b, invert);
    return std::make_unique<SplitPreTokenizer>(std::move(p.literal), b, invert);
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(get_bool(j, "add_prefix_space", true, at),
                                                   get_bool(j, "use_regex", true, at));
  }
  if (type == "Metaspace") {
    const std::string rep = get_string(j, "replacement", at);
    if (utf8_count(rep) != 1) (at / "replacement").fail("expected one character");
    return std::make_unique<MetaspacePreTokenizer>(rep, parse_prepend_scheme(j, at), get_bool(j, "split", true, at));
  }
  if (type == "Whitespace") return make_whitespace_pre_tokenizer();
  if (type == "WhitespaceSplit") {
    return std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Class::Whitespace, SplitBehavior::Removed);
  }
  if (type == "Digits") {
    return std::make_unique<CharClassPreTokenizer>(
        CharClassPreTokenizer::Class::AsciiDigit,
        get_bool(j, "individual_digits", false, at) ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }
  if (type == "Punctuation") {
    return std::make_unique<CharClassPreTokenizer>(CharClassPreTokenizer::Class::Punctuation,
                                                   parse_behavior(j, at, SplitBehavior::Isolated));
  }
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  unsupported(at, "pre-tokenizer", type);
}

std::unique_ptr<Decoder> parse_decoder(const Json& j, const JsonPath& at) {
  const std::string type = type_of(j, at);
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> steps;
    const Json& list = get_array(j, "decoders", at);
    for (size_t i = 0; i < list.size(); ++i) steps.push_back(parse_decoder(list[i], (at / "decoders")[i]));
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    const std::string rep = get_string(j, "replacement", at);
    if (utf8_count(rep) != 1) (at / "replacement").fail("expected one character");
    return std::make_unique<MetaspaceDecoder>(rep, parse_prepend_scheme(j, at));
  }
  if (type == "Replace") {
    Pattern p = parse_pattern(j, at);
    std::string content = get_string(j, "content", at);
    if (p.regex) return std::make_unique<ReplaceDecoder>(std::move(p.regex), std::move(content));
    return std::make_unique<ReplaceDecoder>(std::move(p.literal), std::move(content));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const std::string content = get_string(j, "content", at);
    if (content.empty() || utf8_count(content) != 1) (at / "content").fail("expected one character");
    return std::make_unique<StripDecoder>(utf8_decode(content, 0).cp,
                                          static_cast<size_t>(get_int(j, "start", 0, 1 << 20, at)),
                                          static_cast<size_t>(get_int(j, "stop", 0, 1 << 20, at)));
  }
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(get_optional_string(j, "prefix", at).value_or("##"),
                                              get_bool(j, "cleanup", true, at));
  }
  if (type == "BPEDecoder") {
    return std::make_unique<BpeSuffixDecoder>(get_optional_string(j, "suffix", at).value_or("</w>"));
  }
  unsupported(at, "decoder", type);
}

// ["[CLS]", 101] as used by Roberta/Bert processing.
TokenId token_pair_id(const Json& obj, const char* key, const JsonPath& at) {
  const Json* v = field(obj, key);
  if (v == nullptr || !v->is_array() || v->size() != 2 || !(*v)[1].is_number_integer()) {
    (at / key).fail("expected [token, id]");
  }
  const auto id = (*v)[1].get<int64_t>();
  if (id < 0 || id > INT32_MAX) (at / key).fail("id out of range");
  return static_cast<TokenId>(id);
}

std::unique_ptr<PostProcessor> parse_post_processor(const Json& j, const JsonPath& at) {
  const std::string type = type_of(j, at);
  if (type == "ByteLevel") return nullptr;  // offsets only; ids are unchanged
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    return std::make_unique<TemplatePostProcessor>(std::vector<TokenId>{token_pair_id(j, "cls", at)},
                                                   std::vector<TokenId>{token_pair_id(j, "sep", at)});
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> steps;
    const Json& list = get_array(j, "processors", at);
    for (size_t i = 0; i < list.size(); ++i) {
      if (auto p = parse_post_processor(list[i], (at / "processors")[i])) steps.push_back(std::move(p));
    }
    return std::make_unique<SequencePostProcessor>(std::move(steps));
  }
  if (type == "TemplateProcessing") {
    const Json* specials = field(j, "special_tokens");
    const Json& single = get_array(j, "single", at);
    std::vector<TokenId> before, after;
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const JsonPath item_at = (at / "single")[i];
      const Json& item = require_object(single[i], item_at);
      if (field(item, "Sequence")) {
        seen_sequence = true;
        continue;
      }
      const Json* st = field(item, "SpecialToken");
      if (st == nullptr) item_at.fail("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
      const std::string name = get_string(require_object(*st, item_at / "SpecialToken"), "id", item_at / "SpecialToken");
      const JsonPath sp_at = at / "special_tokens" / name;
      if (specials == nullptr || !specials->contains(name)) sp_at.fail("special token '" + name + "' is not defined");
      const Json& ids = get_array(require_object((*specials)[name], sp_at), "ids", sp_at);
      for (size_t k = 0; k < ids.size(); ++k) {
        if (!ids[k].is_number_integer() || ids[k].get<int64_t>() < 0 || ids[k].get<int64_t>() > INT32_MAX) {
          (sp_at / "ids")[k].fail("expected a token id");
        }
        (seen_sequence ? after : before).push_back(static_cast<TokenId>(ids[k].get<int64_t>()));
      }
    }
    return std::make_unique<TemplatePostProcessor>(std::move(before), std::move(after));
  }
  unsupported(at, "post-processor", type);
}

std::unique_ptr<Model> parse_bpe(const Json& j, const JsonPath& at, StreamedModel& streamed, std::shared_ptr<Vocab> vocab,
                                 bool& byte_fallback) {
  if (!streamed.has_vocab) (at / "vocab").fail("expected an object of token -> id");
  vocab->reserve(streamed.vocab.size());
  for (auto& [token, value] : streamed.vocab) {
    if (!value.is_number_integer()) (at / "vocab" / token).fail("expected an integer id");
    const auto id = value.get<int64_t>();
    if (id < 0 || id >= (int64_t{1} << 30)) (at / "vocab" / token).fail("id " + std::to_string(id) + " is out of range");
    vocab->set(static_cast<TokenId>(id), std::move(token));
  }

  if (const Json* d = field(j, "dropout"); d != nullptr && !(d->is_number() && d->get<double>() == 0.0)) {
    (at / "dropout").fail("BPE dropout is not supported (it makes encoding random)");
  }
  BpeOptions opt;
  byte_fallback = opt.byte_fallback = get_bool(j, "byte_fallback", false, at);
  opt.fuse_unk = get_bool(j, "fuse_unk", false, at);
  opt.ignore_merges = get_bool(j, "ignore_merges", false, at);
  opt.continuing_subword_prefix = get_optional_string(j, "continuing_subword_prefix", at).value_or("");
  opt.end_of_word_suffix = get_optional_string(j, "end_of_word_suffix", at).value_or("");
  if (auto unk = get_optional_string(j, "unk_token", at)) opt.unk = vocab->find(*unk);

  if (!streamed.has_merges) {
    const Json* m = field(j, "merges");
    (at / "merges").fail(m == nullptr ? "missing" : "expected an array");
  }
  PairMap map;
  map.reserve(streamed.merges.size());
  const size_t prefix_len = opt.continuing_subword_prefix.size();
  std::string merged;
  for (size_t i = 0; i < streamed.merges.size(); ++i) {
    const MergeEntry& m = streamed.merges[i];
    const JsonPath m_at = (at / "merges")[i];
    if (!m.ok) {
      m_at.fail(m.raw.empty() ? "expected \"a b\" or [\"a\", \"b\"]"
                              : "expected two tokens separated by one space, got '" + m.raw + "'");
    }
    const auto ia = vocab->find(m.a), ib = vocab->find(m.b);
    if (!ia || !ib || m.b.size() < prefix_len) {
      m_at.fail("merge '" + m.a + " " + m.b + "' uses a token missing from the vocabulary");
    }
    merged.assign(m.a);
    merged.append(m.b, prefix_len, std::string::npos);
    const auto id = vocab->find(merged);
    if (!id) m_at.fail("the result of merge '" + m.a + " " + m.b + "' is missing from the vocabulary");
    map.insert(*ia, *ib, static_cast<uint32_t>(i), *id, /*overwrite=*/true);
  }
  return std::make_unique<BpeModel>(std::move(vocab), std::move(map), std::move(opt));
}

bool contains_type(const Json* j, const char* type) {
  if (j == nullptr) return false;
  const std::string dump = j->dump();
  return dump.find(std::string("\"type\":\"") + type + "\"") != std::string::npos;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(std::string_view json_text, const std::string& name,
                                               TokenizerConfig config) {
  StreamedModel streamed;
  const Json root = parse_streaming(json_text, name, streamed);
  const JsonPath at(name, "");
  if (!root.is_object()) at.fail("expected a JSON object at the top level");

  PipelineParts parts;
  parts.vocab = std::make_shared<Vocab>();

  const Json* model = field(root, "model");
  if (model == nullptr) (at / "model").fail("missing");
  require_object(*model, at / "model");
  std::string model_type = get_optional_string(*model, "type", at / "model").value_or(field(*model, "merges") ? "BPE" : "");
  bool byte_fallback = false;
  if (model_type == "BPE") {
    parts.model = parse_bpe(*model, at / "model", streamed, parts.vocab, byte_fallback);
  } else {
    (at / "model" / "type").fail("model '" + model_type + "' is not supported (supported: BPE)");
  }

  if (const Json* n = field(root, "normalizer")) parts.normalizer = parse_normalizer(*n, at / "normalizer");
  if (const Json* p = field(root, "pre_tokenizer")) parts.pre_tokenizer = parse_pre_tokenizer(*p, at / "pre_tokenizer");
  if (const Json* p = field(root, "post_processor")) parts.post_processor = parse_post_processor(*p, at / "post_processor");
  if (const Json* d = field(root, "decoder")) parts.decoder = parse_decoder(*d, at / "decoder");

  if (const Json* added = field(root, "added_tokens")) {
    if (!added->is_array()) (at / "added_tokens").fail("expected an array");
    for (size_t i = 0; i < added->size(); ++i) {
      const JsonPath t_at = (at / "added_tokens")[i];
      const Json& t = require_object((*added)[i], t_at);
      AddedToken tok;
      tok.id = static_cast<TokenId>(get_int(t, "id", 0, (int64_t{1} << 30) - 1, t_at));
      tok.content = get_string(t, "content", t_at);
      if (tok.content.empty()) (t_at / "content").fail("empty token");
      if (!utf8_valid(tok.content)) (t_at / "content").fail("not valid UTF-8");
      tok.special = get_bool(t, "special", false, t_at);
      tok.lstrip = get_bool(t, "lstrip", false, t_at);
      tok.rstrip = get_bool(t, "rstrip", false, t_at);
      tok.single_word = get_bool(t, "single_word", false, t_at);
      tok.normalized = get_bool(t, "normalized", !tok.special, t_at);
      parts.added.add(std::move(tok));
    }
  }
  parts.added.build(parts.normalizer.get());

  SpecialTokenIds ids;
  // With no bos_token in tokenizer_config.json, the template's leading special token is BOS.
  if (!config.bos_token) {
    if (auto* t = dynamic_cast<const TemplatePostProcessor*>(parts.post_processor.get()); t && !t->before().empty()) {
      ids.bos = t->before().front();
    }
  }
  if (const Json* unk = field(*model, "unk_token"); unk && unk->is_string() && !config.unk_token) {
    config.unk_token = unk->get<std::string>();
  }

  std::string description = "tokenizer.json BPE";
  if (contains_type(field(root, "pre_tokenizer"), "ByteLevel") || contains_type(field(root, "decoder"), "ByteLevel")) {
    description += " (byte-level)";
  } else if (byte_fallback) {
    description += " (SentencePiece-style, byte fallback)";
  }
  auto tok = std::make_unique<PipelineTokenizer>(std::move(parts), std::move(config), std::move(description));
  tok->set_special_ids(ids);
  return tok;
}

}  // namespace kiln::text
