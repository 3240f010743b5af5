-- Leases of floating codes: a seat of a code's pool lent to a program on an
-- activated device, renewed by heartbeat (ends_at moves on) or borrowed for
-- days (borrowed_until). A lease holds its seat while state = 'active' and
-- ends_at is after now; the reaper marks the others 'expired'. secret_hash
-- is the hex SHA-256 of the lease secret that heartbeats present.

-- +goose Up
CREATE TABLE leases (
    id             TEXT PRIMARY KEY,
    code_hash      TEXT NOT NULL REFERENCES codes (hash),
    activation_id  TEXT NOT NULL REFERENCES activations (id),
    request_id     TEXT NOT NULL,
    host           TEXT NOT NULL,
    app            TEXT NOT NULL DEFAULT '',
    secret_hash    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    renewed_at     BIGINT NOT NULL,
    ends_at        BIGINT NOT NULL,
    borrowed_until BIGINT NOT NULL DEFAULT 0,
    state          TEXT NOT NULL,
    ended_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX leases_code_state_ends ON leases (code_hash, state, ends_at);
CREATE INDEX leases_state_ends ON leases (state, ends_at);
CREATE INDEX leases_activation_request ON leases (activation_id, request_id);

-- +goose Down
DROP TABLE leases;
