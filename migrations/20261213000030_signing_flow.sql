-- Addendums signed in the desk (issue 19), the flow: who signs for a client, the seal kept by
-- the desk in development, what each signature request ended with, and unknown links counted
-- per address so guessing is slowed.

-- The client's signing contact: prefilled when an addendum is sent for signature, and kept
-- from the last one sent when the client had none.
ALTER TABLE clients
    ADD COLUMN signer_name  text CHECK (length(signer_name) <= 200),
    ADD COLUMN signer_title text CHECK (length(signer_title) <= 200),
    ADD COLUMN signer_email text CHECK (length(signer_email) <= 254);

-- The seal the desk made for itself when no certificate is configured: one for every
-- instance, made by the first that needs it.
CREATE TABLE signing_seals (
    id          smallint PRIMARY KEY CHECK (id = 1),
    key_pkcs8   bytea NOT NULL,
    certificate bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- What a signed request left: the executed document attached to the change request, and the
-- head of its record's chain when it was sealed (the certificate page prints it).
ALTER TABLE signature_requests
    ADD COLUMN attachment_id bigint REFERENCES request_attachments (id),
    ADD COLUMN chain_head    bytea,
    ADD COLUMN opened_at     timestamptz,
    ADD CONSTRAINT signed_attached CHECK ((state = 'signed') = (attachment_id IS NOT NULL));

-- Links that led nowhere, by address, for the last quarter hour's count.
CREATE TABLE signing_link_misses (
    ip text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signing_link_misses_ip_at_idx ON signing_link_misses (ip, at);

-- The verify page looks a file up by its fingerprint.
CREATE INDEX signature_requests_executed_sha256_idx ON signature_requests (executed_sha256)
    WHERE executed_sha256 IS NOT NULL;
CREATE INDEX addendum_documents_sha256_idx ON addendum_documents (sha256);

-- A signing link's token and a signing code are secrets the desk keeps only as hashes; the
-- email carrying one holds it only until it is sent. This is the email as it may be shown or
-- kept: the link's token and the code withheld (the mail log shows it so; the worker keeps it
-- so once the message is sent).
CREATE FUNCTION signing_secrets_withheld(kind text, body text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN kind LIKE 'signing.%' THEN
        regexp_replace(
            CASE WHEN kind = 'signing.code'
                 THEN regexp_replace(body, '\m[0-9]{6}\M', '(code withheld)', 'g')
                 ELSE body END,
            '/sign/[0-9a-f]{64}', '/sign/(link withheld)', 'g')
    ELSE body END
$$;

-- The one reminder carries a link of its own (the first link's token is not kept, so it cannot
-- be sent again); both open the same request.
ALTER TABLE signature_requests
    ADD COLUMN reminder_token_hash bytea UNIQUE CHECK (length(reminder_token_hash) = 32);

-- An email may carry one file (the signer's copy of the executed addendum).
ALTER TABLE outbox_messages
    ADD COLUMN attachment_name text,
    ADD COLUMN attachment_type text,
    ADD COLUMN attachment      bytea,
    ADD CONSTRAINT attachment_whole CHECK (
        (attachment IS NULL) = (attachment_name IS NULL)
        AND (attachment IS NULL) = (attachment_type IS NULL));
