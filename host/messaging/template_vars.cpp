#include "messaging/template_vars.hpp"

#include "core/error.hpp"

#include <vector>

namespace sb::messaging {
namespace {

using nlohmann::json;

constexpr std::string_view kMetadataPrefix = "metadata.";
constexpr size_t kMaxKeyLength = 100;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

struct Placeholder {
  size_t begin = 0;  // of "{{"
  size_t end = 0;    // after "}}"
  std::string variable;
  std::optional<std::string> fallback;
};

// Every placeholder of `text`, or the first problem in `error`.
std::vector<Placeholder> placeholders(std::string_view text, std::string* error) {
  std::vector<Placeholder> out;
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    const size_t close = text.find("}}", pos + 2);
    if (close == std::string_view::npos) {
      *error = "has \"{{\" without a closing \"}}\"";
      return {};
    }
    std::string_view inner = text.substr(pos + 2, close - pos - 2);
    Placeholder p;
    p.begin = pos;
    p.end = close + 2;
    if (const size_t bar = inner.find('|'); bar != std::string_view::npos) {
      p.fallback = std::string(trim(inner.substr(bar + 1)));
      inner = inner.substr(0, bar);
    }
    p.variable = std::string(trim(inner));
    const std::string_view v = p.variable;
    bool known = v == "name" || v == "phone";
    if (!known && v.substr(0, kMetadataPrefix.size()) == kMetadataPrefix) {
      const std::string_view key = v.substr(kMetadataPrefix.size());
      known = !key.empty() && key.size() <= kMaxKeyLength;
      for (char c : key) known = known && key_char(c);
    }
    if (!known) {
      *error = "uses the unknown variable {{" + p.variable.substr(0, 60) +
               "}} (known: {{name}}, {{phone}}, {{metadata.<key>}}, each with an optional |default)";
      return {};
    }
    out.push_back(std::move(p));
    pos = close + 2;
  }
  return out;
}

}  // namespace

std::set<std::string> template_variables(std::string_view text, std::string_view field) {
  std::string error;
  const auto found = placeholders(text, &error);
  if (!error.empty())
    throw Error(ErrorCode::invalid_argument, "\"" + std::string(field) + "\" " + error, {{"field", field}});
  std::set<std::string> out;
  for (const auto& p : found) out.insert(p.variable);
  return out;
}

void collect_template_variables(const json& value, const std::string& field, std::set<std::string>& out) {
  if (value.is_string()) {
    for (auto& v : template_variables(value.get_ref<const std::string&>(), field)) out.insert(v);
  } else if (value.is_object()) {
    for (const auto& [k, v] : value.items()) collect_template_variables(v, field + "." + k, out);
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i)
      collect_template_variables(value[i], field + "[" + std::to_string(i) + "]", out);
  }
}

std::optional<std::string> render_template(std::string_view text, const TemplateValues& values, std::string* missing) {
  std::string error;
  const auto found = placeholders(text, &error);
  if (!error.empty()) throw Error(ErrorCode::invalid_argument, "the message " + error);
  std::string out;
  out.reserve(text.size() + 32);
  size_t pos = 0;
  for (const auto& p : found) {
    out.append(text.substr(pos, p.begin - pos));
    const auto it = values.find(p.variable);
    if (it != values.end() && !it->second.empty()) {
      out += it->second;
    } else if (p.fallback) {
      out += *p.fallback;
    } else {
      if (missing) *missing = p.variable;
      return std::nullopt;
    }
    pos = p.end;
  }
  out.append(text.substr(pos));
  return out;
}

std::optional<json> render_template_json(const json& value, const TemplateValues& values, std::string* missing) {
  if (value.is_string()) {
    auto text = render_template(value.get_ref<const std::string&>(), values, missing);
    if (!text) return std::nullopt;
    return json(std::move(*text));
  }
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : value.items()) {
      auto r = render_template_json(v, values, missing);
      if (!r) return std::nullopt;
      out[k] = std::move(*r);
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& v : value) {
      auto r = render_template_json(v, values, missing);
      if (!r) return std::nullopt;
      out.push_back(std::move(*r));
    }
    return out;
  }
  return value;
}

TemplateValues template_values(const std::set<std::string>& variables, const std::string& name,
                               const std::string& phone, const json& metadata) {
  TemplateValues out;
  for (const auto& v : variables) {
    if (v == "name") {
      if (!name.empty()) out[v] = name;
    } else if (v == "phone") {
      out[v] = phone;
    } else if (metadata.is_object()) {
      const auto it = metadata.find(v.substr(kMetadataPrefix.size()));
      if (it == metadata.end()) continue;
      if (it->is_string()) out[v] = it->get<std::string>();
      else if (it->is_number() || it->is_boolean()) out[v] = it->dump();
    }
  }
  return out;
}

}  // namespace sb::messaging
