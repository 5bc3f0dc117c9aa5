// GGUF reader against files written by the reference gguf-py package
// (tools/fixtures/formats/make_gguf_fixtures.py) and a real llama.cpp vocab file.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "kiln/error.h"
#include "kiln/gguf.h"

using kiln::gguf::File;
using kiln::gguf::Value;
using kiln::gguf::ValueType;
using nlohmann::json;

namespace {

std::string type_of(const json& element_type) {
  return element_type.is_array() ? "ARRAY" : element_type.get<std::string>();
}

// Checks one value against its JSON form; `type` is the expected type name (or, for nested
// arrays, ["ARRAY", element]).
void check_value(const Value& v, const json& type, const json& expected) {
  INFO(v.context());
  const std::string name = type_of(type);
  REQUIRE(std::string(kiln::gguf::value_type_name(v.type())) == name);
  if (name == "ARRAY") {
    const json& elem = type.is_array() ? type[1] : json();
    REQUIRE(v.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) check_value(v.at(i), elem, expected[i]);
    return;
  }
  if (name == "STRING") {
    CHECK(v.as_string() == expected.get<std::string>());
  } else if (name == "BOOL") {
    CHECK(v.as_bool() == expected.get<bool>());
  } else if (name == "FLOAT32" || name == "FLOAT64") {
    CHECK(v.as_double() == expected.get<double>());
  } else if (expected.is_number_unsigned()) {
    CHECK(v.as_uint() == expected.get<uint64_t>());
  } else {
    CHECK(v.as_int() == expected.get<int64_t>());
  }
}

void check_metadata(const File& file, const json& expected) {
  REQUIRE(file.metadata().size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const json& e = expected[i];
    const std::string key = e["key"];
    CHECK(file.keys()[i] == key);
    const Value& v = file.get(key);
    CHECK(&v == &file.metadata()[i]);
    if (e["type"] == "ARRAY") {
      check_value(v, json::array({"ARRAY", e["element_type"]}), e["value"]);
    } else {
      check_value(v, e["type"], e["value"]);
    }
  }
}

json expected_json() { return json::parse(kiln::test::read_text(kiln::test::formats_data("gguf_expected.json"))); }

}  // namespace

TEST_CASE("GGUF v3 and v2: every metadata value type matches the reference reader", "[gguf]") {
  json expected = expected_json();
  for (const char* name : {"gguf_v3_all.gguf", "gguf_v2_all.gguf"}) {
    INFO(name);
    File file = File::open(kiln::test::formats_data(name));
    CHECK(file.version() == (std::string(name) == "gguf_v3_all.gguf" ? 3u : 2u));
    CHECK(file.alignment() == expected["alignment"].get<uint64_t>());
    CHECK(file.data_offset() == expected["data_offset"].get<uint64_t>());
    CHECK(file.architecture() == "kilntest");
    check_metadata(file, expected["metadata"]);
  }
}

TEST_CASE("GGUF typed accessors convert and refuse with the key named", "[gguf]") {
  File file = File::open(kiln::test::formats_data("gguf_v3_all.gguf"));
  CHECK(file.get("kiln.test.uint8").as_int() == 200);
  CHECK(file.get("kiln.test.int8").as_int() == -100);
  CHECK(file.get("kiln.test.uint32").as_double() == 4000000000.0);
  CHECK_THROWS_WITH(file.get("kiln.test.int8").as_uint(), Catch::Contains("kiln.test.int8") &&
                                                              Catch::Contains("negative"));
  CHECK_THROWS_WITH(file.get("kiln.test.uint64").as_int(), Catch::Contains("does not fit"));
  CHECK_THROWS_WITH(file.get("kiln.test.string").as_int(),
                    Catch::Contains("gguf_v3_all.gguf: kiln.test.string") &&
                        Catch::Contains("expected an integer, found STRING"));
  CHECK_THROWS_WITH(file.get("kiln.test.uint8").as_string(), Catch::Contains("expected STRING"));
  CHECK_THROWS_AS(file.get("no.such.key"), kiln::Error);
  CHECK_THROWS_WITH(file.get("no.such.key"), Catch::Contains("gguf_v3_all.gguf") &&
                                                 Catch::Contains("no.such.key"));
  CHECK(file.find("no.such.key") == nullptr);

  CHECK(file.get("tokenizer.ggml.tokens").as_strings() ==
        std::vector<std::string>{"<unk>", "<s>", "</s>", "\xe2\x96\x81hello"});
  CHECK(file.get("tokenizer.ggml.scores").as_floats() == std::vector<float>{0, 0, 0, -1.5f});
  CHECK(file.get("tokenizer.ggml.token_type").as_ints() == std::vector<int64_t>{2, 3, 3, 1});
  CHECK(file.get("kiln.test.array.bool").as_bools() == std::vector<bool>{true, false, true});
  CHECK(file.get("kiln.test.array.uint16").as_doubles() == std::vector<double>{0, 65535});
  CHECK(file.get("kiln.test.array.int8").raw_elements().size() == 3);
  CHECK_THROWS_WITH(file.get("kiln.test.array.uint64").as_ints(), Catch::Contains("[1]"));
  CHECK_THROWS_WITH(file.get("kiln.test.array.int32").as_strings(),
                    Catch::Contains("expected ARRAY of STRING, found ARRAY of INT32"));
  const auto& nested = file.get("kiln.test.array.nested_int32").as_arrays();
  REQUIRE(nested.size() == 3);
  CHECK(nested[0].as_ints() == std::vector<int64_t>{1, 2, 3});
  CHECK(nested[2].context().find("nested_int32[2]") != std::string::npos);
  CHECK_THROWS_WITH(file.get("kiln.test.array.int32").at(3), Catch::Contains("out of range"));
  CHECK(file.get("kiln.test.array.string").to_string() ==
        "[\"\", \"a\", \"<0x0A>\", \"\xe2\x96\x81the\", \"\xe6\x97\xa5\xe6\x9c\xac\"]");
}

TEST_CASE("GGUF tensor infos match the reference reader", "[gguf]") {
  json expected = expected_json()["tensors"];
  File file = File::open(kiln::test::formats_data("gguf_v3_all.gguf"));
  REQUIRE(file.tensors().size() == expected.size());
  for (const auto& t : file.tensors()) {
    INFO(t.name);
    REQUIRE(expected.contains(t.name));
    const json& e = expected[t.name];
    CHECK(kiln::weight_type_name(t.type) == e["type"].get<std::string>());
    CHECK(t.ne == e["ne"].get<std::vector<uint64_t>>());
    std::vector<int64_t> shape(t.ne.rbegin(), t.ne.rend());
    CHECK(t.shape == shape);
    CHECK(t.elements == e["elements"].get<uint64_t>());
    CHECK(t.nbytes == e["nbytes"].get<uint64_t>());
    CHECK(t.file_offset == e["data_offset"].get<uint64_t>());
    CHECK(t.data.data() == file.mapping()->data() + t.file_offset);  // zero-copy
    CHECK(t.data.size() == t.nbytes);
    CHECK(file.find_tensor(t.name) == &t);
  }
  CHECK(file.find_tensor("missing") == nullptr);
}

TEST_CASE("GGUF general.alignment moves the data section and tensor offsets", "[gguf]") {
  File file = File::open(kiln::test::formats_data("gguf_align64.gguf"));
  CHECK(file.alignment() == 64);
  CHECK(file.data_offset() % 64 == 0);
  REQUIRE(file.tensors().size() == 2);
  CHECK(file.tensors()[1].offset == 64);
  CHECK(file.tensors()[0].type == kiln::WeightType::Q8_0);
}

TEST_CASE("GGUF ids map onto WeightType and back", "[gguf]") {
  for (uint32_t id = 0; id < 64; ++id) {
    auto type = kiln::gguf::weight_type_from_ggml(id);
    if (type) CHECK(kiln::gguf::ggml_type_id(*type) == id);
  }
  CHECK(kiln::gguf::weight_type_from_ggml(4) == std::nullopt);  // retired Q4_2
  CHECK(kiln::gguf::weight_type_from_ggml(14) == kiln::WeightType::Q6_K);
  CHECK(kiln::gguf::ggml_type_id(kiln::WeightType::F8_E4M3) == std::nullopt);
}

TEST_CASE("GGUF: a real llama.cpp vocab file reads as gguf-py reads it", "[gguf]") {
  json expected = json::parse(kiln::test::read_text(kiln::test::formats_data("vocab_llama_spm.json")));
  auto bytes = kiln::test::read_xz(kiln::test::formats_data("ggml-vocab-llama-spm.gguf.xz"));
  File file = File::parse(kiln::test::in_memory(std::move(bytes), "ggml-vocab-llama-spm.gguf"));
  CHECK(file.version() == expected["version"].get<uint32_t>());
  CHECK(file.tensors().size() == expected["tensor_count"].get<size_t>());
  CHECK(file.architecture() == "llama");
  const json& meta = expected["metadata"];
  REQUIRE(file.metadata().size() == meta.size());
  for (size_t i = 0; i < meta.size(); ++i) {
    const json& e = meta[i];
    INFO(e["key"].get<std::string>());
    CHECK(file.keys()[i] == e["key"].get<std::string>());
    const Value& v = file.get(e["key"].get<std::string>());
    if (e["type"] != "ARRAY") {
      check_value(v, e["type"], e["value"]);
      continue;
    }
    REQUIRE(v.size() == e["count"].get<size_t>());
    size_t every = e["sample_every"];
    const json& sample = e["sample"];
    for (size_t j = 0; j < sample.size(); ++j) check_value(v.at(j * every), e["element_type"], sample[j]);
  }
  CHECK(file.get("tokenizer.ggml.tokens").as_strings().size() == 32000);
  CHECK(file.get("tokenizer.ggml.scores").as_floats().size() == 32000);
}
