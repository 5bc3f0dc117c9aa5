// kiln::Tokenizer — text <-> token ids. One factory loads the three kinds of tokenizer files a
// model may carry: a Hugging Face tokenizer.json (byte-level BPE as in Llama 3 / Qwen, or
// SentencePiece-style BPE with byte fallback as in Llama 2 / Mistral / Gemma), a SentencePiece
// tokenizer.model, or the tokenizer stored in a GGUF file's tokenizer.ggml.* metadata.
// Encoding matches Hugging Face tokenizers' Tokenizer.encode exactly; GGUF vocabularies
// tokenize as llama.cpp does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

using TokenId = int32_t;

// The parts of tokenizer_config.json (or GGUF tokenizer.chat_template*) a chat template needs.
struct TokenizerConfig {
  std::string chat_template;                          // the default template; "" when none
  std::map<std::string, std::string> chat_templates;  // every named template ("default", "tool_use", ...)
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<std::string> unk_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
};

struct SpecialTokenIds {
  std::optional<TokenId> bos;
  std::optional<TokenId> eos;
  std::optional<TokenId> eot;  // end of turn (<|eot_id|>, <|im_end|>, <end_of_turn>, ...)
  std::optional<TokenId> pad;
  std::optional<TokenId> unk;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The ids of `text` (UTF-8; invalid bytes are read as U+FFFD). add_special adds what
  // Hugging Face encode(add_special_tokens=True) adds (BOS/EOS templates); special-token
  // strings inside the text become their ids either way.
  virtual std::vector<TokenId> encode(std::string_view text, bool add_special = true) const = 0;

  // The text of `ids`, as Hugging Face decode does (ids without a token are dropped; bytes
  // that do not form UTF-8 become U+FFFD).
  virtual std::string decode(std::span<const TokenId> ids, bool skip_special = false) const = 0;

  // The raw bytes of `ids` with no UTF-8 repair; `at_start` applies the rules for the first
  // tokens of a text (such as dropping SentencePiece's prefix space). StreamingDecoder's basis.
  virtual std::string decode_bytes(std::span<const TokenId> ids, bool skip_special,
                                   bool at_start) const = 0;

  // The token's vocabulary string ("Ġhello", "▁the", "<0x0A>", "<|eot_id|>").
  // Throws kiln::Error for an id without a token.
  virtual std::string token_text(TokenId id) const = 0;
  // The bytes the token stands for in running text (" hello", "\n"; may be part of a UTF-8
  // character). Throws kiln::Error for an id without a token.
  std::string token_to_piece(TokenId id) const;
  virtual std::optional<TokenId> token_to_id(std::string_view token_text) const = 0;

  // One past the highest id with a token (added tokens included).
  virtual size_t vocab_size() const = 0;
  // Control tokens: BOS/EOS/PAD/UNK, chat markers; what skip_special drops.
  virtual bool is_special(TokenId id) const = 0;

  const SpecialTokenIds& special_ids() const { return special_; }
  std::optional<TokenId> bos_id() const { return special_.bos; }
  std::optional<TokenId> eos_id() const { return special_.eos; }
  std::optional<TokenId> eot_id() const { return special_.eot; }
  std::optional<TokenId> pad_id() const { return special_.pad; }
  // Ids that end a generation: EOS, EOT and their kin found in the vocabulary.
  const std::vector<TokenId>& end_of_generation_ids() const { return eog_; }
  bool is_end_of_generation(TokenId id) const;

  const TokenizerConfig& config() const { return config_; }
  // What was loaded, for messages: "tokenizer.json BPE (byte-level)", "GGUF llama (SentencePiece)".
  const std::string& description() const { return description_; }

 protected:
  SpecialTokenIds special_;
  std::vector<TokenId> eog_;
  TokenizerConfig config_;
  std::string description_;
};

// Loads a tokenizer from a tokenizer.json, a tokenizer.model, a .gguf file, or a model folder
// (tokenizer.json, else tokenizer.model). A tokenizer_config.json beside a tokenizer.json or
// tokenizer.model is read for chat templates and special-token names. Throws kiln::Error
// naming the file on anything malformed or unsupported.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

// Turns ids into text as they are generated, emitting only complete UTF-8: a character split
// across tokens is held back until its last byte arrives. Concatenating every feed() and
// finish() gives decode(all ids) for text that is valid UTF-8.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false);

  std::string feed(TokenId id);
  std::string feed(std::span<const TokenId> ids);
  // Whatever is still held back; an unfinished character becomes U+FFFD.
  std::string finish();
  void reset();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::vector<TokenId> window_;  // the previous id (context for first-token rules) and the new one
  bool at_start_ = true;
  std::string pending_;          // bytes of an unfinished character
};

}  // namespace kiln
