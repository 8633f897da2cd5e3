-- Messaging: contacts, conversations, messages and the outbox.
-- Every tenant row carries organization_id and workspace_id; every query
-- filters on them. Times are Unix epoch milliseconds (BIGINT).

CREATE TABLE contacts (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  phone           TEXT NOT NULL,              -- E.164, e.g. +15551234567
  wa_id           TEXT,                       -- the channel's id for the contact, if any
  name            TEXT NOT NULL DEFAULT '',
  email           TEXT,
  tags_json       TEXT NOT NULL DEFAULT '[]',
  metadata_json   TEXT NOT NULL DEFAULT '{}',
  opted_out       INTEGER NOT NULL DEFAULT 0,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  UNIQUE (workspace_id, phone)
);
CREATE INDEX contacts_by_org ON contacts (organization_id, workspace_id);

CREATE TABLE conversations (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  profile_id      TEXT NOT NULL REFERENCES profiles (id),
  contact_id      TEXT NOT NULL REFERENCES contacts (id),
  status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved')),
  mode            TEXT NOT NULL DEFAULT 'bot' CHECK (mode IN ('bot', 'human')),
  assignee        TEXT,
  last_message_at BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
-- At most one conversation that is not resolved per (profile, contact):
-- an inbound message joins it instead of opening another.
CREATE UNIQUE INDEX conversations_one_active
  ON conversations (profile_id, contact_id) WHERE status <> 'resolved';
CREATE INDEX conversations_by_workspace
  ON conversations (workspace_id, last_message_at);

CREATE TABLE messages (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  profile_id      TEXT NOT NULL REFERENCES profiles (id),
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  contact_id      TEXT NOT NULL REFERENCES contacts (id),
  direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  external_id     TEXT,                       -- the channel's id; NULL until an outbound message is sent
  type            TEXT NOT NULL,
  text            TEXT,
  payload_json    TEXT NOT NULL DEFAULT '{}',
  status          TEXT NOT NULL
                  CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed', 'received')),
  error           TEXT,
  handled         INTEGER NOT NULL DEFAULT 0, -- inbound: the automations have taken it
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  -- A redelivered inbound message (same channel id) is stored once.
  UNIQUE (profile_id, external_id)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at);
-- The flow runtime's re-dispatch after a restart reads the unhandled inbound ones.
CREATE INDEX messages_unhandled ON messages (created_at) WHERE handled = 0 AND direction = 'in';

CREATE TABLE outbox (
  -- Enqueue order: sends keep it per conversation. As SQLite's rowid it is
  -- assigned on insert and needs no index of its own (PostgreSQL: identity).
  seq             INTEGER PRIMARY KEY,
  id              TEXT NOT NULL UNIQUE,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  profile_id      TEXT NOT NULL REFERENCES profiles (id),
  conversation_id TEXT NOT NULL REFERENCES conversations (id),
  message_id      TEXT NOT NULL UNIQUE REFERENCES messages (id),
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
  attempts        BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  claimed_at      BIGINT,
  last_error      TEXT,
  idempotency_key TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
-- The sender's claim: pending rows of one profile walked in enqueue order,
-- so a claim stops after its batch however long the backlog is (an index
-- led by next_attempt_at would make it sort the whole backlog each time).
CREATE INDEX outbox_due ON outbox (profile_id, state, seq);
-- Per-conversation ordering: is an earlier row of this conversation still unsent?
CREATE INDEX outbox_by_conversation ON outbox (conversation_id, state, seq);
-- Recovery after a crash (rows left in 'sending') runs once at start-up and
-- scans; an index on state alone would cost every send two more writes.

-- Receipts (delivered, read, failed) that arrived before the send that
-- produced their external id was recorded: a channel may report a receipt
-- while its send() call is still returning. The outbox applies and deletes
-- them when it records the external id.
CREATE TABLE message_receipts (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  profile_id      TEXT NOT NULL REFERENCES profiles (id),
  external_id     TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
  error           TEXT,
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (profile_id, external_id, status)
);
