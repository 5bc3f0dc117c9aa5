// `kiln tokenize`: text on stdin -> token ids (or ids -> text with --decode).
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "kiln/tokenizer.h"

namespace kiln::cli {

namespace {

std::string read_stdin() {
  std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) throw Error("cannot read stdin");
  return data;
}

// Ids as "1 2 3", "1,2,3" or JSON ([1,2,3] or {"ids": [1,2,3]}).
std::vector<TokenId> parse_ids(const std::string& in) {
  std::vector<TokenId> ids;
  const size_t first = in.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (in[first] == '[' || in[first] == '{')) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("stdin: not valid JSON (") + e.what() + ")");
    }
    const nlohmann::json& list = j.is_object() ? j.value("ids", nlohmann::json()) : j;
    if (!list.is_array()) throw Error("stdin: expected a list of ids or {\"ids\": [...]}");
    for (const auto& v : list) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
        throw Error("stdin: '" + v.dump() + "' is not a token id");
      }
      ids.push_back(static_cast<TokenId>(v.get<int64_t>()));
    }
    return ids;
  }
  std::string token;
  auto flush = [&] {
    if (token.empty()) return;
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != token.size() || v < 0 || v > INT32_MAX) throw Error("stdin: '" + token + "' is not a token id");
    ids.push_back(static_cast<TokenId>(v));
    token.clear();
  };
  for (char c : in) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      flush();
    } else {
      token += c;
    }
  }
  flush();
  return ids;
}

int run_tokenize(const std::vector<std::string>& argv) {
  Args args(argv, {"--model", "--tokenizer"}, {"--no-special", "--json", "--decode"});
  if (!args.positional().empty()) throw Error("unexpected argument '" + args.positional()[0] + "'");
  const auto model = args.get("--model");
  const auto file = args.get("--tokenizer");
  if (model.has_value() == file.has_value()) throw Error("give exactly one of --model PATH or --tokenizer FILE");
  const auto tok = load_tokenizer(model ? *model : *file);
  const std::string input = read_stdin();
  const bool special = !args.has("--no-special");

  if (args.has("--decode")) {
    const std::string text = tok->decode(parse_ids(input), /*skip_special=*/!special);
    if (args.has("--json")) {
      std::cout << nlohmann::json{{"text", text}}.dump() << "\n";
    } else {
      std::cout.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    return 0;
  }
  const std::vector<TokenId> ids = tok->encode(input, special);
  if (args.has("--json")) {
    std::cout << nlohmann::json{{"ids", ids}}.dump() << "\n";
    return 0;
  }
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::cout << line << "\n";
  return 0;
}

}  // namespace

KILN_COMMAND("tokenize", "(--model PATH | --tokenizer FILE) [--no-special] [--json] [--decode]",
             "text on stdin -> token ids (Hugging Face encode); --decode: ids on stdin -> text. "
             "FILE: tokenizer.json, tokenizer.model or .gguf; --no-special: no BOS/EOS (with --decode: "
             "drop special tokens)",
             run_tokenize);

}  // namespace kiln::cli
