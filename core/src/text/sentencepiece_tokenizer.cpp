// tokenizer.model through the sentencepiece library. Control and unknown pieces written in the
// text ("<s>", "</s>", "<unk>") are cut out first and become their ids, as Hugging Face's
// Llama tokenizer does; every other piece of text goes to SentencePiece. BOS/EOS follow
// tokenizer_config.json's add_bos_token / add_eos_token (default: BOS only).
#include <sentencepiece_processor.h>

#include "kiln/error.h"
#include "text/added_vocabulary.h"
#include "text/loaders.h"
#include "text/special_tokens.h"
#include "text/utf8.h"

namespace kiln::text {

namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(const std::filesystem::path& file, TokenizerConfig config) {
    const std::string bytes = read_file_bytes(file);
    const auto status = sp_.LoadFromSerializedProto(bytes);
    if (!status.ok()) throw Error(file.string() + ": not a SentencePiece model (" + status.ToString() + ")");
    config_ = std::move(config);
    description_ = "SentencePiece tokenizer.model";
    const int n = sp_.GetPieceSize();
    for (int id = 0; id < n; ++id) {
      if (sp_.IsControl(id) || sp_.IsUnknown(id)) {
        AddedToken t;
        t.content = sp_.IdToPiece(id);
        t.id = id;
        t.special = true;
        if (!t.content.empty()) specials_.add(std::move(t));
      }
    }
    specials_.build(nullptr);
    SpecialTokenIds ids;
    if (sp_.bos_id() >= 0) ids.bos = sp_.bos_id();
    if (sp_.eos_id() >= 0) ids.eos = sp_.eos_id();
    if (sp_.pad_id() >= 0) ids.pad = sp_.pad_id();
    if (sp_.unk_id() >= 0) ids.unk = sp_.unk_id();
    special_ = resolve_special_ids(*this, ids);
    eog_ = end_of_generation_ids_for(*this);
    add_bos_ = config_.add_bos_token.value_or(true) && special_.bos.has_value();
    add_eos_ = config_.add_eos_token.value_or(false) && special_.eos.has_value();
  }

  std::vector<TokenId> encode(std::string_view text, bool add_special) const override {
    std::string repaired;
    if (!utf8_valid(text)) {
      repaired = utf8_repair(text);
      text = repaired;
    }
    std::vector<TokenId> ids;
    if (add_special && add_bos_) ids.push_back(*special_.bos);
    std::vector<int> piece_ids;
    for (const Segment& seg : specials_.split(text, nullptr)) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      piece_ids.clear();
      const auto status = sp_.Encode(seg.text, &piece_ids);
      if (!status.ok()) throw Error("SentencePiece encode failed: " + status.ToString());
      ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
    }
    if (add_special && add_eos_) ids.push_back(*special_.eos);
    return ids;
  }

  std::string decode(std::span<const TokenId> ids, bool skip_special) const override {
    // SentencePiece decodes runs of ordinary pieces; special pieces are written as their text.
    std::string out;
    std::vector<int> run;
    bool after_special = false;
    auto flush = [&] {
      if (run.empty()) return;
      std::string piece_text;
      sp_.Decode(run, &piece_text);
      // SentencePiece drops the leading space of what it decodes; after a special token the
      // space is part of the text.
      if (after_special && sp_.IdToPiece(run.front()).rfind("\xE2\x96\x81", 0) == 0) out += ' ';
      out += piece_text;
      run.clear();
    };
    for (TokenId id : ids) {
      if (!valid(id)) continue;
      if (sp_.IsControl(id) || sp_.IsUnknown(id)) {
        flush();
        if (!skip_special) {
          out += sp_.IdToPiece(id);
          after_special = true;
        }
        continue;
      }
      run.push_back(id);
    }
    flush();
    return utf8_valid(out) ? out : utf8_repair(out);
  }

  std::string decode_bytes(std::span<const TokenId> ids, bool skip_special, bool at_start) const override {
    std::string out;
    bool first = at_start;
    for (TokenId id : ids) {
      if (!valid(id)) continue;
      if (sp_.IsControl(id) || sp_.IsUnknown(id)) {
        if (!skip_special) {
          out += sp_.IdToPiece(id);
          first = false;
        }
        continue;
      }
      const std::string piece = sp_.IdToPiece(id);
      if (sp_.IsByte(id) && piece.size() == 6) {
        out.push_back(static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
      } else {
        std::string t;
        for (size_t i = 0; i < piece.size(); ++i) {
          if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
            t += ' ';
            i += 2;
          } else {
            t += piece[i];
          }
        }
        if (first && !t.empty() && t[0] == ' ') t.erase(0, 1);
        out += t;
      }
      first = false;
    }
    return out;
  }

  std::string token_text(TokenId id) const override {
    if (!valid(id)) throw Error("tokenizer: token id " + std::to_string(id) + " has no token (vocabulary size " + std::to_string(vocab_size()) + ")");
    return sp_.IdToPiece(id);
  }
  std::optional<TokenId> token_to_id(std::string_view token_text) const override {
    const int id = sp_.PieceToId(std::string(token_text));
    // PieceToId answers unk for strings it does not know.
    if (id == sp_.unk_id() && sp_.IdToPiece(id) != token_text) return std::nullopt;
    return id;
  }
  size_t vocab_size() const override { return static_cast<size_t>(sp_.GetPieceSize()); }
  bool is_special(TokenId id) const override { return valid(id) && (sp_.IsControl(id) || sp_.IsUnknown(id)); }

 private:
  bool valid(TokenId id) const { return id >= 0 && id < sp_.GetPieceSize(); }

  sentencepiece::SentencePieceProcessor sp_;
  AddedVocabulary specials_;
  bool add_bos_ = true;
  bool add_eos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& file, TokenizerConfig config) {
  return std::make_unique<SentencePieceTokenizer>(file, std::move(config));
}

}  // namespace kiln::text
