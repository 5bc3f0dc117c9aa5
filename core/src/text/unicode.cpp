#include "text/unicode.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

#include "kiln/error.h"

namespace kiln::text {

bool is_white_space(uint32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }

bool is_alphanumeric(uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  if (u_hasBinaryProperty(c, UCHAR_ALPHABETIC)) return true;
  const int8_t t = u_charType(c);
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool is_punctuation(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
           (cp >= 0x7B && cp <= 0x7E);
  }
  return u_ispunct(static_cast<UChar32>(cp));
}

bool is_nonspacing_mark(uint32_t cp) {
  return u_charType(static_cast<UChar32>(cp)) == U_NON_SPACING_MARK;
}

bool is_control(uint32_t cp) {
  // BERT: \t \n \r count as whitespace, not control; every other C* category is control.
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  const int8_t t = u_charType(static_cast<UChar32>(cp));
  return t == U_CONTROL_CHAR || t == U_FORMAT_CHAR || t == U_PRIVATE_USE_CHAR ||
         t == U_SURROGATE || t == U_UNASSIGNED;
}

bool is_cjk_ideograph(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

namespace {

std::u16string to_utf16(std::string_view s) {
  std::u16string out(s.size() + 1, u'\0');
  int32_t len = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strFromUTF8(reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &len,
                s.data(), static_cast<int32_t>(s.size()), &status);
  if (U_FAILURE(status)) throw Error(std::string("tokenizer: invalid UTF-8 text (") + u_errorName(status) + ")");
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string to_utf8(const std::u16string& s) {
  std::string out(s.size() * 3 + 1, '\0');
  int32_t len = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &len,
              reinterpret_cast<const UChar*>(s.data()), static_cast<int32_t>(s.size()), &status);
  if (U_FAILURE(status)) throw Error(std::string("tokenizer: UTF-16 conversion failed (") + u_errorName(status) + ")");
  out.resize(static_cast<size_t>(len));
  return out;
}

const UNormalizer2* normalizer_for(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* n = nullptr;
  switch (form) {
    case NormalForm::NFC: n = unorm2_getNFCInstance(&status); break;
    case NormalForm::NFD: n = unorm2_getNFDInstance(&status); break;
    case NormalForm::NFKC: n = unorm2_getNFKCInstance(&status); break;
    case NormalForm::NFKD: n = unorm2_getNFKDInstance(&status); break;
  }
  if (U_FAILURE(status) || n == nullptr) throw Error(std::string("tokenizer: ICU normalizer unavailable (") + u_errorName(status) + ")");
  return n;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

std::string unicode_normalize(std::string_view s, NormalForm form) {
  if (is_ascii(s)) return std::string(s);  // every form leaves ASCII unchanged
  const UNormalizer2* n = normalizer_for(form);
  const std::u16string in = to_utf16(s);
  UErrorCode status = U_ZERO_ERROR;
  const auto* src = reinterpret_cast<const UChar*>(in.data());
  if (unorm2_isNormalized(n, src, static_cast<int32_t>(in.size()), &status) && U_SUCCESS(status)) {
    return std::string(s);
  }
  status = U_ZERO_ERROR;
  int32_t need = unorm2_normalize(n, src, static_cast<int32_t>(in.size()), nullptr, 0, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) throw Error(std::string("tokenizer: normalization failed (") + u_errorName(status) + ")");
  std::u16string out(static_cast<size_t>(need), u'\0');
  status = U_ZERO_ERROR;
  unorm2_normalize(n, src, static_cast<int32_t>(in.size()), reinterpret_cast<UChar*>(out.data()), need, &status);
  if (U_FAILURE(status)) throw Error(std::string("tokenizer: normalization failed (") + u_errorName(status) + ")");
  return to_utf8(out);
}

std::string unicode_lowercase(std::string_view s) {
  if (is_ascii(s)) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
  }
  const std::u16string in = to_utf16(s);
  UErrorCode status = U_ZERO_ERROR;
  const auto* src = reinterpret_cast<const UChar*>(in.data());
  int32_t need = u_strToLower(nullptr, 0, src, static_cast<int32_t>(in.size()), "", &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) throw Error(std::string("tokenizer: lowercase failed (") + u_errorName(status) + ")");
  std::u16string out(static_cast<size_t>(need), u'\0');
  status = U_ZERO_ERROR;
  u_strToLower(reinterpret_cast<UChar*>(out.data()), need, src, static_cast<int32_t>(in.size()), "", &status);
  if (U_FAILURE(status)) throw Error(std::string("tokenizer: lowercase failed (") + u_errorName(status) + ")");
  return to_utf8(out);
}

}  // namespace kiln::text
