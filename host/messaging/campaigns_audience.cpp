// Campaigns: creating a draft and adding its audience (explicit contacts, a
// tag query, a CSV of phones and variables), in chunked write jobs.
#include "messaging/campaigns.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "messaging/csv.hpp"
#include "messaging/message_types.hpp"
#include "messaging/phone.hpp"
#include "messaging/template_vars.hpp"
#include "store/profile_repository.hpp"

#include <algorithm>
#include <cctype>

namespace sb::messaging {
namespace {

using nlohmann::json;

constexpr size_t kMaxReportedErrors = 100;
constexpr int64_t kMaxRatePerMinute = 60000;
constexpr size_t kMaxNameLength = 200;

Error bad(const char* field, const std::string& message) {
  return Error(ErrorCode::invalid_argument, message, {{"field", field}});
}

// Fields a campaign message may have.
void allow_message_fields(const json& message) {
  for (const auto& [k, v] : message.items())
    if (k != "type" && k != "text" && k != "payload")
      throw bad("message", "unknown field \"message." + k + "\" (allowed: type, text, payload)");
  if (message.contains("type") && !message["type"].is_string()) throw bad("message", "\"message.type\" must be a string");
  if (message.contains("text") && !message["text"].is_string()) throw bad("message", "\"message.text\" must be a string");
  if (message.contains("payload") && !message["payload"].is_object())
    throw bad("message", "\"message.payload\" must be an object");
}

}  // namespace

std::set<std::string> campaign_message_variables(const json& message) {
  if (!message.is_object()) throw bad("message", "\"message\" must be an object {\"type\", \"text\", \"payload\"}");
  allow_message_fields(message);
  std::set<std::string> vars;
  const std::string text = message.value("text", std::string());
  for (auto& v : template_variables(text, "message.text")) vars.insert(v);
  const json payload = message.value("payload", json::object());
  collect_template_variables(payload, "message.payload", vars);
  TemplateValues sample;
  for (const auto& v : vars) sample[v] = "x";
  sample["phone"] = "+14155550100";
  MessageContent content{message.value("type", std::string("text")), *render_template(text, sample, nullptr),
                         *render_template_json(payload, sample, nullptr)};
  check_outgoing(content, "message.payload.");
  return vars;
}

namespace {

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

std::string trimmed(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// One audience member before it is a row.
struct Candidate {
  std::optional<store::Contact> contact;  // nullopt: skipped without a contact
  std::string phone;
  json extra = json::object();  // CSV columns over the contact's metadata
  std::optional<std::string> name;  // the CSV's name over the contact's
  bool created = false;             // the contact is new: it cannot be in the campaign yet
  std::optional<std::string> skip;  // why, when already known
  json error_key;                   // {"line": n} or {"contact_id": id}
};

struct CsvRow {
  size_t line = 0;
  std::string phone;  // as written
  std::string name;
  json metadata = json::object();
  std::string error;
};

std::vector<CsvRow> parse_audience_csv(const std::string& text) {
  CsvReader reader(text);
  CsvRecord record;
  std::vector<std::string> header;
  while (reader.next(record)) {
    if (!record.error.empty()) throw bad("csv", "line " + std::to_string(record.line) + ": " + record.error);
    header = record.fields;
    break;
  }
  int phone_col = -1, name_col = -1;
  std::vector<std::string> keys(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = lower(trimmed(header[i]));
    if (h == "phone") phone_col = static_cast<int>(i);
    else if (h == "name") name_col = static_cast<int>(i);
    else {
      std::string key = trimmed(header[i]);
      if (lower(key).rfind("metadata.", 0) == 0) key = key.substr(9);
      if (key.empty()) throw bad("csv", "the header's column " + std::to_string(i + 1) + " has no name");
      keys[i] = key;
    }
  }
  if (phone_col < 0) throw bad("csv", "the CSV's first line must be a header with a \"phone\" column");
  std::vector<CsvRow> rows;
  while (reader.next(record)) {
    CsvRow row;
    row.line = record.line;
    row.error = record.error;
    if (row.error.empty()) {
      for (size_t i = 0; i < record.fields.size() && i < header.size(); ++i) {
        const std::string value = trimmed(record.fields[i]);
        if (static_cast<int>(i) == phone_col) row.phone = value;
        else if (static_cast<int>(i) == name_col) row.name = value.substr(0, kMaxNameLength);
        else if (!value.empty()) row.metadata[keys[i]] = value;
      }
      if (record.fields.size() > header.size()) row.error = "has more fields than the header";
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void note(AudienceReport& report, const Candidate& cand, const std::string& reason) {
  ++report.skipped;
  ++report.skipped_by_reason[reason];
  if (report.errors.size() < kMaxReportedErrors) {
    json e = cand.error_key;
    e["phone"] = cand.phone;
    e["reason"] = reason;
    report.errors.push_back(std::move(e));
  }
}

}  // namespace

json AudienceReport::to_json() const {
  return {{"added", added},
          {"skipped", skipped},
          {"skipped_by_reason", skipped_by_reason},
          {"contacts_created", contacts_created},
          {"errors", errors}};
}

store::Campaign Campaigns::create(const store::Workspace& ws, const CampaignSpec& spec, const Audience& audience,
                                  AudienceReport* report) {
  if (spec.name.empty() || spec.name.size() > kMaxNameLength)
    throw bad("name", "\"name\" must be 1 to 200 characters");
  if (spec.rate_per_minute < 1 || spec.rate_per_minute > kMaxRatePerMinute)
    throw bad("rate_per_minute", "\"rate_per_minute\" must be 1 to 60000");
  if (!(spec.jitter >= 0 && spec.jitter <= 0.9)) throw bad("jitter", "\"jitter\" must be 0 to 0.9");
  campaign_message_variables(spec.message);
  // A CSV without a usable header is refused before anything is stored.
  if (audience.csv) parse_audience_csv(*audience.csv);

  store::Campaign campaign;
  campaign.id = spec.id.empty() ? new_id("cmp") : spec.id;
  campaign.organization_id = ws.organization_id;
  campaign.workspace_id = ws.id;
  campaign.profile_id = spec.profile_id;
  campaign.name = spec.name;
  campaign.message = {{"type", spec.message.value("type", std::string("text"))},
                      {"text", spec.message.value("text", std::string())},
                      {"payload", spec.message.value("payload", json::object())}};
  campaign.rate_per_minute = spec.rate_per_minute;
  campaign.jitter = spec.jitter;
  campaign.created_at = campaign.updated_at = now();
  db_.write([&](store::Connection& c) {
    if (!store::profiles::get(c, ws.id, spec.profile_id))
      throw Error(ErrorCode::not_found, "profile " + spec.profile_id + " not found in this workspace",
                  {{"field", "profile_id"}});
    if (store::campaigns::find_any(c, campaign.id))
      throw Error(ErrorCode::conflict, "campaign " + campaign.id + " already exists", {{"field", "id"}});
    store::campaigns::insert(c, campaign);
  });
  AudienceReport local;
  add_audience_chunks(campaign, audience, report ? *report : local);
  return *find(ws, campaign.id);
}

AudienceReport Campaigns::add_audience(const store::Workspace& ws, const std::string& id, const Audience& audience) {
  const store::Campaign campaign = db_.read([&](store::Connection& c) { return require(c, ws, id); });
  if (campaign.state != "draft")
    throw Error(ErrorCode::conflict, "recipients can be added to a draft only; campaign " + id + " is " + campaign.state);
  AudienceReport report;
  add_audience_chunks(campaign, audience, report);
  return report;
}

void Campaigns::add_audience_chunks(const store::Campaign& campaign, const Audience& audience,
                                    AudienceReport& report) {
  const std::set<std::string> vars = campaign_message_variables(campaign.message);
  const int64_t chunk = std::max<int64_t>(1, options_.chunk);
  json record = json::array();

  // Turns candidates into rows in one write job (the campaign must still be a draft).
  auto write_chunk = [&](std::vector<Candidate>& cands, auto&& resolve) {
    db_.write([&](store::Connection& c) {
      auto current = store::campaigns::find_any(c, campaign.id);
      if (!current || current->state != "draft")
        throw Error(ErrorCode::conflict, "campaign " + campaign.id + " is no longer a draft");
      const int64_t t = now();
      resolve(c, cands, t);
      for (auto& cand : cands) {
        store::CampaignRecipient r;
        r.campaign_id = campaign.id;
        r.seq = current->next_seq++;
        r.phone = cand.phone;
        r.updated_at = t;
        std::optional<std::string> skip = cand.skip;
        if (!skip && cand.contact) {
          r.phone = cand.contact->phone;
          if (!cand.created && store::campaigns::has_contact(c, campaign.id, cand.contact->id)) {
            skip = "duplicate";
          } else {
            r.contact_id = cand.contact->id;
            if (cand.contact->opted_out) skip = "opted out";
            // A WhatsApp group is kept as a contact (routes_groups.cpp): a
            // broadcast goes to people, not into groups.
            const std::string& phone = cand.contact->phone;
            if (!skip && phone.size() > 5 && phone.compare(phone.size() - 5, 5, "@g.us") == 0) skip = "a group";
          }
        }
        if (!skip && cand.contact) {
          json metadata = cand.contact->metadata.is_object() ? cand.contact->metadata : json::object();
          for (const auto& [k, v] : cand.extra.items()) metadata[k] = v;
          const std::string name = cand.name ? *cand.name : cand.contact->name;
          TemplateValues values = template_values(vars, name, cand.contact->phone, metadata);
          std::string missing;
          if (!render_template(campaign.message.value("text", std::string()), values, &missing) ||
              !render_template_json(campaign.message.value("payload", json::object()), values, &missing)) {
            skip = "missing variable " + missing;
          } else {
            r.variables = json(values);
          }
        }
        if (skip) {
          r.state = "skipped";
          r.reason = *skip;
          note(report, cand, *skip);
        } else {
          ++report.added;
        }
        store::campaigns::insert_recipient(c, r);
      }
      current->updated_at = t;
      store::campaigns::save(c, *current);
    });
  };

  // Explicit contacts.
  if (!audience.contact_ids.empty()) {
    for (size_t i = 0; i < audience.contact_ids.size(); i += static_cast<size_t>(chunk)) {
      std::vector<Candidate> cands;
      for (size_t j = i; j < audience.contact_ids.size() && j < i + static_cast<size_t>(chunk); ++j) {
        Candidate cand;
        cand.error_key = {{"contact_id", audience.contact_ids[j]}};
        cands.push_back(std::move(cand));
      }
      const size_t base = i;
      write_chunk(cands, [&](store::Connection& c, std::vector<Candidate>& cs, int64_t) {
        for (size_t k = 0; k < cs.size(); ++k) {
          const std::string& id = audience.contact_ids[base + k];
          cs[k].contact = store::contacts::find(c, campaign.workspace_id, id);
          if (!cs[k].contact) cs[k].skip = "unknown contact";
        }
      });
    }
    record.push_back({{"source", "contacts"}, {"count", audience.contact_ids.size()}});
  }

  // A tag query, walked by contact id.
  if (audience.tags) {
    std::string after;
    int64_t matched = 0;
    for (;;) {
      std::vector<Candidate> cands;
      write_chunk(cands, [&](store::Connection& c, std::vector<Candidate>& cs, int64_t) {
        for (auto& contact :
             store::contacts::contacts_matching(c, campaign.workspace_id, *audience.tags, after, chunk, true)) {
          after = contact.id;
          Candidate cand;
          cand.phone = contact.phone;
          cand.error_key = {{"contact_id", contact.id}};
          cand.contact = std::move(contact);
          cs.push_back(std::move(cand));
        }
      });
      matched += static_cast<int64_t>(cands.size());
      if (static_cast<int64_t>(cands.size()) < chunk) break;
    }
    record.push_back({{"source", "tags"}, {"query", audience.tags_spec}, {"count", matched}});
  }

  // A CSV: phones (validated strictly: these are typed numbers) and variables;
  // contacts are created for new phones.
  if (audience.csv) {
    const std::vector<CsvRow> rows = parse_audience_csv(*audience.csv);
    for (size_t i = 0; i < rows.size(); i += static_cast<size_t>(chunk)) {
      std::vector<Candidate> cands;
      for (size_t j = i; j < rows.size() && j < i + static_cast<size_t>(chunk); ++j) {
        const CsvRow& row = rows[j];
        Candidate cand;
        cand.phone = row.phone;
        cand.error_key = {{"line", row.line}};
        if (!row.error.empty()) {
          cand.skip = "malformed row: " + row.error;
        } else if (row.phone.empty()) {
          cand.skip = "invalid phone: empty";
        } else if (auto checked = check_phone(row.phone, audience.default_region); !checked) {
          cand.skip = "invalid phone";
          cand.error_key["detail"] = checked.error;
        } else {
          cand.phone = *checked.e164;
        }
        cand.extra = row.metadata;
        if (!row.name.empty()) cand.name = row.name;
        cands.push_back(std::move(cand));
      }
      write_chunk(cands, [&](store::Connection& c, std::vector<Candidate>& cs, int64_t t) {
        for (auto& cand : cs) {
          if (cand.skip) continue;
          cand.contact = store::contacts::find_by_phone(c, campaign.workspace_id, cand.phone);
          if (cand.contact) continue;
          store::Contact contact;
          contact.organization_id = campaign.organization_id;
          contact.workspace_id = campaign.workspace_id;
          contact.phone = cand.phone;
          if (cand.name) contact.name = *cand.name;
          contact.metadata = cand.extra;
          cand.contact = store::contacts::create(c, std::move(contact), t);
          cand.created = true;
          ++report.contacts_created;
        }
      });
    }
    record.push_back({{"source", "csv"}, {"rows", rows.size()}});
  }

  if (!record.empty()) {
    db_.write([&](store::Connection& c) {
      auto current = store::campaigns::find_any(c, campaign.id);
      if (!current) return;
      for (auto& r : record) current->audience.push_back(r);
      current->updated_at = now();
      store::campaigns::save(c, *current);
    });
  }
}

}  // namespace sb::messaging
