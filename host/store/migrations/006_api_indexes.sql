-- Indexes for the HTTP API's lists (keyset pages, newest first; see
-- host/store/page.hpp and keyset.hpp). Each one lets a page seek straight to
-- its tenant's rows after the cursor, in order, instead of reading and
-- sorting other tenants' rows. A page's query is
--   WHERE <tenant> = ? AND at <= ? AND (at < ? OR id < ?) ORDER BY at DESC, id DESC
-- Filters other than the tenant (tag, status, ...) are checked on the rows
-- the index yields.

-- Contacts of a workspace by (created_at, id). Contacts are written once
-- per new person, so the id is in the index too and a page never sorts.
CREATE INDEX contacts_by_workspace_created ON contacts (workspace_id, created_at, id);

-- Conversations of a workspace by (updated_at, id). updated_at moves with
-- every message (conversations::touch), so this index is rewritten on the
-- inbound path: the id is left out to keep that write small; SQLite sorts
-- the rows of one updated_at by id, which is rarely more than one row.
CREATE INDEX conversations_by_workspace_updated ON conversations (workspace_id, updated_at);

-- Messages of a workspace by (created_at, id), for searches without a
-- conversation (by contact, profile, direction, status). Messages are the
-- most written table: without the id, as above.
CREATE INDEX messages_by_workspace ON messages (workspace_id, created_at);
-- A conversation's messages keep their own index, now with the workspace
-- that every query names next to the conversation. Without it SQLite's
-- planner (no statistics) sees one equality term in each of the two
-- indexes, may take messages_by_workspace for a conversation's page and
-- then reads the whole workspace's messages to fill it. Rebuilt here once,
-- over every stored message.
DROP INDEX messages_by_conversation;
CREATE INDEX messages_by_conversation ON messages (conversation_id, workspace_id, created_at);

-- Profiles of a workspace by (created_at, id): profiles_by_workspace (001)
-- leads with organization_id, which the API's workspace-scoped queries do
-- not name.
CREATE INDEX profiles_by_workspace_created ON profiles (workspace_id, created_at, id);

-- Every organization, for engine admins, and an organization's workspaces,
-- both by (created_at, id). Small tables written rarely; without these a
-- page would sort all of them (workspaces_by_organization (001) finds an
-- organization's rows but not in order).
CREATE INDEX organizations_by_created ON organizations (created_at, id);
CREATE INDEX workspaces_by_organization_created ON workspaces (organization_id, created_at, id);
