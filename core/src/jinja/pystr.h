// Python's str algorithms on UTF-8 text, by code point: strip, split, replace, case changes,
// find, padding. Shared by the str methods and the filters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jinja::pystr {

enum class Side { Both, Left, Right };
std::string strip(std::string_view s, const std::optional<std::string>& chars, Side side);
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep,
                                int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);
std::string capitalize(std::string_view s);
std::string swapcase(std::string_view s);
// Code point index of `sub` in s[start:end] (Python slice bounds), or -1.
int64_t find(std::string_view s, std::string_view sub, std::optional<int64_t> start,
             std::optional<int64_t> end, bool reverse);
int64_t count(std::string_view s, std::string_view sub, std::optional<int64_t> start,
              std::optional<int64_t> end);
// Python's center (Both), ljust (Left) and rjust (Right) with a one-character fill.
std::string pad(std::string_view s, int64_t width, char32_t fill, Side where);
std::string zfill(std::string_view s, int64_t width);

bool isdigit(std::string_view s);
bool isalpha(std::string_view s);
bool isalnum(std::string_view s);
bool isspace(std::string_view s);
bool isupper(std::string_view s);
bool islower(std::string_view s);
bool istitle(std::string_view s);

}  // namespace kiln::jinja::pystr
