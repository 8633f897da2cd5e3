-- Campaigns (issue 5): one message sent to an audience through one
-- profile, at a set rate. Read and written by host/messaging/campaigns.cpp.
-- Times are Unix epoch milliseconds (BIGINT).

CREATE TABLE campaigns (
  id               TEXT PRIMARY KEY,
  organization_id  TEXT NOT NULL REFERENCES organizations (id),
  workspace_id     TEXT NOT NULL REFERENCES workspaces (id),
  profile_id       TEXT NOT NULL REFERENCES profiles (id),
  name             TEXT NOT NULL,
  state            TEXT NOT NULL DEFAULT 'draft'
                   CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
  -- {"type", "text", "payload"}: text and payload strings may hold
  -- {{name}}, {{phone}}, {{metadata.key}} and {{metadata.key|default}}.
  message_json     TEXT NOT NULL,
  -- What the audience was made from: [{"source": "contacts"|"tag"|"csv", ...}].
  audience_json    TEXT NOT NULL DEFAULT '[]',
  rate_per_minute  BIGINT NOT NULL,
  jitter           DOUBLE PRECISION NOT NULL DEFAULT 0,  -- 0..0.9 of the spacing, either way
  scheduled_at     BIGINT,
  started_at       BIGINT,
  completed_at     BIGINT,
  -- The pacing: recipient number pace_count (since pace_origin_at) is due
  -- at pace_origin_at + pace_count * 60000 / rate_per_minute. Written in
  -- the same write job as each enqueue, so a restart continues the count.
  pace_origin_at   BIGINT,
  pace_count       BIGINT NOT NULL DEFAULT 0,
  next_seq         BIGINT NOT NULL DEFAULT 0,  -- the seq the next added recipient gets
  created_at       BIGINT NOT NULL,
  updated_at       BIGINT NOT NULL
);
CREATE INDEX campaigns_by_workspace ON campaigns (workspace_id, created_at, id);
CREATE INDEX campaigns_by_state ON campaigns (state);

-- One row per audience member; skipped rows keep their reason. Counters are
-- computed from these rows (campaign_recipients_by_state), so they cannot
-- drift from what happened.
CREATE TABLE campaign_recipients (
  campaign_id      TEXT NOT NULL REFERENCES campaigns (id),
  seq              BIGINT NOT NULL,             -- audience order: the feeder sends by it
  contact_id       TEXT REFERENCES contacts (id),  -- NULL for a skipped row without a contact (invalid phone)
  phone            TEXT NOT NULL DEFAULT '',    -- as given or stored, for the report
  variables_json   TEXT NOT NULL DEFAULT '{}',  -- the values the message uses, as of creation
  state            TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'queued', 'sent', 'delivered', 'read', 'failed', 'skipped')),
  reason           TEXT,                        -- skipped or failed: why
  message_id       TEXT,
  conversation_id  TEXT,
  replied_at       BIGINT,
  updated_at       BIGINT NOT NULL,
  PRIMARY KEY (campaign_id, seq)
);
-- The feeder's next pending rows in order, and the counters by state.
CREATE INDEX campaign_recipients_by_state ON campaign_recipients (campaign_id, state, seq);
-- message.status events name the message.
CREATE INDEX campaign_recipients_by_message ON campaign_recipients (message_id) WHERE message_id IS NOT NULL;
-- Replies name the conversation.
CREATE INDEX campaign_recipients_by_conversation
  ON campaign_recipients (conversation_id) WHERE conversation_id IS NOT NULL;
-- Is this contact already in the campaign? (a duplicate is skipped)
CREATE INDEX campaign_recipients_by_contact
  ON campaign_recipients (campaign_id, contact_id) WHERE contact_id IS NOT NULL;
-- The replied counter.
CREATE INDEX campaign_recipients_replied ON campaign_recipients (campaign_id) WHERE replied_at IS NOT NULL;
