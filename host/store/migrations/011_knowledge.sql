-- Knowledge bases (issue 6): documents split into chunks, each chunk
-- embedded by the knowledge base's AI provider and indexed twice — its
-- vector in a faiss index kept in <data dir>/knowledge/ (rebuilt from these
-- rows when missing or stale) and its words in the FTS5 table below.
-- Read and written by host/knowledge/. Times are Unix epoch milliseconds.

CREATE TABLE knowledge_bases (
  id                    TEXT PRIMARY KEY,
  organization_id       TEXT NOT NULL REFERENCES organizations (id),
  workspace_id          TEXT NOT NULL REFERENCES workspaces (id),
  name                  TEXT NOT NULL,              -- unique in its workspace; flows and the CLI name it
  description           TEXT NOT NULL DEFAULT '',
  provider              TEXT NOT NULL,              -- an AI plugin id, e.g. ai-local
  provider_config_json  TEXT NOT NULL DEFAULT '{}', -- validated by the plugin's schema; secrets sealed
  settings_json         TEXT NOT NULL DEFAULT '{}', -- chunking, retrieval and answer settings
  -- The embedding model the stored vectors came from, as the provider named
  -- it, and their dimension; NULL until the first document is embedded. A
  -- provider that now names another model makes every document re-embedded.
  embedding_model       TEXT,
  dimension             BIGINT,
  -- Bumped by every change of the chunks; the saved faiss index records the
  -- generation it holds, and one that differs is rebuilt from the rows.
  generation            BIGINT NOT NULL DEFAULT 0,
  created_at            BIGINT NOT NULL,
  updated_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX knowledge_bases_by_name ON knowledge_bases (workspace_id, name);

CREATE TABLE knowledge_documents (
  id                 TEXT PRIMARY KEY,
  organization_id    TEXT NOT NULL REFERENCES organizations (id),
  workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
  knowledge_base_id  TEXT NOT NULL REFERENCES knowledge_bases (id),
  name               TEXT NOT NULL,   -- the file name or the URL: a new upload of the same name replaces it
  source             TEXT NOT NULL CHECK (source IN ('upload', 'url')),
  url                TEXT,            -- source url: fetched again by a re-ingestion
  format             TEXT,            -- text | markdown | html | pdf (a URL's is known once fetched)
  content_type       TEXT,
  content_sha256     TEXT,            -- of the bytes in knowledge_sources
  size_bytes         BIGINT NOT NULL DEFAULT 0,
  title              TEXT NOT NULL DEFAULT '',
  tags_json          TEXT NOT NULL DEFAULT '[]',
  status             TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
  error              TEXT,            -- failed: why (the chunks of the last good version stay indexed)
  chunks_total       BIGINT NOT NULL DEFAULT 0,  -- of the version being ingested
  chunks_done        BIGINT NOT NULL DEFAULT 0,  -- embedded so far
  -- What is in the indexes now: the hash of the bytes they came from, how
  -- many chunks, and their id range (a document's chunks are inserted in
  -- one statement batch, so their ids are contiguous).
  indexed_sha256     TEXT,
  chunk_count        BIGINT NOT NULL DEFAULT 0,
  embedding_model    TEXT,            -- the model its chunks' vectors came from
  first_chunk_id     BIGINT,
  last_chunk_id      BIGINT,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL,
  ingested_at        BIGINT
);
CREATE UNIQUE INDEX knowledge_documents_by_name ON knowledge_documents (knowledge_base_id, name);
CREATE INDEX knowledge_documents_by_kb ON knowledge_documents (knowledge_base_id, created_at, id);
-- Unfinished ingestions, taken up again at start-up.
CREATE INDEX knowledge_documents_unfinished ON knowledge_documents (status)
  WHERE status IN ('queued', 'processing');

-- The bytes of each document as uploaded or fetched, for its ingestion (and
-- a re-ingestion). Here rather than in the blob store: written in the same
-- transaction as the document row, so a crash leaves both or neither, and
-- without a file and its fsync per document.
CREATE TABLE knowledge_sources (
  document_id  TEXT PRIMARY KEY REFERENCES knowledge_documents (id),
  bytes        BLOB NOT NULL
);

-- AUTOINCREMENT: an id is never reused, since it is also the vector's id in
-- the faiss index, which may still hold a deleted chunk until it is updated.
CREATE TABLE knowledge_chunks (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_id       TEXT NOT NULL,
  knowledge_base_id  TEXT NOT NULL REFERENCES knowledge_bases (id),
  document_id        TEXT NOT NULL REFERENCES knowledge_documents (id),
  position           BIGINT NOT NULL,       -- 0, 1, ... in the document
  heading            TEXT NOT NULL DEFAULT '',
  page               BIGINT NOT NULL DEFAULT 0,
  text               TEXT NOT NULL,
  embedding          BLOB NOT NULL          -- float32 little-endian, L2-normalized
);
CREATE INDEX knowledge_chunks_by_document ON knowledge_chunks (document_id, position);
CREATE INDEX knowledge_chunks_by_kb ON knowledge_chunks (knowledge_base_id, id);

-- The keyword index is one FTS5 table per knowledge base,
-- knowledge_fts_<id without "_" and lower-cased>: host/knowledge/
-- knowledge_store.cpp creates it with the base and drops it with it. Per base, so that a query reads only its base's postings
-- and bm25 weighs words by how common they are in that base alone (one
-- shared table needed a base filter that cost ~8 ms a query at 100,000
-- chunks, and its word statistics mixed workspaces). Contentless: the
-- text lives in knowledge_chunks, and deletes hand the old values back.

-- A profile may answer from a knowledge base without a flow (its API field
-- "auto_reply"): {"enabled", "knowledge_base", "min_score", "fallback_text",
-- "no_answer_text", "handoff"}. Not the keyword rules' auto_reply_json that
-- 004 dropped: a new column, so nothing of those rules comes back.
ALTER TABLE profiles ADD COLUMN ai_auto_reply_json TEXT NOT NULL DEFAULT '{}';
