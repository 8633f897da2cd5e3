#include "core/log.hpp"

#include "core/error.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <ctime>

namespace sb {
namespace {

// One JSON object per line: {"ts","level","logger","msg","thread"}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[64];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    nlohmann::json line = {
        {"ts", ts},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
        {"thread", msg.thread_id},
    };
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

spdlog::level::level_enum parse_log_level(std::string_view level) {
  static const std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (const auto& [name, value] : kLevels) {
    if (name == level) return value;
  }
  throw Error(ErrorCode::invalid_argument,
              "unknown log level \"" + std::string(level) + "\" (use trace, debug, info, warn, error or off)");
}

void init_logging(const LogOptions& options) {
  const auto level = parse_log_level(options.level);
  if (options.format != "human" && options.format != "json") {
    throw Error(ErrorCode::invalid_argument,
                "unknown log format \"" + options.format + "\" (use human or json)");
  }
  // Logs go to stderr so that stdout stays free for command output.
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("switchboard", sink);
  if (options.format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

nlohmann::json map_secret_values(const nlohmann::json& config, const nlohmann::json& schema,
                                 const std::function<nlohmann::json(const nlohmann::json&)>& fn) {
  if (!config.is_object() || !schema.is_object()) return config;
  nlohmann::json out = config;
  const auto props = schema.find("properties");
  if (props == schema.end() || !props->is_object()) return out;
  for (auto it = out.begin(); it != out.end(); ++it) {
    const auto prop = props->find(it.key());
    if (prop == props->end()) continue;
    if (prop->value("secret", false)) {
      it.value() = fn(it.value());
    } else if (it.value().is_object()) {
      it.value() = map_secret_values(it.value(), *prop, fn);
    }
  }
  return out;
}

nlohmann::json redact_config(const nlohmann::json& config, const nlohmann::json& schema) {
  return map_secret_values(config, schema, [](const nlohmann::json&) { return nlohmann::json("***"); });
}

}  // namespace sb
