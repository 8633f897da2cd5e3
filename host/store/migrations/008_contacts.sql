-- Contacts at production grade (issue 5): tags as rows so that campaigns
-- select audiences by tag without reading every contact's JSON, the ids a
-- channel reports besides the phone, and opt-out with when and why.
-- contacts already has email, metadata_json, updated_at and one phone per
-- workspace (UNIQUE (workspace_id, phone), migration 002).

-- Opt-out: opted_out (002) stays the flag every reader checks; these say
-- since when and why ("keyword:STOP", "api", "import").
ALTER TABLE contacts ADD COLUMN opted_out_at BIGINT;
ALTER TABLE contacts ADD COLUMN opt_out_reason TEXT;
UPDATE contacts SET opted_out_at = updated_at WHERE opted_out = 1 AND opted_out_at IS NULL;

-- Audiences are walked by id (contacts::contacts_matching): a page seeks
-- to its workspace's rows after the last id, in order, through
-- contacts_by_workspace_id (workspace_id, id) from migration 003.

-- One row per (contact, tag). contacts.tags_json stays what the API and
-- flows read and write (the tags in the order they were added); this table
-- is its index, kept by the triggers below so that every writer (the API,
-- flows' tag nodes, imports) keeps it right without knowing of it.
-- A tag query is EXISTS probes on the primary key; "every contact with
-- tag vip" is a range of it. (PostgreSQL: the same triggers as one
-- plpgsql function over jsonb_array_elements_text.)
CREATE TABLE contact_tags (
  workspace_id TEXT NOT NULL REFERENCES workspaces (id),
  tag          TEXT NOT NULL,
  contact_id   TEXT NOT NULL REFERENCES contacts (id),
  PRIMARY KEY (workspace_id, tag, contact_id)
);
CREATE INDEX contact_tags_by_contact ON contact_tags (contact_id);

INSERT INTO contact_tags (workspace_id, tag, contact_id)
  SELECT DISTINCT contacts.workspace_id, t.value, contacts.id
  FROM contacts, json_each(contacts.tags_json) AS t
  WHERE json_valid(contacts.tags_json) AND t.type = 'text' AND t.value <> '';

CREATE TRIGGER contact_tags_after_insert AFTER INSERT ON contacts
BEGIN
  INSERT INTO contact_tags (workspace_id, tag, contact_id)
    SELECT DISTINCT NEW.workspace_id, value, NEW.id FROM json_each(NEW.tags_json)
    WHERE type = 'text' AND value <> '';
END;

CREATE TRIGGER contact_tags_after_update AFTER UPDATE OF tags_json ON contacts
WHEN NEW.tags_json IS NOT OLD.tags_json
BEGIN
  DELETE FROM contact_tags WHERE contact_id = NEW.id;
  INSERT INTO contact_tags (workspace_id, tag, contact_id)
    SELECT DISTINCT NEW.workspace_id, value, NEW.id FROM json_each(NEW.tags_json)
    WHERE type = 'text' AND value <> '';
END;

CREATE TRIGGER contact_tags_after_delete AFTER DELETE ON contacts
BEGIN
  DELETE FROM contact_tags WHERE contact_id = OLD.id;
END;

-- Ids a channel reports for a contact besides the phone: WhatsApp's wa_id,
-- a Cloud API business-scoped user id (bsuid), a WhatsApp Web LID. Scoped
-- by the channel plugin ("channel-whatsapp-cloud"), and by a profile where
-- the id is only meaningful to one number (profile_id; '' otherwise, so
-- that the unique key applies: NULLs would never collide).
CREATE TABLE contact_identities (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  contact_id      TEXT NOT NULL REFERENCES contacts (id),
  channel         TEXT NOT NULL,
  profile_id      TEXT NOT NULL DEFAULT '',
  kind            TEXT NOT NULL,
  value           TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, channel, profile_id, kind, value)
);
CREATE INDEX contact_identities_by_contact ON contact_identities (contact_id);
