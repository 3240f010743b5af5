-- The unit part values (mac, disk, board) of active activations'
-- fingerprints: binding a seat looks up the activations sharing a value with
-- the new fingerprint instead of comparing it with every activation of the
-- code. The rows of activations made before this migration are filled in by
-- sqlstore after the migrations (backfillParts), in Go: a fingerprint's
-- lists are not split in portable SQL.
-- And the OS machine id an activation binds (a fingerprint with a single
-- unit part), and the lookup of a retried activate request.

-- +goose Up
ALTER TABLE activations ADD COLUMN machine_id TEXT NOT NULL DEFAULT '';
CREATE INDEX activations_code_request ON activations (code_hash, request_id);

CREATE TABLE activation_parts (
    code_hash     TEXT NOT NULL,
    part          TEXT NOT NULL,
    value         TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    PRIMARY KEY (code_hash, part, value, activation_id)
);
CREATE INDEX activation_parts_activation ON activation_parts (activation_id);

-- +goose Down
DROP TABLE activation_parts;
DROP INDEX activations_code_request;
ALTER TABLE activations DROP COLUMN machine_id;
