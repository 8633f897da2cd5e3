#include "store/database.hpp"

#include "core/error.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

namespace sb::store {

namespace {

Error bad_column(std::string_view name, std::string_view problem) {
  return Error(ErrorCode::internal, "column " + std::string(name) + " " + std::string(problem));
}

}  // namespace

const Value& Row::at(size_t index) const {
  if (index >= values_.size()) {
    throw Error(ErrorCode::internal, "column index " + std::to_string(index) + " is out of range (the row has " +
                                         std::to_string(values_.size()) + " columns)");
  }
  return values_[index];
}

const Value& Row::at(std::string_view name) const {
  if (names_) {
    for (size_t i = 0; i < names_->size() && i < values_.size(); ++i) {
      if ((*names_)[i] == name) return values_[i];
    }
  }
  throw bad_column(name, "is not in the result");
}

bool Row::is_null(std::string_view name) const { return std::holds_alternative<std::nullptr_t>(at(name)); }

int64_t Row::integer(std::string_view name) const {
  const Value& v = at(name);
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (std::holds_alternative<std::nullptr_t>(v)) return 0;
  if (auto* d = std::get_if<double>(&v)) return static_cast<int64_t>(*d);
  if (auto* s = std::get_if<std::string>(&v)) {
    int64_t out = 0;
    auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && end == s->data() + s->size()) return out;
  }
  throw bad_column(name, "does not hold an integer");
}

double Row::real(std::string_view name) const {
  const Value& v = at(name);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (std::holds_alternative<std::nullptr_t>(v)) return 0.0;
  if (auto* s = std::get_if<std::string>(&v)) {
    char* end = nullptr;
    double out = std::strtod(s->c_str(), &end);
    if (!s->empty() && end == s->c_str() + s->size()) return out;
  }
  throw bad_column(name, "does not hold a number");
}

std::string Row::text(std::string_view name) const {
  const Value& v = at(name);
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  if (std::holds_alternative<std::nullptr_t>(v)) return {};
  if (auto* b = std::get_if<Blob>(&v)) return b->bytes;
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  return nlohmann::json(std::get<double>(v)).dump();  // shortest round-trip form
}

std::optional<std::string> Row::optional_text(std::string_view name) const {
  if (is_null(name)) return std::nullopt;
  return text(name);
}

std::optional<int64_t> Row::optional_integer(std::string_view name) const {
  if (is_null(name)) return std::nullopt;
  return integer(name);
}

nlohmann::json Row::json(std::string_view name) const {
  if (is_null(name)) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(text(name), nullptr, false);
  if (parsed.is_discarded()) throw bad_column(name, "does not hold valid JSON");
  return parsed;
}

}  // namespace sb::store
