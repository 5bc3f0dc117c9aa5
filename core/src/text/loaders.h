// The loaders behind kiln::load_tokenizer, one per file kind.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "kiln/tokenizer.h"

namespace kiln::text {

// Hugging Face tokenizer.json; `name` names the file in errors.
std::unique_ptr<Tokenizer> load_tokenizer_json(std::string_view json_text, const std::string& name,
                                               TokenizerConfig config);
// tokenizer_config.json (and a chat_template.jinja beside it, when present).
TokenizerConfig load_tokenizer_config(const std::filesystem::path& folder);
TokenizerConfig parse_tokenizer_config(std::string_view json_text, const std::string& name);
// SentencePiece tokenizer.model.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& file, TokenizerConfig config);
// The tokenizer in a GGUF file's metadata.
std::unique_ptr<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& file);

std::string read_file_bytes(const std::filesystem::path& file);

}  // namespace kiln::text
