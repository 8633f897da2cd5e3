-- Flows: the revisions executions run, the executions themselves (state,
-- waits and step log), the per-workspace key-value store and the schedule
-- triggers' bookkeeping. Read and written by host/flows/execution_repository.
-- Every tenant row carries organization_id and workspace_id; every query
-- filters on them. Times are Unix epoch milliseconds (BIGINT).

-- One row per distinct document of a flow (told apart by a hash of the
-- whole document, not by the builder's rev): an execution finishes on the
-- revision it started with, even after the file changed or a restart.
CREATE TABLE flow_revisions (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  flow_id         TEXT NOT NULL,
  hash            TEXT NOT NULL,
  rev             BIGINT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('graph', 'lua')),
  source          TEXT NOT NULL,               -- the document (JSON) or the Lua file, as loaded
  source_path     TEXT NOT NULL DEFAULT '',    -- where it was loaded from, for messages
  created_at      BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, flow_id, hash)
);

CREATE TABLE flow_executions (
  id              TEXT PRIMARY KEY,
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  flow_id         TEXT NOT NULL,
  flow_rev        BIGINT NOT NULL,
  flow_hash       TEXT NOT NULL,
  -- NULL for runs without a conversation (a schedule without a tag, a
  -- webhook without a phone).
  profile_id      TEXT REFERENCES profiles (id),
  conversation_id TEXT REFERENCES conversations (id),
  contact_id      TEXT REFERENCES contacts (id),
  status          TEXT NOT NULL
                  CHECK (status IN ('running', 'waiting', 'completed', 'failed', 'cancelled')),
  -- reply | delay | http while waiting. Deliberately without a CHECK: a new
  -- kind of wait should not need a table rebuild (SQLite cannot alter a
  -- CHECK in place).
  wait_kind       TEXT,
  deadline_at     BIGINT,                      -- when the wait times out / the delay ends
  state_json      TEXT NOT NULL DEFAULT '{}',  -- the runtime's: node, stack, vars, journal
  trigger_json    TEXT NOT NULL DEFAULT '{}',
  steps_json      TEXT NOT NULL DEFAULT '[]',  -- the step log
  error           TEXT,
  version         BIGINT NOT NULL DEFAULT 0,   -- optimistic concurrency: bumped by every update
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  finished_at     BIGINT,                      -- set once completed, failed or cancelled
  -- The revision must be stored before an execution of it starts, or the
  -- execution could not resume after a restart.
  FOREIGN KEY (workspace_id, flow_id, flow_hash) REFERENCES flow_revisions (workspace_id, flow_id, hash)
);
-- An inbound message first goes to the execution of its conversation that
-- waits for a reply; partial, so the index holds only the few waiting rows
-- (queries must repeat the WHERE terms literally for SQLite to use it).
CREATE INDEX flow_executions_waiting_reply
  ON flow_executions (conversation_id, created_at) WHERE status = 'waiting' AND wait_kind = 'reply';
-- Recovery at start-up pages through every waiting execution by (created_at, id).
CREATE INDEX flow_executions_waiting
  ON flow_executions (created_at, id) WHERE status = 'waiting';
-- The dashboard: a flow's executions, newest first ...
CREATE INDEX flow_executions_by_flow
  ON flow_executions (workspace_id, flow_id, created_at);
-- ... and every flow's of a workspace, which the index above cannot order.
CREATE INDEX flow_executions_by_workspace
  ON flow_executions (workspace_id, created_at);
-- Purging old finished executions; running and waiting ones stay out of it.
CREATE INDEX flow_executions_finished
  ON flow_executions (finished_at) WHERE finished_at IS NOT NULL;

-- ctx.kv: one key-value store per workspace, shared by all its flows.
CREATE TABLE flow_kv (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  key             TEXT NOT NULL,
  value_json      TEXT NOT NULL,
  updated_at      BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, key)
);

-- When each schedule trigger fires next, so that a restart neither skips
-- nor repeats a firing.
CREATE TABLE flow_schedules (
  organization_id TEXT NOT NULL REFERENCES organizations (id),
  workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
  flow_id         TEXT NOT NULL,
  cron            TEXT NOT NULL,               -- the expression next_at was computed from
  next_at         BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, flow_id)
);

-- Schedule triggers with a tag page through a workspace's contacts by id
-- (flow_effects::contacts_with_tag); without this index every page would
-- read and sort the whole workspace.
CREATE INDEX contacts_by_workspace_id ON contacts (workspace_id, id);
