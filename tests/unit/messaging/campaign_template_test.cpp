// The variables of campaign messages: {{name}}, {{phone}}, {{metadata.key}},
// defaults after "|", and what a message cannot be rendered without.
#include "core/error.hpp"
#include "messaging/template_vars.hpp"

#include <catch2/catch.hpp>

using nlohmann::json;
using sb::messaging::render_template;
using sb::messaging::render_template_json;
using sb::messaging::template_values;
using sb::messaging::template_variables;

TEST_CASE("a template names its variables, with or without defaults and spaces", "[messaging][campaigns]") {
  CHECK(template_variables("Hi {{name}}, {{ metadata.city | there }} {{phone}}", "text") ==
        std::set<std::string>{"name", "metadata.city", "phone"});
  CHECK(template_variables("no variables", "text").empty());
}

TEST_CASE("an unknown variable or an unclosed placeholder is refused, naming the field", "[messaging][campaigns]") {
  for (const char* text : {"Hi {{nme}}", "Hi {{name", "{{metadata.}}", "{{metadata.a b}}", "{{}}"}) {
    INFO(text);
    try {
      template_variables(text, "message.text");
      FAIL("accepted");
    } catch (const sb::Error& e) {
      CHECK(e.code() == sb::ErrorCode::invalid_argument);
      CHECK(e.details()["field"] == "message.text");
    }
  }
}

TEST_CASE("a value fills its placeholder and a missing or empty one takes the default or stops the rendering",
          "[messaging][campaigns]") {
  const auto vars = template_variables("{{name|there}} {{metadata.city}} {{metadata.n}}", "t");
  auto values = template_values(vars, "", "+12025550101", json{{"city", "Lyon"}, {"n", 3}});
  std::string missing;
  CHECK(render_template("Hi {{name|there}} from {{metadata.city}} ({{metadata.n}})", values, &missing) ==
        "Hi there from Lyon (3)");
  CHECK(render_template("{{phone}}", template_values({"phone"}, "", "+12025550101", json::object()), &missing) ==
        "+12025550101");

  values = template_values(vars, "Ana", "+12025550101", json{{"city", nullptr}});
  CHECK_FALSE(render_template("Hi {{name}} from {{metadata.city}}", values, &missing));
  CHECK(missing == "metadata.city");
  CHECK(render_template("Hi {{name}} from {{ metadata.city | your town }}", values, &missing) ==
        "Hi Ana from your town");
}

TEST_CASE("every string of a payload is rendered", "[messaging][campaigns]") {
  const json payload = {{"template", {{"name", "promo"}, {"parameters", {"{{name}}", "{{metadata.code|none}}"}}}}};
  std::set<std::string> vars;
  sb::messaging::collect_template_variables(payload, "payload", vars);
  CHECK(vars == std::set<std::string>{"name", "metadata.code"});
  std::string missing;
  auto out = render_template_json(payload, template_values(vars, "Bo", "+1", json::object()), &missing);
  REQUIRE(out);
  CHECK((*out)["template"]["parameters"] == json({"Bo", "none"}));
  CHECK_FALSE(render_template_json(payload, template_values(vars, "", "+1", json::object()), &missing));
  CHECK(missing == "name");
}
