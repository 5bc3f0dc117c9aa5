#include "runtime/beam.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>

#include "kiln/env.h"
#include "kiln/error.h"
#include "runtime/debug.h"
#include "runtime/launch_args.h"

namespace fs = std::filesystem;

namespace kiln {
namespace {
int g_beam_override = -1;
}
void set_beam_width(int n) { g_beam_override = n; }
}  // namespace kiln

namespace kiln::detail {

int beam_width() {
  if (g_beam_override >= 0) return g_beam_override;
  static const int from_env = [] {
    const char* e = env::value("KILN_BEAM");
    if (!e) return 0;
    std::string s(e);
    if (s == "max") return 1 << 20;
    return std::max(0, std::atoi(e));
  }();
  return from_env;
}

namespace {

std::mutex g_mu;
std::map<std::pair<Device*, uint64_t>, KernelOpts>& memory() {
  static auto* m = new std::map<std::pair<Device*, uint64_t>, KernelOpts>();
  return *m;
}

fs::path beam_file(Device* d, uint64_t key) {
  std::string dir = kernel_cache_dir();
  if (dir.empty()) return {};
  std::string dev = d->plugin_name() + "|" + d->caps().arch + "|" + d->compiler_id();
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : dev) h = (h ^ c) * 1099511628211ull;
  char name[64];
  std::snprintf(name, sizeof name, "%016llx/%016llx.opts", static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(key));
  return fs::path(dir) / "beam" / name;
}

bool read_opts(const fs::path& p, KernelOpts& o) {
  std::ifstream f(p);
  return static_cast<bool>(f >> o.lanes >> o.rows >> o.red_lanes);
}

void write_opts(const fs::path& p, const KernelOpts& o) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream f(tmp);
    f << o.lanes << " " << o.rows << " " << o.red_lanes << "\n";
  }
  fs::rename(tmp, p, ec);
}

double time_kernel(const LoweredKernel& k, Device* d) {
  ProgramRef prog = get_program(d, k);
  LaunchArgs args(k, prog);
  double best = std::numeric_limits<double>::infinity();
  char err[1024] = {0};
  for (int rep = 0; rep < 3; ++rep) {
    double t = 0;
    if (d->api().launch(d->handle(), &args.launch, &t, {err, sizeof err}) != KILN_OK) return best;
    best = std::min(best, t);
  }
  return best;
}

struct Timed {
  KernelOpts opts;
  double seconds;
};

KernelOpts search(const UOpRef& root, Device* d, int width) {
  std::vector<KernelOpts> all = candidate_opts(root, d->caps());
  KernelOpts best_opts{};
  if (all.empty()) return best_opts;
  auto measure = [&](const KernelOpts& o) {
    try {
      return time_kernel(lower_kernel(root, d->caps(), o), d);
    } catch (const Error&) {
      return std::numeric_limits<double>::infinity();  // a candidate that fails is not chosen
    }
  };
  // stage 1: one candidate per lane width (its simplest form), keep the best `width`
  std::map<int, KernelOpts> first;
  for (const auto& o : all)
    if (!first.count(o.lanes)) first[o.lanes] = o;
  std::vector<Timed> stage;
  for (const auto& [lanes, o] : first) stage.push_back({o, measure(o)});
  std::sort(stage.begin(), stage.end(), [](const Timed& a, const Timed& b) { return a.seconds < b.seconds; });
  if (static_cast<int>(stage.size()) > width) stage.resize(width);
  // stage 2: every variant (rows, reduce lanes) of the kept lane widths
  Timed best = stage.front();
  for (const auto& kept : stage) {
    for (const auto& o : all) {
      if (o.lanes != kept.opts.lanes || o == kept.opts) continue;
      double t = measure(o);
      if (t < best.seconds) best = {o, t};
    }
  }
  if (debug_level() >= 1)
    std::cerr << "kiln: beam " << root->str() << " -> " << best.opts.str() << " ("
              << best.seconds * 1e6 << " us)\n";
  return best.opts;
}

}  // namespace

LoweredKernel choose_kernel(const UOpRef& root, Device* d) {
  LoweredKernel def = lower_kernel(root, d->caps());
  int width = beam_width();
  if (width <= 0 || root->op == Op::Attention) return def;
  uint64_t key = def.ir_hash();
  KernelOpts opts;
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = memory().find({d, key});
    if (it != memory().end()) {
      opts = it->second;
      found = true;
    }
  }
  fs::path file = beam_file(d, key);
  if (!found && !file.empty() && read_opts(file, opts)) found = true;
  if (!found) {
    opts = search(root, d, width);
    if (!file.empty()) write_opts(file, opts);
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    memory()[{d, key}] = opts;
  }
  return lower_kernel(root, d->caps(), opts);
}

}  // namespace kiln::detail
