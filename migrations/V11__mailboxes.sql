-- Where each IMAP mailbox was read up to: a restart neither refiles nor
-- skips. A new UIDVALIDITY (the server renumbered the folder) starts over;
-- dedupe by Message-ID keeps what was filed from being filed again.
CREATE TABLE mailbox_state (
    name         TEXT PRIMARY KEY,
    uid_validity INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
