#pragma once
// Contacts as CSV: the import (POST .../contacts/import) and the export
// (GET .../contacts/export) share one format, so an export imports back
// unchanged.
//
//   phone,name,email,tags,opted_out,metadata.city,metadata.plan
//   +14155550101,Ana Lima,ana@example.com,vip;berlin,false,Berlin,pro
//
// The header row names the columns, in any order, case-insensitive: phone
// (required), name, email, tags (separated by ';' or '|'), opted_out
// (true/false; an import only ever opts out, never back in: someone who
// sent STOP is not re-subscribed by a spreadsheet), and metadata.<key>. Any
// other column refuses the whole file, so a misspelt column is not dropped
// silently. An import writes only what a row gives: an empty cell leaves a
// stored value as it is, tags are added, metadata keys are set.
//
// Each row is checked before anything is written (phone valid per
// messaging/phone.hpp, email, lengths, tags); a bad row is reported with
// its line and column and the others are written, in write jobs of
// `batch_size` rows. A phone repeated within the file is reported on every
// line after the first.
#include "store/contact_repository.hpp"
#include "store/database.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::messaging {

// The limits a contact's fields keep, shared by the API and the import.
constexpr size_t kMaxContactTags = 50;
constexpr size_t kMaxContactTagLength = 100;
constexpr size_t kMaxContactNameLength = 200;
constexpr size_t kMaxContactEmailLength = 254;
constexpr size_t kMaxContactMetadataBytes = 16 * 1024;

// A basic shape check (one "@", a dot in the domain, no spaces or control
// characters): whether the mailbox exists is not ours to know.
bool plausible_email(std::string_view email);

struct ContactImportOptions {
  std::string organization_id;
  std::string workspace_id;
  bool create_only = false;     // existing phones are skipped instead of updated
  std::string default_region;   // for phones written without "+" ("" : they are errors)
  char delimiter = ',';
  size_t batch_size = 1000;     // rows per write job
};

struct ContactImportError {
  size_t line = 0;      // of the file, 1-based; the header is line 1
  std::string column;   // "phone", "metadata.city", ... ("" for the row as a whole)
  std::string message;
};

struct ContactImportReport {
  int64_t rows = 0;        // data rows read
  int64_t imported = 0;    // new contacts
  int64_t updated = 0;     // existing contacts changed
  int64_t skipped = 0;     // good rows that changed nothing (or existed, with create_only)
  int64_t error_rows = 0;  // rows refused
  std::vector<ContactImportError> errors;  // the first kMaxReportedErrors
  bool errors_truncated = false;
  // The contacts written, for the caller's events: kept only while there
  // are at most kMaxTouchedKept of them (`touched_overflow` otherwise).
  std::vector<std::pair<store::Contact, bool /*created*/>> touched;
  bool touched_overflow = false;
};

constexpr size_t kMaxReportedErrors = 1000;
constexpr size_t kMaxTouchedKept = 1000;

// {"rows","imported","updated","skipped","error_rows","errors":[{"line","column","message"}],"errors_truncated"}
nlohmann::json to_json(const ContactImportReport& report);

// Imports `csv` (UTF-8, BOM allowed). Throws sb::Error(invalid_argument)
// for a problem of the whole file, before writing anything: no header, no
// phone column, an unknown or repeated column, a malformed header row.
ContactImportReport import_contacts_csv(store::Database& db, std::string_view csv, const ContactImportOptions& options);

// The export: the header for a workspace whose contacts' metadata have
// `metadata_keys`, and one contact's record under it (CRLF-terminated).
std::string contact_csv_header(const std::vector<std::string>& metadata_keys);
std::string contact_csv_record(const store::Contact& contact, const std::vector<std::string>& metadata_keys);
// Every metadata key of the workspace's contacts, sorted.
std::vector<std::string> contact_metadata_keys(store::Connection& c, const std::string& workspace_id);

}  // namespace sb::messaging
