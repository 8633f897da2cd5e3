-- Tenancy: people, their roles, sessions (refresh tokens), API keys, the
-- registered dashboards and the audit log. Read and written by
-- host/tenancy/. Times are Unix epoch milliseconds (BIGINT).

CREATE TABLE users (
  id              TEXT PRIMARY KEY,
  email           TEXT NOT NULL UNIQUE,        -- lower-cased
  name            TEXT NOT NULL DEFAULT '',
  password_hash   TEXT NOT NULL,               -- argon2id, libsodium's crypto_pwhash_str format
  engine_admin    INTEGER NOT NULL DEFAULT 0,  -- above every organization
  disabled        INTEGER NOT NULL DEFAULT 0,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);

-- A user's role in one workspace, or in every workspace of an organization
-- when workspace_id is '' (an organization-wide role). The role a user has
-- in a workspace is the higher of the two.
CREATE TABLE memberships (
  user_id         TEXT NOT NULL REFERENCES users (id),
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL DEFAULT '',
  role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  PRIMARY KEY (user_id, organization_id, workspace_id)
);
CREATE INDEX memberships_by_workspace ON memberships (organization_id, workspace_id);

CREATE TABLE invitations (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL DEFAULT '',
  email           TEXT NOT NULL,
  role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
  token_hash      TEXT NOT NULL UNIQUE,        -- SHA-256 of the token shown once
  invited_by      TEXT NOT NULL,
  expires_at      BIGINT NOT NULL,
  accepted_at     BIGINT,
  revoked_at      BIGINT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX invitations_by_workspace ON invitations (organization_id, workspace_id, created_at);

-- Refresh tokens. Each login starts a family; every refresh marks the token
-- used and issues the next one in the family. A used token presented again
-- means it was stolen: the whole family is revoked.
CREATE TABLE refresh_tokens (
  id              TEXT PRIMARY KEY,
  family_id       TEXT NOT NULL,
  user_id         TEXT NOT NULL REFERENCES users (id),
  secret_hash     TEXT NOT NULL,               -- SHA-256 of the secret part
  expires_at      BIGINT NOT NULL,
  used_at         BIGINT,
  revoked_at      BIGINT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- API keys: "sbk_<id>_<secret>"; only the secret's SHA-256 is kept. A key
-- belongs to a workspace, or to a whole organization when workspace_id is ''.
-- Rotation issues a new key and lets the old one work until expires_at.
CREATE TABLE api_keys (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL DEFAULT '',
  name            TEXT NOT NULL,
  scopes_json     TEXT NOT NULL,               -- ["read","send","manage"]
  secret_hash     TEXT NOT NULL,
  kind            TEXT NOT NULL DEFAULT 'key' CHECK (kind IN ('key', 'dashboard')),
  created_by      TEXT NOT NULL,
  created_at      BIGINT NOT NULL,
  last_used_at    BIGINT,
  expires_at      BIGINT,
  revoked_at      BIGINT,
  replaced_by     TEXT
);
CREATE INDEX api_keys_by_owner ON api_keys (organization_id, workspace_id, created_at);

-- Dashboards registered with the internal pre-shared key, one per agency
-- (organization). Its webhook secret is encrypted (AES-256-GCM).
CREATE TABLE dashboards (
  organization_id TEXT PRIMARY KEY REFERENCES organizations (id),
  name            TEXT NOT NULL,
  url             TEXT NOT NULL,
  webhook_secret  TEXT NOT NULL,               -- sealed by tenancy/secret_box
  api_key_id      TEXT NOT NULL REFERENCES api_keys (id),
  status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);

-- Every sensitive act. organization_id / workspace_id are '' for engine acts.
CREATE TABLE audit_log (
  seq             INTEGER PRIMARY KEY,
  organization_id TEXT NOT NULL DEFAULT '',
  workspace_id    TEXT NOT NULL DEFAULT '',
  actor_type      TEXT NOT NULL,               -- user | api_key | dashboard | engine | anonymous
  actor_id        TEXT NOT NULL DEFAULT '',
  action          TEXT NOT NULL,               -- login, login.failed, api_key.created, ...
  target_type     TEXT NOT NULL DEFAULT '',
  target_id       TEXT NOT NULL DEFAULT '',
  details_json    TEXT NOT NULL DEFAULT '{}',
  ip              TEXT NOT NULL DEFAULT '',
  request_id      TEXT NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL
);
CREATE INDEX audit_log_by_tenant ON audit_log (organization_id, workspace_id, seq);
