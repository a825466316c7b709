-- +goose Up
-- Saved connectors keep their secret values sealed (AES-256-GCM, see
-- internal/secrets) apart from the rest of the config, with the id of the
-- key that sealed them, so that keys can be rotated row by row.
ALTER TABLE connectors ADD COLUMN secrets TEXT NOT NULL DEFAULT '';
ALTER TABLE connectors ADD COLUMN secrets_key_id TEXT NOT NULL DEFAULT '';
CREATE INDEX ix_connectors_secrets_key_id ON connectors (secrets_key_id);
-- A deleted connector keeps no configuration: before this migration its
-- config held its secrets in plain text.
UPDATE connectors SET config = '{}' WHERE deleted_at IS NOT NULL;

-- +goose Down
DROP INDEX ix_connectors_secrets_key_id;
ALTER TABLE connectors DROP COLUMN secrets_key_id;
ALTER TABLE connectors DROP COLUMN secrets;
