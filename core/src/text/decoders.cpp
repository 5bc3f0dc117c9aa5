#include "text/decoders.h"

#include "text/byte_level.h"
#include "text/normalizers.h"
#include "text/utf8.h"

namespace kiln::text {

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const {
  // Every character maps back to its byte; a token with any other character keeps its UTF-8.
  std::string bytes;
  for (const std::string& t : tokens) {
    const size_t mark = bytes.size();
    bool all = true;
    for (size_t i = 0; i < t.size();) {
      const Utf8Char c = utf8_decode(t, i);
      const int b = c.valid ? char_to_byte(c.cp) : -1;
      if (b < 0) {
        all = false;
        break;
      }
      bytes.push_back(static_cast<char>(b));
      i += c.len;
    }
    if (!all) {
      bytes.resize(mark);
      bytes += t;
    }
  }
  tokens.assign(1, ctx.raw ? std::move(bytes) : utf8_repair(bytes));
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const {
  // Hugging Face drops every replacement character of the text's first token (its prefix
  // space) and turns the others into spaces.
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool drop = i == 0 && ctx.at_start && scheme_ != PrependScheme::Never;
    tokens[i] = replace_all(tokens[i], replacement_, drop ? "" : " ");
  }
}

void ReplaceDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext&) const {
  for (std::string& t : tokens) {
    if (!regex_) {
      t = replace_all(t, literal_, content_);
      continue;
    }
    std::vector<Match> matches;
    regex_->find_all(t, matches);
    std::string out;
    size_t pos = 0;
    for (const Match& m : matches) {
      out.append(t, pos, m.begin - pos);
      out += content_;
      pos = m.end;
    }
    out.append(t, pos, std::string::npos);
    t = std::move(out);
  }
}

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "<0xAB>" -> 0xAB, else -1.
int byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string pending;
  auto flush = [&] {
    if (pending.empty()) return;
    if (ctx.raw || utf8_valid(pending)) {
      out.push_back(pending);
    } else {
      for (size_t i = 0; i < pending.size(); ++i) out.emplace_back("\xEF\xBF\xBD");
    }
    pending.clear();
  };
  for (std::string& t : tokens) {
    const int b = byte_token(t);
    if (b >= 0) {
      pending.push_back(static_cast<char>(b));
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext&) const {
  std::string all;
  for (const std::string& t : tokens) all += t;
  tokens.assign(1, std::move(all));
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const {
  // The first token's leading characters only count at the start of a text: mid-stream they
  // are not the text's start.
  for (size_t k = 0; k < tokens.size(); ++k) {
    std::string& t = tokens[k];
    size_t b = 0;
    if (ctx.at_start || k > 0) {
      for (size_t n = 0; n < start_ && b < t.size(); ++n) {
        const Utf8Char c = utf8_decode(t, b);
        if (c.cp != content_) break;
        b += c.len;
      }
    }
    size_t e = t.size();
    for (size_t n = 0; n < stop_ && e > b; ++n) {
      size_t p = e - 1;
      while (p > b && (static_cast<unsigned char>(t[p]) & 0xC0) == 0x80) --p;
      if (utf8_decode(t, p).cp != content_) break;
      e = p;
    }
    t = t.substr(b, e - b);
  }
}

void WordPieceDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext& ctx) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string& t = tokens[i];
    if (i != 0 || !ctx.at_start) {
      if (t.compare(0, prefix_.size(), prefix_) == 0) {
        t.erase(0, prefix_.size());
      } else {
        std::string spaced;
        spaced.reserve(t.size() + 1);
        spaced.push_back(' ');
        spaced += t;
        t.swap(spaced);
      }
    }
    if (cleanup_) {
      // Hugging Face's cleanup: no space before punctuation and in common contractions.
      static const std::pair<const char*, const char*> kRules[] = {
          {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
          {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
      for (const auto& [from, to] : kRules) t = replace_all(t, from, to);
    }
  }
}

void BpeSuffixDecoder::decode_chain(std::vector<std::string>& tokens, const DecodeContext&) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }
}

}  // namespace kiln::text
