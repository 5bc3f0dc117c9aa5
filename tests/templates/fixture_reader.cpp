#include "fixture_reader.h"

#include <lzma.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kiln::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string xz_decompress(const std::string& compressed) {
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, UINT64_MAX, 0) != LZMA_OK) throw std::runtime_error("lzma init failed");
  std::string out;
  char buf[1 << 16];
  strm.next_in = reinterpret_cast<const uint8_t*>(compressed.data());
  strm.avail_in = compressed.size();
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    strm.next_out = reinterpret_cast<uint8_t*>(buf);
    strm.avail_out = sizeof buf;
    ret = lzma_code(&strm, LZMA_FINISH);
    out.append(buf, sizeof buf - strm.avail_out);
  }
  lzma_end(&strm);
  if (ret != LZMA_STREAM_END) throw std::runtime_error("xz data is corrupt");
  return out;
}

const nlohmann::ordered_json& template_fixtures() {
  static const nlohmann::ordered_json doc = nlohmann::ordered_json::parse(
      xz_decompress(read_file(std::string(KILN_TEST_DATA_DIR) + "/templates/fixtures.json.xz")));
  return doc;
}

std::string template_dir() { return std::string(KILN_TEST_DATA_DIR) + "/templates/templates"; }

}  // namespace kiln::test
