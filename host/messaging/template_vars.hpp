#pragma once
// The variables of a campaign message: "Hi {{name|there}}, the {{metadata.city}}
// store opens today". A placeholder is {{ variable }} or {{ variable|default }}
// with spaces allowed around both; the variables are
//   name            the contact's name
//   phone           the contact's phone (E.164)
//   metadata.<key>  a key of the contact's metadata (or of its CSV row)
// A value that is missing or empty takes the default; with no default the
// message cannot be rendered for that contact (the campaign skips it with the
// reason, rather than send "Hi , ..."). "{{" without a closing "}}" or an
// unknown variable is an error when the campaign is created.
//
// Pure functions, any thread.
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace sb::messaging {

// A contact's values by variable name ("name", "phone", "metadata.city").
using TemplateValues = std::map<std::string, std::string>;

// The variables `text` uses. Throws sb::Error(invalid_argument) naming
// `field` for an unclosed placeholder or an unknown variable.
std::set<std::string> template_variables(std::string_view text, std::string_view field);

// The same over every string of `value` (a message's payload), recursively;
// `field` names the root ("payload").
void collect_template_variables(const nlohmann::json& value, const std::string& field, std::set<std::string>& out);

// `text` with its placeholders replaced from `values`; nullopt (and
// `missing` set to the variable) when a variable has no value and no
// default. `text` must have passed template_variables().
std::optional<std::string> render_template(std::string_view text, const TemplateValues& values, std::string* missing);

// The same over every string of `value`.
std::optional<nlohmann::json> render_template_json(const nlohmann::json& value, const TemplateValues& values,
                                                   std::string* missing);

// The values of `variables` for a contact: its name, phone and metadata
// (metadata strings as they are, numbers and booleans as JSON text; null,
// arrays and objects count as missing). Only the variables asked for.
TemplateValues template_values(const std::set<std::string>& variables, const std::string& name,
                               const std::string& phone, const nlohmann::json& metadata);

}  // namespace sb::messaging
