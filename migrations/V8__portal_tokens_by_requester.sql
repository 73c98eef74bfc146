-- A deactivated account's live portal links are found without a scan.
CREATE INDEX portal_tokens_requester ON portal_tokens (requester_id) WHERE revoked_at IS NULL;
