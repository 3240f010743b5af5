-- The marketplace's callbacks (issue 13): their nonces, the refresh and
-- release events applied (once each, however often the marketplace repeats
-- them), and the device licenses of getLicenseAsync with their upload queue.

-- +goose Up
-- Nonces of verified callbacks, kept at least twice the 60 s window: a
-- nonce seen by any server process is refused by every other.
CREATE TABLE callback_nonces (
    nonce   TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
CREATE INDEX callback_nonces_seen_at ON callback_nonces (seen_at);

-- Refresh and release events applied, by a hash of their fields.
CREATE TABLE callback_events (
    event_key  TEXT PRIMARY KEY,
    activity   TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);

-- One row per instance with async licenses: its lock serialises the quota
-- check of concurrent requests (on PostgreSQL the upsert locks the row).
CREATE TABLE async_instances (
    instance_id TEXT PRIMARY KEY,
    updated_at  BIGINT NOT NULL
);

-- Device licenses issued on getLicenseAsync, one per event and fingerprint,
-- and their delivery (a queue any server process works: lease_owner holds
-- a row until lease_until).
CREATE TABLE async_licenses (
    event_id     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    product_id   TEXT NOT NULL DEFAULT '',
    test_flag    TEXT NOT NULL DEFAULT '',
    token        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  BIGINT NOT NULL DEFAULT 0,
    last_code    TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    delivered_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, fingerprint)
);
CREATE INDEX async_licenses_due ON async_licenses (state, next_at);
CREATE INDEX async_licenses_instance ON async_licenses (instance_id, fingerprint);

-- +goose Down
DROP TABLE async_licenses;
DROP TABLE async_instances;
DROP TABLE callback_events;
DROP TABLE callback_nonces;
