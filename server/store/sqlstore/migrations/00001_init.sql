-- The first schema of the vendor license server. Portable SQL: the same file
-- runs on SQLite and PostgreSQL. Times are Unix microseconds (0: none);
-- device keys are standard base64.

-- +goose Up
CREATE TABLE codes (
    hash        TEXT PRIMARY KEY,
    code        TEXT NOT NULL,
    status      TEXT NOT NULL,
    product_id  TEXT NOT NULL DEFAULT '',
    order_id    TEXT NOT NULL DEFAULT '',
    amount      DOUBLE PRECISION NOT NULL DEFAULT 0,
    expire_at   BIGINT NOT NULL DEFAULT 0,
    activate_at BIGINT NOT NULL DEFAULT 0,
    queried_at  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE activations (
    id            TEXT PRIMARY KEY,
    code_hash     TEXT NOT NULL REFERENCES codes (hash),
    request_id    TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    device_key    TEXT NOT NULL,
    host          TEXT NOT NULL,
    app           TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_check_at BIGINT NOT NULL DEFAULT 0,
    ended_at      BIGINT NOT NULL DEFAULT 0,
    end_note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX activations_code_state ON activations (code_hash, state);

-- Nonces of signed device requests, kept for twice the allowed clock skew.
CREATE TABLE nonces (
    activation_id TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    seen_at       BIGINT NOT NULL,
    PRIMARY KEY (activation_id, nonce)
);
CREATE INDEX nonces_seen_at ON nonces (seen_at);

-- Which activations checked which code on which UTC day (YYYY-MM-DD): the
-- daily usage report counts them.
CREATE TABLE usage_days (
    code_hash     TEXT NOT NULL,
    day           TEXT NOT NULL,
    activation_id TEXT NOT NULL,
    PRIMARY KEY (code_hash, day, activation_id)
);

CREATE TABLE usage_reports (
    code_hash   TEXT NOT NULL,
    day         TEXT NOT NULL,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (code_hash, day)
);

-- Which server process is asking the marketplace about a code right now
-- (the others wait for its answer instead of asking too).
CREATE TABLE upstream_claims (
    hash       TEXT PRIMARY KEY,
    claimed_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE upstream_claims;
DROP TABLE usage_reports;
DROP TABLE usage_days;
DROP TABLE nonces;
DROP TABLE activations;
DROP TABLE codes;
