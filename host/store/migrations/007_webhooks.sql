-- Outbound webhooks (host/webhooks/): a workspace's subscriptions, the
-- durable delivery queue (subscriptions and registered dashboards alike)
-- and the log of every attempt. Times are Unix epoch milliseconds (BIGINT).

CREATE TABLE webhook_subscriptions (
  id                   TEXT PRIMARY KEY,            -- "wh_..."
  organization_id      TEXT NOT NULL REFERENCES organizations (id),
  workspace_id         TEXT NOT NULL REFERENCES workspaces (id),
  url                  TEXT NOT NULL,
  events_json          TEXT NOT NULL DEFAULT '"*"', -- "*" or ["message.received", ...]
  secret               TEXT NOT NULL,               -- "whsec_..." sealed by tenancy/SecretBox ("enc:v1:...")
  description          TEXT NOT NULL DEFAULT '',
  state                TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused', 'disabled')),
  state_reason         TEXT,                        -- why it is paused or disabled
  consecutive_failures BIGINT NOT NULL DEFAULT 0,
  failing_since        BIGINT,                      -- first failure of the current streak
  paused_at            BIGINT,
  paused_by            TEXT CHECK (paused_by IN ('failures', 'api')), -- only 'failures' resumes after the cool-down
  created_at           BIGINT NOT NULL,
  updated_at           BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_by_workspace ON webhook_subscriptions (workspace_id, created_at, id);

-- One row per (event, target): the webhook-id of every attempt of it.
-- target_kind 'subscription' (target_id = webhook_subscriptions.id) or
-- 'dashboard' (target_id = the agency's organization id).
CREATE TABLE webhook_deliveries (
  -- Enqueue order: a (target, ordering key) is delivered in it. As SQLite's
  -- rowid it is assigned on insert (PostgreSQL: identity).
  seq              INTEGER PRIMARY KEY,
  id               TEXT NOT NULL UNIQUE,           -- "msg_...", the webhook-id header
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  workspace_id     TEXT NOT NULL REFERENCES workspaces (id),
  target_kind      TEXT NOT NULL CHECK (target_kind IN ('subscription', 'dashboard')),
  target_id        TEXT NOT NULL,
  event_id         TEXT NOT NULL,                  -- "evt_...", shared by the fan-out of one event
  event_type       TEXT NOT NULL,
  payload          TEXT NOT NULL,                  -- the exact body sent
  ordering_key     TEXT NOT NULL,                  -- conversation id, else "profile:<id>" (sessions), else event id
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'delivering', 'delivered', 'failed', 'dead')),
  attempts         BIGINT NOT NULL DEFAULT 0,      -- every attempt ever (the attempt log's numbers)
  replayed_after   BIGINT NOT NULL DEFAULT 0,      -- attempts before the last replay: the schedule restarts there
  next_attempt_at  BIGINT NOT NULL,
  last_status      BIGINT,                         -- HTTP status of the last attempt (NULL: no answer)
  last_error       TEXT,
  delivered_at     BIGINT,
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
-- Claiming: the due rows in order, then "is an earlier row of the same
-- (target, key) still undelivered?".
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (target_id, ordering_key, state);
-- The API's delivery log of a workspace, newest first; replay by time range.
CREATE INDEX webhook_deliveries_by_workspace ON webhook_deliveries (workspace_id, created_at);

CREATE TABLE webhook_attempts (
  delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries (id),
  attempt          BIGINT NOT NULL,                -- 1, 2, ...
  started_at       BIGINT NOT NULL,
  duration_ms      BIGINT NOT NULL,
  response_status  BIGINT,                         -- NULL: no HTTP answer (refused, timeout)
  response_excerpt TEXT NOT NULL DEFAULT '',       -- the first 256 bytes of the answer
  error            TEXT,
  PRIMARY KEY (delivery_id, attempt)
);
