-- A self-registered account proves its address (a mailed link) before it can
-- sign in; 1 until then. Accounts made any other way are 0.
ALTER TABLE users ADD COLUMN verify_pending INTEGER NOT NULL DEFAULT 0 CHECK (verify_pending IN (0, 1));
