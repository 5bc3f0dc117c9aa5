#include "jinja/value.h"

#include <algorithm>

namespace kiln::jinja {

std::string Object::repr() const { return std::string("<").append(type_name()).append(" object>"); }

Value Object::attr(const std::string& name) const {
  return Value::undefined(std::string("'").append(type_name()).append(" object' has no attribute '").append(name).append("'"));
}

Value Object::call(Interpreter&, CallArgs&) {
  type_error(std::string("'").append(type_name()).append("' object is not callable"));
}

Value Value::undefined(std::string message, ErrorKind kind) {
  Value v;
  v.ptr_ = std::make_shared<UndefinedData>(UndefinedData{std::move(message), kind});
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::Bool;
  v.b_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::Int;
  v.i_ = i;
  return v;
}

Value Value::floating(double d) {
  Value v;
  v.kind_ = Kind::Float;
  v.f_ = d;
  return v;
}

Value Value::string(std::string s, bool markup) {
  Value v;
  v.kind_ = Kind::String;
  v.markup_ = markup;
  v.ptr_ = std::make_shared<std::string>(std::move(s));
  return v;
}

namespace {

uint32_t checked_depth(uint32_t inner) {
  if (inner + 1 > kMaxNesting)
    fail(ErrorKind::Overflow, "values nest more than " + std::to_string(kMaxNesting) + " levels deep");
  return inner + 1;
}

}  // namespace

Value Value::list(std::vector<Value> items, SeqKind kind) {
  uint32_t inner = 0;
  for (const Value& item : items) inner = std::max(inner, item.nesting());
  Value v;
  v.kind_ = Kind::List;
  v.ptr_ = std::make_shared<ListData>(ListData{std::move(items), kind, checked_depth(inner)});
  return v;
}

Value Value::dict(DictData data) {
  uint32_t inner = 0;
  for (const auto& [k, val] : data.items) inner = std::max({inner, k.nesting(), val.nesting()});
  data.depth = checked_depth(inner);
  Value v;
  v.kind_ = Kind::Dict;
  v.ptr_ = std::make_shared<DictData>(std::move(data));
  return v;
}

uint32_t Value::nesting() const {
  if (kind_ == Kind::List) return list_data().depth;
  if (kind_ == Kind::Dict) return dict_data().depth;
  return 0;
}

Value Value::iterator(std::vector<Value> items, std::string type_name) {
  Value v;
  v.kind_ = Kind::Iterator;
  auto data = std::make_shared<IteratorData>();
  data->items = std::move(items);
  data->type_name = std::move(type_name);
  v.ptr_ = std::move(data);
  return v;
}

Value Value::object(std::shared_ptr<Object> obj) {
  Value v;
  v.kind_ = Kind::Object;
  v.ptr_ = std::move(obj);
  return v;
}

const std::string& Value::str() const { return *static_cast<const std::string*>(ptr_.get()); }

const ListData& Value::list_data() const { return *static_cast<const ListData*>(ptr_.get()); }

const DictData& Value::dict_data() const { return *static_cast<const DictData*>(ptr_.get()); }

IteratorData& Value::iterator_data() const { return *static_cast<IteratorData*>(ptr_.get()); }

Object& Value::object_ref() const { return *static_cast<Object*>(ptr_.get()); }

std::shared_ptr<Object> Value::object_ptr() const { return std::static_pointer_cast<Object>(ptr_); }

const UndefinedData* Value::undefined_data() const {
  return kind_ == Kind::Undefined ? static_cast<const UndefinedData*>(ptr_.get()) : nullptr;
}

const Value* DictData::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  for (const auto& [k, v] : items)
    if (equals(k, key)) return &v;
  return nullptr;
}

const Value* DictData::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

void DictData::set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

}  // namespace kiln::jinja
