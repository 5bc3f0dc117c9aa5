#include "fixtures.h"

#include <lzma.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace kiln::test {

std::filesystem::path formats_data(const std::string& name) {
  return std::filesystem::path(KILN_TEST_DATA_DIR) / "formats" / name;
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) out[i] = static_cast<std::byte>(chars[i]);
  return out;
}

std::string read_text(const std::filesystem::path& path) {
  auto bytes = read_bytes(path);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::vector<std::byte> read_xz(const std::filesystem::path& path) {
  std::vector<std::byte> in = read_bytes(path);
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, UINT64_MAX, 0) != LZMA_OK)
    throw std::runtime_error("lzma init failed");
  std::vector<std::byte> out;
  std::byte buf[1 << 16];
  strm.next_in = reinterpret_cast<const uint8_t*>(in.data());
  strm.avail_in = in.size();
  lzma_ret ret = LZMA_OK;
  while (ret == LZMA_OK) {
    strm.next_out = reinterpret_cast<uint8_t*>(buf);
    strm.avail_out = sizeof(buf);
    ret = lzma_code(&strm, LZMA_FINISH);
    out.insert(out.end(), buf, buf + (sizeof(buf) - strm.avail_out));
  }
  lzma_end(&strm);
  if (ret != LZMA_STREAM_END) throw std::runtime_error("xz decode failed: " + path.string());
  return out;
}

std::shared_ptr<const MappedFile> in_memory(std::vector<std::byte> bytes, const std::string& name) {
  return MappedFile::from_bytes(std::move(bytes), name);
}

}  // namespace kiln::test

namespace kiln::test {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  write_text(path, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace kiln::test
