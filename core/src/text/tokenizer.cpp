// kiln::Tokenizer's shared parts and the load_tokenizer factory.
#include "kiln/tokenizer.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "kiln/error.h"
#include "text/loaders.h"

namespace kiln {

std::string Tokenizer::token_to_piece(TokenId id) const {
  token_text(id);  // throws for an id without a token
  const TokenId one[1] = {id};
  return decode_bytes(one, false, false);
}

bool Tokenizer::is_end_of_generation(TokenId id) const {
  return std::find(eog_.begin(), eog_.end(), id) != eog_.end();
}

namespace {

enum class FileKind { Json, Gguf, SentencePiece };

FileKind sniff(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(file.string() + ": cannot open file");
  char head[64] = {};
  in.read(head, sizeof(head));
  const auto n = static_cast<size_t>(in.gcount());
  if (n >= 4 && std::memcmp(head, "GGUF", 4) == 0) return FileKind::Gguf;
  for (size_t i = 0; i < n; ++i) {
    const char c = head[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '{') return FileKind::Json;
    break;
  }
  const std::string ext = file.extension().string();
  if (ext == ".json") return FileKind::Json;
  if (ext == ".gguf") return FileKind::Gguf;
  return FileKind::SentencePiece;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (std::filesystem::is_regular_file(path / "tokenizer.json", ec)) return load_tokenizer(path / "tokenizer.json");
    if (std::filesystem::is_regular_file(path / "tokenizer.model", ec)) return load_tokenizer(path / "tokenizer.model");
    throw Error(path.string() + ": no tokenizer.json or tokenizer.model in this folder");
  }
  if (!std::filesystem::exists(path, ec)) throw Error(path.string() + ": no such file");
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  switch (sniff(path)) {
    case FileKind::Gguf:
      return text::load_gguf_tokenizer(path);
    case FileKind::Json:
      return text::load_tokenizer_json(text::read_file_bytes(path), path.string(), text::load_tokenizer_config(folder));
    case FileKind::SentencePiece:
      return text::load_sentencepiece(path, text::load_tokenizer_config(folder));
  }
  throw Error(path.string() + ": unknown tokenizer file kind");
}

}  // namespace kiln
