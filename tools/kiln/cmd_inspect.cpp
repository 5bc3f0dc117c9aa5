// `kiln inspect PATH [--json] [--full]`: a model file's (or folder's) metadata and tensor
// table. PATH: a .safetensors, a .gguf, a *.safetensors.index.json or a model folder.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command.h"
#include "kiln/error.h"
#include "kiln/model_source.h"

using nlohmann::json;
using kiln::gguf::ValueType;

namespace {

constexpr size_t kShortArray = 8;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string human_bytes(uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1024 && u < 3) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

// At most 200 bytes, cut on a UTF-8 character boundary.
std::string abbreviated(const std::string& s) {
  if (s.size() <= 200) return s;
  size_t cut = 200;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + " ...";
}

bool is_signed(ValueType t) {
  return t == ValueType::INT8 || t == ValueType::INT16 || t == ValueType::INT32 || t == ValueType::INT64;
}

json gguf_value_json(const kiln::gguf::Value& v, size_t max_elements) {
  switch (v.type()) {
    case ValueType::STRING: return v.as_string();
    case ValueType::BOOL: return v.as_bool();
    case ValueType::FLOAT32: case ValueType::FLOAT64: return v.as_double();
    case ValueType::ARRAY: {
      json items = json::array();
      size_t shown = std::min(v.size(), max_elements);
      for (size_t i = 0; i < shown; ++i) items.push_back(gguf_value_json(v.at(i), max_elements));
      return items;
    }
    default: return is_signed(v.type()) ? json(v.as_int()) : json(v.as_uint());
  }
}

std::string type_text(const kiln::gguf::Value& v) {
  std::string t(kiln::gguf::value_type_name(v.type()));
  if (v.is_array()) {
    t += '[';
    t += kiln::gguf::value_type_name(v.element_type());
    t += "; " + std::to_string(v.size()) + "]";
  }
  return t;
}

json source_json(const kiln::ModelSource& src, size_t max_elements) {
  json out;
  out["path"] = src.path().string();
  out["architectures"] = src.architectures();
  json configs = json::object();
  for (const auto& [name, value] : src.json_files()) configs[name] = value;
  out["configs"] = configs;
  json ggufs = json::array();
  for (const auto& g : src.gguf_files()) {
    json meta = json::object();
    for (size_t i = 0; i < g.metadata().size(); ++i) {
      const auto& v = g.metadata()[i];
      json entry = {{"type", std::string(kiln::gguf::value_type_name(v.type()))},
                    {"value", gguf_value_json(v, max_elements)}};
      if (v.is_array()) {
        entry["element_type"] = std::string(kiln::gguf::value_type_name(v.element_type()));
        entry["count"] = v.size();
      }
      meta[g.keys()[i]] = entry;
    }
    ggufs.push_back({{"file", g.path()}, {"version", g.version()}, {"alignment", g.alignment()},
                     {"data_offset", g.data_offset()}, {"metadata", meta}});
  }
  out["gguf"] = ggufs;
  json sts = json::array();
  for (const auto& s : src.safetensors_files())
    sts.push_back({{"file", s.path()}, {"header_size", s.header_size()}, {"metadata", s.metadata()}});
  out["safetensors"] = sts;
  json tensors = json::array();
  for (const auto& t : src.tensors().all())
    tensors.push_back({{"name", t.name}, {"type", std::string(kiln::weight_type_name(t.type))},
                       {"shape", t.shape}, {"nbytes", t.nbytes}, {"file", t.file}, {"offset", t.offset}});
  out["tensors"] = tensors;
  out["total_bytes"] = src.tensors().total_bytes();
  json components = json::object();
  for (const auto& [name, c] : src.components()) components[name] = source_json(*c, max_elements);
  out["components"] = components;
  return out;
}

void print_source(const kiln::ModelSource& src, size_t max_elements, const std::string& indent) {
  std::cout << indent << "path: " << src.path().string() << "\n";
  std::string archs;
  for (const auto& a : src.architectures()) archs += (archs.empty() ? "" : ", ") + a;
  std::cout << indent << "architectures: " << (archs.empty() ? "(none declared)" : archs) << "\n";
  for (const auto& [name, value] : src.json_files())
    std::cout << indent << name << ": " << abbreviated(value.dump(-1, ' ', false, json::error_handler_t::replace))
              << "\n";
  for (const auto& g : src.gguf_files()) {
    std::cout << indent << "gguf " << g.path() << ": version " << g.version() << ", alignment " << g.alignment()
              << ", data at " << g.data_offset() << ", " << g.metadata().size() << " metadata keys\n";
    for (size_t i = 0; i < g.metadata().size(); ++i)
      std::cout << indent << "  " << g.keys()[i] << "  " << type_text(g.metadata()[i]) << "  "
                << g.metadata()[i].to_string(max_elements) << "\n";
  }
  for (const auto& s : src.safetensors_files()) {
    std::cout << indent << "safetensors " << s.path() << ": header " << s.header_size() << " bytes, "
              << s.tensors().size() << " tensors\n";
    for (const auto& [k, v] : s.metadata()) std::cout << indent << "  __metadata__." << k << " = " << v << "\n";
  }
  const auto& tensors = src.tensors();
  if (!tensors.empty()) {
    std::cout << indent << "tensors: " << tensors.size() << ", " << human_bytes(tensors.total_bytes()) << "\n";
    size_t width = 4;
    for (const auto& t : tensors.all()) width = std::max(width, t.name.size());
    bool many_files = tensors.files().size() > 1;
    for (const auto& t : tensors.all()) {
      std::string type(kiln::weight_type_name(t.type));
      std::cout << indent << "  " << t.name << std::string(width - t.name.size() + 2, ' ') << type
                << std::string(type.size() < 8 ? 8 - type.size() : 1, ' ') << shape_text(t.shape) << "  "
                << t.nbytes << " B @ " << t.offset;
      if (many_files) std::cout << "  " << std::filesystem::path(t.file).filename().string();
      std::cout << "\n";
    }
  }
  for (const auto& [name, c] : src.components()) {
    std::cout << indent << "component " << name << ":\n";
    print_source(*c, max_elements, indent + "  ");
  }
}

int run_inspect(const std::vector<std::string>& argv) {
  kiln::cli::Args args(argv, {"--variant"}, {"--json", "--full"});
  if (args.positional().size() != 1) throw kiln::Error("usage: kiln inspect PATH [--json] [--full] [--variant NAME]");
  kiln::ModelSource::Options options;
  options.variant = args.get_or("--variant", "");
  kiln::ModelSource src = kiln::ModelSource::open(args.positional()[0], options);
  size_t max_elements = args.has("--full") ? SIZE_MAX : kShortArray;
  if (args.has("--json")) {
    std::cout << source_json(src, max_elements).dump(2, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    print_source(src, max_elements, "");
  }
  return 0;
}

}  // namespace

KILN_COMMAND("inspect", "PATH [--json] [--full] [--variant NAME]",
             "a model file's metadata and tensor table (PATH: .safetensors, .gguf, index or folder)",
             run_inspect);
