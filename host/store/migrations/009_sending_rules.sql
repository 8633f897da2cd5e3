-- Sending rules (issue 5): every outbox row says whether it is a reply inside
-- an open conversation or cold outreach (a campaign, a first message), since
-- the two have separate budgets; campaign rows name their campaign so that a
-- cancel can withdraw what is still queued.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply';
ALTER TABLE outbox ADD COLUMN campaign_id TEXT;
-- The daily budgets count what was sent since the start of the day, per
-- profile and kind; sent rows keep their updated_at as the send time.
CREATE INDEX outbox_sent_by_kind ON outbox (profile_id, kind, state, updated_at);
CREATE INDEX outbox_by_campaign ON outbox (campaign_id, state) WHERE campaign_id IS NOT NULL;

-- A profile's sending rules (JSON, validated by the host: see docs/api.md
-- "Sending rules") and the state that must outlive a restart: when the
-- number started warming up, and the cold-sending circuit breaker.
CREATE TABLE profile_sending_rules (
  profile_id        TEXT PRIMARY KEY REFERENCES profiles (id),
  organization_id   TEXT NOT NULL REFERENCES organizations (id),
  workspace_id      TEXT NOT NULL REFERENCES workspaces (id),
  rules_json        TEXT NOT NULL DEFAULT '{}',
  warmup_started_at BIGINT,
  breaker_state     TEXT NOT NULL DEFAULT 'closed' CHECK (breaker_state IN ('closed', 'open')),
  breaker_until     BIGINT,
  breaker_reason    TEXT,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL
);
