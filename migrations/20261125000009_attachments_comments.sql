-- Signed documents attached to a change request (the client's signed addendum). The bytes live
-- in the database: they are written in the same transaction as the audit record, every app
-- instance sees them, and a backup of the database is a backup of the documents.
CREATE TABLE request_attachments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    -- The name the uploader's file had, for display and the download's suggested name only.
    original_name     text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 200),
    -- Decided from the content, never from the name or the browser's claim.
    content_type      text NOT NULL
                      CHECK (content_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    size_bytes        integer NOT NULL CHECK (size_bytes > 0 AND size_bytes <= 10485760),
    sha256            bytea NOT NULL,
    content           bytea NOT NULL,
    uploaded_by       bigint NOT NULL REFERENCES users (id),
    uploaded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_attachments_request_idx ON request_attachments (change_request_id, id);

-- Comments on a request by the team lead or department manager it was escalated to, and the
-- account manager's replies.
CREATE TABLE request_comments (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    author            bigint NOT NULL REFERENCES users (id),
    body              text NOT NULL CHECK (btrim(body) <> ''),
    at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_comments_request_idx ON request_comments (change_request_id, id);
