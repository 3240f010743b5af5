-- +goose Up
-- Nonces of air-gapped request files (server.OfflineTx), kept for as long
-- as a request may travel (offline_request_days): each file is answered
-- once. Apart from the nonces of online requests, which are forgotten after
-- minutes.
CREATE TABLE offline_nonces (
    nonce   TEXT NOT NULL PRIMARY KEY,
    kind    TEXT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE INDEX offline_nonces_seen_at ON offline_nonces (seen_at);

-- +goose Down
DROP TABLE offline_nonces;
