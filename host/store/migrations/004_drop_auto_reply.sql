-- The keyword auto-reply is gone: flows answer messages now (a keyword
-- trigger and a send_text node do what a rule did; see docs/flows.md), so
-- profiles lose the rules column 001_core gave them. Rules still stored
-- are dropped with it, not converted into flows.
--
-- ALTER TABLE ... DROP COLUMN needs SQLite 3.35 or later (Debian 12 ships
-- 3.40); older versions fail this migration with a syntax error and leave
-- the database as it was. SQLite refuses to drop a column that an index,
-- view, trigger or constraint names; none names this one.
ALTER TABLE profiles DROP COLUMN auto_reply_json;
