#include "text/byte_level.h"

#include <array>

#include "text/utf8.h"

namespace kiln::text {

namespace {

struct Tables {
  std::array<std::string, 256> utf8;
  std::array<int16_t, 512> byte_of_cp;  // code points used are < 324
  Tables() {
    byte_of_cp.fill(-1);
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : next++;
      utf8_append(utf8[b], cp);
      byte_of_cp[cp] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view byte_to_char_utf8(uint8_t b) { return tables().utf8[b]; }

int char_to_byte(uint32_t cp) { return cp < 512 ? tables().byte_of_cp[cp] : -1; }

void byte_level_encode(std::string_view in, std::string& out) {
  const Tables& t = tables();
  // Every character is one or two bytes: size once, then write in place.
  const size_t start = out.size();
  out.resize(start + in.size() * 2);
  char* dst = out.data() + start;
  for (char c : in) {
    const std::string& u = t.utf8[static_cast<uint8_t>(c)];
    dst[0] = u[0];
    if (u.size() == 2) dst[1] = u[1];
    dst += u.size();
  }
  out.resize(static_cast<size_t>(dst - out.data()));
}

}  // namespace kiln::text
