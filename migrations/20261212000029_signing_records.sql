-- Addendums signed in the desk (issue 19): the wording, each prepared document, each request
-- for a signature, and the signature's record of events, hash-chained and append-only.

-- The addendum's wording, versioned: a change is a new version, and each document names the
-- version it was drafted from. Placeholders: {agency} {client} {current_budget} {new_budget}
-- {effective_date}.
CREATE TABLE addendum_wordings (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version    integer NOT NULL UNIQUE CHECK (version > 0),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_by bigint REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO addendum_wordings (version, body) VALUES (1,
'{client} and {agency} agree to change the monthly advertising budget under their advertising services agreement from {current_budget} to {new_budget}, effective {effective_date}.

Every other term of the agreement stays as it is. This addendum is part of the agreement from the effective date.

The person signing confirms that they are authorised to sign for {client}.');

-- Each prepared document, as sent: never changed (a new draft is a new row).
CREATE TABLE addendum_documents (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    wording_id        bigint NOT NULL REFERENCES addendum_wordings (id),
    -- What it says (budgets, date, names), to tell whether the request still says the same.
    terms             jsonb NOT NULL,
    pdf               bytea NOT NULL,
    -- The fingerprint is the document's, checked by the database.
    sha256            bytea NOT NULL CHECK (sha256 = sha256(pdf)),
    created_by        bigint NOT NULL REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, change_request_id)
);
CREATE INDEX addendum_documents_request_idx ON addendum_documents (change_request_id, id);

-- A request for the client's signature, reached by an emailed link whose token is stored only
-- as its SHA-256.
CREATE TABLE signature_requests (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id       bigint NOT NULL,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    signer_name       text NOT NULL,
    signer_title      text NOT NULL,
    signer_email      text NOT NULL,
    token_hash        bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    state             text NOT NULL DEFAULT 'sent'
        CHECK (state IN ('sent', 'opened', 'signed', 'declined', 'voided', 'expired')),
    expires_at        timestamptz NOT NULL,
    sent_by           bigint NOT NULL REFERENCES users (id),
    sent_at           timestamptz NOT NULL DEFAULT now(),
    code_hash         bytea,
    code_expires_at   timestamptz,
    code_tries        integer NOT NULL DEFAULT 0 CHECK (code_tries BETWEEN 0 AND 5),
    ended_at          timestamptz,
    end_reason        text,
    signed_name       text,
    signed_title      text,
    executed_pdf      bytea,
    executed_sha256   bytea,
    reminded_at       timestamptz,
    -- The document signed is one of this change request's.
    FOREIGN KEY (document_id, change_request_id)
        REFERENCES addendum_documents (id, change_request_id),
    CONSTRAINT ended_whole CHECK ((state IN ('sent', 'opened')) = (ended_at IS NULL)),
    CONSTRAINT signed_whole CHECK ((state = 'signed') = (executed_pdf IS NOT NULL)),
    CONSTRAINT executed_fingerprint CHECK (
        (executed_pdf IS NULL AND executed_sha256 IS NULL)
        OR executed_sha256 = sha256(executed_pdf))
);
-- One live request for a signature per change request.
CREATE UNIQUE INDEX signature_requests_one_live ON signature_requests (change_request_id)
    WHERE state IN ('sent', 'opened');
CREATE INDEX signature_requests_request_idx ON signature_requests (change_request_id, id);

-- The signature's record: each event's hash covers the one before, so a changed, removed or
-- reordered event breaks the chain from there on. Numbered and hashed by the database as the
-- event is added (whatever the app sends), and never changed or removed.
CREATE TABLE signature_events (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    signature_request_id bigint NOT NULL REFERENCES signature_requests (id),
    seq                  integer NOT NULL,
    at                   timestamptz NOT NULL DEFAULT now(),
    kind                 text NOT NULL CHECK (kind IN ('created', 'emailed', 'opened',
        'code_sent', 'code_verified', 'code_refused', 'consented', 'signed', 'declined',
        'voided', 'expired', 'reminded')),
    ip                   text,
    user_agent           text,
    details              jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash            bytea NOT NULL,
    hash                 bytea NOT NULL,
    UNIQUE (signature_request_id, seq)
);

-- The text an event's hash is taken over (after its predecessor's hash): every field, in a
-- fixed order, as a JSON array (so a missing value differs from an empty one and no field can
-- borrow from its neighbour). `signing::chain::event_text` writes the same text.
CREATE FUNCTION signature_event_text(request bigint, seq integer, at timestamptz, kind text,
                                     ip text, user_agent text, details jsonb)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT jsonb_build_array(request, seq,
                             to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                             kind, ip, user_agent, details)::text
$$;

CREATE FUNCTION signature_events_chain() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    last_seq  integer;
    last_hash bytea;
BEGIN
    -- One event at a time per signature request: its row is held to the end of the
    -- transaction, so two events cannot take the same place in the chain.
    PERFORM 1 FROM public.signature_requests
     WHERE id = NEW.signature_request_id FOR NO KEY UPDATE;
    SELECT e.seq, e.hash INTO last_seq, last_hash
      FROM public.signature_events e
     WHERE e.signature_request_id = NEW.signature_request_id
     ORDER BY e.seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    -- The moment it is added (not the transaction's start: an event after a slow email, or
    -- one that waited for the lock above, is timed as it happened).
    NEW.at := clock_timestamp();
    NEW.hash := sha256(NEW.prev_hash || convert_to(
        public.signature_event_text(NEW.signature_request_id, NEW.seq, NEW.at, NEW.kind,
                                    NEW.ip, NEW.user_agent, NEW.details), 'UTF8'));
    RETURN NEW;
END;
$$;
CREATE TRIGGER signature_events_chained BEFORE INSERT ON signature_events
    FOR EACH ROW EXECUTE FUNCTION signature_events_chain();

-- Events and documents can be added, never changed or removed, whoever is connected.
CREATE FUNCTION signing_records_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER signature_events_no_update_delete BEFORE UPDATE OR DELETE ON signature_events
    FOR EACH ROW EXECUTE FUNCTION signing_records_append_only();
CREATE TRIGGER signature_events_no_truncate BEFORE TRUNCATE ON signature_events
    FOR EACH STATEMENT EXECUTE FUNCTION signing_records_append_only();
CREATE TRIGGER addendum_documents_no_update_delete BEFORE UPDATE OR DELETE ON addendum_documents
    FOR EACH ROW EXECUTE FUNCTION signing_records_append_only();
CREATE TRIGGER addendum_documents_no_truncate BEFORE TRUNCATE ON addendum_documents
    FOR EACH STATEMENT EXECUTE FUNCTION signing_records_append_only();
CREATE TRIGGER addendum_wordings_no_update_delete BEFORE UPDATE OR DELETE ON addendum_wordings
    FOR EACH ROW EXECUTE FUNCTION signing_records_append_only();

-- A signature request that has ended (signed, declined, voided, expired) is evidence too:
-- never changed again, nor removed.
CREATE FUNCTION signature_requests_ended_stay() RETURNS trigger AS $$
BEGIN
    IF OLD.state NOT IN ('sent', 'opened') THEN
        RAISE EXCEPTION 'signature request % has ended and is not changed', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER signature_requests_ended_stay BEFORE UPDATE OR DELETE ON signature_requests
    FOR EACH ROW EXECUTE FUNCTION signature_requests_ended_stay();
