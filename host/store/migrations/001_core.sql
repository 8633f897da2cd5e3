-- Core tenancy: organizations (agencies) own workspaces (tenants), which own
-- profiles (one WhatsApp number each); plus the plugins' durable state.
-- Times are Unix epoch milliseconds (BIGINT: 64-bit in every dialect).

CREATE TABLE organizations (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE workspaces (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  name            TEXT NOT NULL,
  timezone        TEXT NOT NULL DEFAULT 'UTC',   -- IANA name, for schedules and campaigns
  created_at      BIGINT NOT NULL
);
CREATE INDEX workspaces_by_organization ON workspaces (organization_id);

CREATE TABLE profiles (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  name            TEXT NOT NULL,
  channel_plugin  TEXT NOT NULL,                   -- plugin id, e.g. channel-sandbox
  config_json     TEXT NOT NULL DEFAULT '{}',      -- validated against the plugin's schema
  status          TEXT NOT NULL DEFAULT 'DISCONNECTED',
  status_detail   TEXT,
  qr              TEXT,                            -- the pairing code while QR_READY
  auto_reply_json TEXT NOT NULL DEFAULT '[]',
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX profiles_by_workspace ON profiles (organization_id, workspace_id);

-- Per plugin instance key-value state (a web session's auth keys), read and
-- written through the host services table's kv_get / kv_put / kv_delete.
CREATE TABLE plugin_state (
  plugin_id   TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  key         TEXT NOT NULL,
  value       TEXT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (plugin_id, instance_id, key)
);
