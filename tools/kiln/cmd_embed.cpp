// `kiln embed`: stdin text -> one JSON embedding vector (mean-pooled, L2-normalized).
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "local_model.h"

namespace kiln::cli {

namespace {

int run_embed(const std::vector<std::string>& argv) {
  Args a(argv, {"--model", "--device"}, {"--no-normalize"});
  LocalModel lm(a.require("--model"), a.get_or("--device", "auto"));
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.empty()) throw Error("kiln embed: stdin is empty");
  EmbedRequest req;
  req.inputs = {text};
  req.normalize = !a.has("--no-normalize");
  CancelFlag never{false};
  EmbedResult r = lm.model().embed(req, never);
  std::cout << nlohmann::json{{"dim", r.dim}, {"embedding", r.values}, {"prompt_tokens", r.prompt_tokens}}.dump() << "\n";
  return 0;
}

}  // namespace

KILN_COMMAND("embed", "--model PATH [--device auto|cpu|cuda|hip] [--no-normalize]",
             "embed stdin text: the mean-pooled last hidden state, L2-normalized", run_embed);

}  // namespace kiln::cli
