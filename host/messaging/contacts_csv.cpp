#include "messaging/contacts_csv.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "messaging/csv.hpp"
#include "messaging/phone.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

namespace sb::messaging {

namespace {

using nlohmann::json;

constexpr std::string_view kMetadataPrefix = "metadata.";
constexpr size_t kMaxMetadataKeyLength = 100;

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return std::string(s.substr(first, last - first + 1));
}

enum class Column { phone, name, email, tags, opted_out, metadata };

struct HeaderColumn {
  Column kind;
  std::string name;  // as reported: "phone", "metadata.city"
  std::string key;   // metadata key
};

std::vector<HeaderColumn> read_header(const CsvRecord& header) {
  if (!header.error.empty())
    throw Error(ErrorCode::invalid_argument, "the header row (line " + std::to_string(header.line) +
                                                 ") is malformed: " + header.error);
  std::vector<HeaderColumn> out;
  bool has_phone = false;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string raw = trim(header.fields[i]);
    const std::string name = ascii_lower(raw);
    HeaderColumn col;
    if (name == "phone") {
      col = {Column::phone, "phone", ""};
      has_phone = true;
    } else if (name == "name") {
      col = {Column::name, "name", ""};
    } else if (name == "email") {
      col = {Column::email, "email", ""};
    } else if (name == "tags") {
      col = {Column::tags, "tags", ""};
    } else if (name == "opted_out") {
      col = {Column::opted_out, "opted_out", ""};
    } else if (name.rfind(kMetadataPrefix, 0) == 0 && raw.size() > kMetadataPrefix.size() &&
               raw.size() - kMetadataPrefix.size() <= kMaxMetadataKeyLength) {
      // The key keeps its case: metadata.City and metadata.city are two keys.
      const std::string key = raw.substr(kMetadataPrefix.size());
      col = {Column::metadata, std::string(kMetadataPrefix) + key, key};
    } else {
      throw Error(ErrorCode::invalid_argument,
                  "column " + std::to_string(i + 1) + " of the header, \"" + raw.substr(0, 60) +
                      "\", is not a contact field (phone, name, email, tags, opted_out or metadata.<key>)",
                  {{"column", raw.substr(0, 60)}});
    }
    for (const auto& seen : out) {
      if (seen.name == col.name)
        throw Error(ErrorCode::invalid_argument, "the header names the column \"" + col.name + "\" twice",
                    {{"column", col.name}});
    }
    out.push_back(std::move(col));
  }
  if (!has_phone)
    throw Error(ErrorCode::invalid_argument, "the header row has no \"phone\" column; it is required",
                {{"column", "phone"}});
  return out;
}

// Tags of a cell: separated by ';' or '|', trimmed, empty ones dropped,
// each once in the order given.
std::vector<std::string> split_tags(std::string_view cell) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= cell.size()) {
    const size_t end = cell.find_first_of(";|", start);
    const std::string tag = trim(cell.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (!tag.empty() && std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(tag);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

struct GoodRow {
  size_t line = 0;
  store::ContactUpsert contact;
  bool opt_out = false;
};

class Importer {
 public:
  Importer(store::Database& db, const ContactImportOptions& options) : db_(db), options_(options) {}

  ContactImportReport run(std::string_view csv) {
    CsvReader reader(csv, options_.delimiter);
    CsvRecord record;
    if (!reader.next(record))
      throw Error(ErrorCode::invalid_argument, "the file is empty; it needs a header row naming its columns");
    const std::vector<HeaderColumn> header = read_header(record);
    while (reader.next(record)) {
      ++report_.rows;
      check_row(record, header);
    }
    write();
    return std::move(report_);
  }

 private:
  void error(size_t line, std::string column, std::string message) {
    if (report_.errors.size() < kMaxReportedErrors) {
      report_.errors.push_back({line, std::move(column), std::move(message)});
    } else {
      report_.errors_truncated = true;
    }
  }

  void check_row(const CsvRecord& record, const std::vector<HeaderColumn>& header) {
    bool bad = false;
    auto fail = [&](std::string column, std::string message) {
      bad = true;
      error(record.line, std::move(column), std::move(message));
    };
    if (!record.error.empty()) {
      fail("", record.error);
      ++report_.error_rows;
      return;
    }
    if (record.fields.size() != header.size()) {
      fail("", "the row has " + std::to_string(record.fields.size()) + " fields; the header has " +
                   std::to_string(header.size()));
      ++report_.error_rows;
      return;
    }
    GoodRow row;
    row.line = record.line;
    row.contact.organization_id = options_.organization_id;
    row.contact.workspace_id = options_.workspace_id;
    for (size_t i = 0; i < header.size(); ++i) {
      const HeaderColumn& col = header[i];
      const std::string value = trim(record.fields[i]);
      switch (col.kind) {
        case Column::phone: {
          if (value.empty()) {
            fail(col.name, "the phone is empty; every row needs one");
            break;
          }
          PhoneCheck phone = check_phone(value, options_.default_region);
          if (!phone) {
            fail(col.name, phone.error);
            break;
          }
          row.contact.phone = *phone.e164;
          break;
        }
        case Column::name:
          if (value.size() > kMaxContactNameLength) {
            fail(col.name, "the name is longer than " + std::to_string(kMaxContactNameLength) + " characters");
          } else if (!value.empty()) {
            row.contact.name = value;
          }
          break;
        case Column::email:
          if (value.empty()) break;
          if (value.size() > kMaxContactEmailLength || !plausible_email(value)) {
            fail(col.name, "\"" + value.substr(0, 60) + "\" is not an email address such as ana@example.com");
          } else {
            row.contact.email = value;
          }
          break;
        case Column::tags: {
          auto tags = split_tags(value);
          if (tags.size() > kMaxContactTags) {
            fail(col.name, "the row has " + std::to_string(tags.size()) + " tags; a contact holds at most " +
                               std::to_string(kMaxContactTags));
            break;
          }
          for (const auto& t : tags) {
            if (t.size() > kMaxContactTagLength) {
              fail(col.name, "the tag \"" + t.substr(0, 40) + "...\" is longer than " +
                                 std::to_string(kMaxContactTagLength) + " characters");
              break;
            }
          }
          row.contact.tags = std::move(tags);
          break;
        }
        case Column::opted_out: {
          const std::string v = ascii_lower(value);
          if (v.empty() || v == "false" || v == "no" || v == "0") break;
          if (v == "true" || v == "yes" || v == "1") {
            row.opt_out = true;
          } else {
            fail(col.name, "\"" + value.substr(0, 40) + "\" is not true or false");
          }
          break;
        }
        case Column::metadata:
          if (!value.empty()) row.contact.metadata[col.key] = value;
          break;
      }
    }
    if (!bad && row.contact.metadata.dump().size() > kMaxContactMetadataBytes) {
      fail("", "the row's metadata is larger than " + std::to_string(kMaxContactMetadataBytes / 1024) +
                   " KiB as JSON");
    }
    if (!bad) {
      auto [it, first] = first_line_of_phone_.emplace(row.contact.phone, row.line);
      if (!first) {
        fail("phone", "the phone " + row.contact.phone + " is also on line " + std::to_string(it->second) +
                          "; a file names each contact once");
      }
    }
    if (bad) {
      ++report_.error_rows;
      return;
    }
    rows_.push_back(std::move(row));
  }

  void keep(const store::Contact& contact, bool created) {
    if (report_.touched_overflow) return;
    if (report_.touched.size() >= kMaxTouchedKept) {
      report_.touched_overflow = true;
      report_.touched.clear();
      return;
    }
    report_.touched.emplace_back(contact, created);
  }

  void write() {
    const size_t batch = std::max<size_t>(1, options_.batch_size);
    for (size_t start = 0; start < rows_.size(); start += batch) {
      const size_t end = std::min(rows_.size(), start + batch);
      db_.write([&](store::Connection& c) {
        const int64_t now = now_ms();
        for (size_t i = start; i < end; ++i) write_row(c, rows_[i], now);
        return 0;
      });
    }
  }

  void write_row(store::Connection& c, const GoodRow& row, int64_t now) {
    try {
      if (options_.create_only && store::contacts::find_by_phone(c, row.contact.workspace_id, row.contact.phone)) {
        ++report_.skipped;
        return;
      }
      auto result = store::contacts::upsert_by_phone(c, row.contact, now);
      bool changed = result.changed;
      if (row.opt_out) {
        if (auto opted = store::contacts::opt_out(c, row.contact.workspace_id, result.contact.id, "import", now)) {
          changed = changed || opted->changed;
          result.contact = std::move(opted->contact);
        }
      }
      if (result.created) {
        ++report_.imported;
      } else if (changed) {
        ++report_.updated;
      } else {
        ++report_.skipped;
      }
      if (changed) keep(result.contact, result.created);
    } catch (const Error& e) {
      // Checked above; what the store still refuses is reported, not lost.
      if (e.code() == ErrorCode::internal) throw;
      ++report_.error_rows;
      error(row.line, "", e.what());
    }
  }

  store::Database& db_;
  const ContactImportOptions& options_;
  ContactImportReport report_;
  std::vector<GoodRow> rows_;
  std::unordered_map<std::string, size_t> first_line_of_phone_;
};

std::string metadata_cell(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

}  // namespace

bool plausible_email(std::string_view email) {
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || email.find('@', at + 1) != std::string_view::npos)
    return false;
  const std::string_view domain = email.substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' || domain.find("..") != std::string_view::npos)
    return false;
  return std::none_of(email.begin(), email.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

json to_json(const ContactImportReport& r) {
  json errors = json::array();
  for (const auto& e : r.errors) errors.push_back({{"line", e.line}, {"column", e.column}, {"message", e.message}});
  return {{"rows", r.rows},
          {"imported", r.imported},
          {"updated", r.updated},
          {"skipped", r.skipped},
          {"error_rows", r.error_rows},
          {"errors", std::move(errors)},
          {"errors_truncated", r.errors_truncated}};
}

ContactImportReport import_contacts_csv(store::Database& db, std::string_view csv, const ContactImportOptions& options) {
  return Importer(db, options).run(csv);
}

std::string contact_csv_header(const std::vector<std::string>& metadata_keys) {
  std::vector<std::string> fields{"phone", "name", "email", "tags", "opted_out"};
  for (const auto& key : metadata_keys) fields.push_back(std::string(kMetadataPrefix) + key);
  return csv_record(fields);
}

std::string contact_csv_record(const store::Contact& contact, const std::vector<std::string>& metadata_keys) {
  std::string tags;
  for (const auto& t : contact.tags) {
    if (!t.is_string()) continue;
    if (!tags.empty()) tags += ";";
    tags += t.get<std::string>();
  }
  std::vector<std::string> fields{contact.phone, contact.name, contact.email.value_or(""), tags,
                                  contact.opted_out ? "true" : "false"};
  for (const auto& key : metadata_keys) {
    auto it = contact.metadata.is_object() ? contact.metadata.find(key) : contact.metadata.end();
    fields.push_back(contact.metadata.is_object() && it != contact.metadata.end() ? metadata_cell(*it) : "");
  }
  return csv_record(fields);
}

std::vector<std::string> contact_metadata_keys(store::Connection& c, const std::string& workspace_id) {
  std::vector<std::string> out;
  for (const store::Row& r :
       c.query("SELECT DISTINCT m.key AS k FROM contacts, json_each(contacts.metadata_json) AS m "
               "WHERE contacts.workspace_id = ? AND json_valid(contacts.metadata_json) ORDER BY m.key",
               {workspace_id})) {
    out.push_back(r.text("k"));
  }
  return out;
}

}  // namespace sb::messaging
