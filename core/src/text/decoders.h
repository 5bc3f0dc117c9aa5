// Hugging Face decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, WordPiece,
// BPEDecoder and Sequence. With DecodeContext::raw they keep bytes as they are (for
// streaming); otherwise invalid UTF-8 becomes U+FFFD exactly as Hugging Face does.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "text/pipeline.h"
#include "text/pre_tokenizers.h"
#include "text/regex.h"

namespace kiln::text {

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override {
    for (const auto& s : steps_) s->decode_chain(tokens, ctx);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, PrependScheme scheme)
      : replacement_(std::move(replacement)), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;

 private:
  std::string replacement_;
  PrependScheme scheme_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::string literal, std::string content) : literal_(std::move(literal)), content_(std::move(content)) {}
  ReplaceDecoder(std::unique_ptr<Regex> regex, std::string content) : regex_(std::move(regex)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;
};

// Removes up to `start` leading and `stop` trailing `content` characters of every token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(uint32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;

 private:
  uint32_t content_;
  size_t start_;
  size_t stop_;
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;

 private:
  std::string prefix_;
  bool cleanup_;
};

// BPEDecoder: the end-of-word suffix becomes a space (none after the last token).
class BpeSuffixDecoder : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const override;

 private:
  std::string suffix_;
};

}  // namespace kiln::text
