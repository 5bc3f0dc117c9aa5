// Typed reads from a JSON object whose errors name the file and the field
// ("tokenizer.json: model.merges[3]: expected a string").
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "kiln/error.h"

namespace kiln::text {

using Json = nlohmann::json;

class JsonPath {
 public:
  JsonPath(std::string file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  JsonPath operator/(const std::string& key) const { return {file_, path_.empty() ? key : path_ + "." + key}; }
  JsonPath operator[](size_t index) const { return {file_, path_ + "[" + std::to_string(index) + "]"}; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(file_ + ": " + (path_.empty() ? "" : path_ + ": ") + what);
  }
  const std::string& file() const { return file_; }
  const std::string& path() const { return path_; }

 private:
  std::string file_;
  std::string path_;
};

inline const Json& require_object(const Json& j, const JsonPath& at) {
  if (!j.is_object()) at.fail("expected an object");
  return j;
}

inline const Json* field(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

inline std::string get_string(const Json& obj, const char* key, const JsonPath& at) {
  const Json* v = field(obj, key);
  if (v == nullptr) (at / key).fail("missing");
  if (!v->is_string()) (at / key).fail("expected a string");
  return v->get<std::string>();
}

inline std::optional<std::string> get_optional_string(const Json& obj, const char* key, const JsonPath& at) {
  const Json* v = field(obj, key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) (at / key).fail("expected a string");
  return v->get<std::string>();
}

inline bool get_bool(const Json& obj, const char* key, bool fallback, const JsonPath& at) {
  const Json* v = field(obj, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) (at / key).fail("expected true or false");
  return v->get<bool>();
}

inline int64_t get_int(const Json& obj, const char* key, int64_t lo, int64_t hi, const JsonPath& at) {
  const Json* v = field(obj, key);
  if (v == nullptr) (at / key).fail("missing");
  if (!v->is_number_integer()) (at / key).fail("expected an integer");
  const auto x = v->get<int64_t>();
  if (x < lo || x > hi) (at / key).fail("value " + std::to_string(x) + " is out of range");
  return x;
}

inline const Json& get_array(const Json& obj, const char* key, const JsonPath& at) {
  const Json* v = field(obj, key);
  if (v == nullptr) (at / key).fail("missing");
  if (!v->is_array()) (at / key).fail("expected an array");
  return *v;
}

}  // namespace kiln::text
