// kiln client JOB --endpoint URL ...: jobs through a running supervisor (docs/protocol.md).
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "kiln/ipc/client.h"
#include "kiln/ipc/endpoint.h"

namespace {

using nlohmann::json;

const char* kUsage =
    "generate|stream|embed|tokenize|detokenize|metadata|status|health|load|free\n"
    "      [--endpoint URL] [--model NAME] [--prompt TEXT | --messages FILE] [--tools FILE]\n"
    "      [--max-tokens N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--stop TEXT]\n"
    "      [--ignore-eos] [--text TEXT] [--tokens 1,2,3] [--server-key KEY|FILE] [--shm]\n"
    "      [--timeout SECONDS] [--json]";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw kiln::Error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json read_json_file(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw kiln::Error(path + ": malformed JSON: " + e.what());
  }
}

std::string read_stdin() {
  std::stringstream s;
  s << std::cin.rdbuf();
  return s.str();
}

// The JSON for printing: binary payloads are summarized.
json printable(json j) {
  if (j.is_binary()) {
    std::string text = "<";  // (appended: GCC 12 warns falsely on "<" + to_string)
    text += std::to_string(j.get_binary().size());
    text += " bytes>";
    return text;
  }
  if (j.is_object() || j.is_array())
    for (auto& v : j) v = printable(v);
  return j;
}

int run_client(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv,
                       {"--endpoint", "--model", "--prompt", "--messages", "--tools", "--max-tokens",
                        "--temperature", "--top-k", "--top-p", "--min-p", "--seed", "--stop", "--text", "--tokens",
                        "--server-key", "--timeout", "--path"},
                       {"--ignore-eos", "--json", "--shm", "--no-special"});
  if (args.positional().size() != 1) throw kiln::Error(std::string("usage: kiln client ") + kUsage);
  const std::string job = args.positional()[0];

  kiln::ipc::ClientOptions opt;
  opt.endpoint = args.get_or("--endpoint", kiln::ipc::default_endpoint());
  opt.use_shm = args.has("--shm");
  if (auto key = args.get("--server-key")) {
    opt.server_public_key = kiln::ipc::valid_z85_key(*key) ? *key : kiln::ipc::read_key_file(*key);
  }
  kiln::ipc::Client client(opt);
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(args.get_double("--timeout", 600) * 1000));

  json req = {{"id", kiln::ipc::next_job_id()}};
  if (auto m = args.get("--model")) req["model"] = *m;
  auto prompt_fields = [&] {
    if (auto f = args.get("--messages")) {
      req["messages"] = read_json_file(*f);
    } else {
      req["prompt"] = args.has("--prompt") ? *args.get("--prompt") : read_stdin();
    }
    if (auto f = args.get("--tools")) req["tools"] = read_json_file(*f);
    if (args.has("--max-tokens")) req["max_tokens"] = args.get_int("--max-tokens", 0);
    if (args.has("--temperature")) req["temperature"] = args.get_double("--temperature", 0);
    if (args.has("--top-k")) req["top_k"] = args.get_int("--top-k", 0);
    if (args.has("--top-p")) req["top_p"] = args.get_double("--top-p", 0);
    if (args.has("--min-p")) req["min_p"] = args.get_double("--min-p", 0);
    if (args.has("--seed")) req["seed"] = args.get_int("--seed", 0);
    if (auto s = args.get("--stop")) req["stop"] = json::array({*s});
    if (args.has("--ignore-eos")) req["ignore_eos"] = true;
  };
  auto text_field = [&] { return args.has("--text") ? *args.get("--text") : read_stdin(); };

  if (job == "generate" || job == "stream") {
    prompt_fields();
    req["kind"] = job == "generate" ? "Predict" : "PredictStream";
  } else if (job == "embed") {
    req["kind"] = "Embedding";
    req["input"] = text_field();
  } else if (job == "tokenize") {
    req["kind"] = "Tokenize";
    req["text"] = text_field();
    req["add_special"] = !args.has("--no-special");
  } else if (job == "detokenize") {
    req["kind"] = "Detokenize";
    json ids = json::array();
    std::stringstream s(args.require("--tokens"));
    for (std::string item; std::getline(s, item, ',');) {
      try {
        ids.push_back(std::stoll(item));
      } catch (const std::exception&) {
        throw kiln::Error("--tokens: '" + item + "' is not an integer");
      }
    }
    req["tokens"] = ids;
  } else if (job == "metadata") {
    req["kind"] = "ModelMetadata";
  } else if (job == "status" || job == "health") {
    req["kind"] = job == "status" ? "Status" : "Health";
  } else if (job == "load" || job == "free") {
    req["kind"] = job == "load" ? "Load" : "Free";
    if (!req.contains("model")) throw kiln::Error("kiln client " + job + " needs --model");
    if (auto p = args.get("--path")) req["path"] = *p;
  } else {
    throw kiln::Error("unknown client job '" + job + "' (" + std::string(kUsage).substr(0, 70) + "...)");
  }

  const bool as_json = args.has("--json");
  bool streamed = false;
  json result = client.call(req, timeout, [&](const json& update) {
    if (as_json) {
      std::cout << printable(update).dump() << "\n" << std::flush;
      return;
    }
    if (update.value("type", "") == "chunk" && update.contains("text")) {
      std::cout << update["text"].get<std::string>() << std::flush;
      streamed = true;
    } else if (update.value("type", "") == "progress") {
      std::cerr << "progress: " << printable(update).dump() << "\n";
    }
  });
  if (result.value("type", "") == "error") {
    if (streamed) std::cout << "\n";
    throw kiln::Error(result.value("code", "error") + ": " + result.value("message", ""));
  }
  if (as_json) {
    std::cout << printable(result).dump(2) << "\n";
  } else if (job == "generate" || job == "stream") {
    if (!streamed) std::cout << result.value("text", "");
    std::cout << "\n";
    if (result.contains("tool_calls") && !result["tool_calls"].empty()) {
      std::cout << "tool calls: " << result["tool_calls"].dump() << "\n";
    }
  } else if (job == "embed") {
    const auto& bytes = result["embeddings"].get_binary();
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    std::cout << json{{"dim", result["dim"]}, {"embedding", v}}.dump() << "\n";
  } else if (job == "tokenize") {
    std::cout << result["tokens"].dump() << "\n";
  } else if (job == "detokenize") {
    std::cout << result.value("text", "") << "\n";
  } else {
    std::cout << printable(result).dump(2) << "\n";
  }
  return 0;
}

}  // namespace

KILN_COMMAND("client", kUsage, "send a job to a running supervisor (kiln run) and print the answer", run_client);
