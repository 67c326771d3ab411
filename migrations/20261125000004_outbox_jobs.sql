-- Email that is never lost, and work that runs at a given time.

-- Messages written by a state change inside its own transaction and sent by a worker.
CREATE TABLE outbox_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL,
    to_addrs        text[] NOT NULL CHECK (cardinality(to_addrs) > 0),
    subject         text NOT NULL,
    body_text       text NOT NULL,
    body_html       text NOT NULL,
    -- Fixed when the message is queued, so a resend after a crash carries the same id.
    message_id      text NOT NULL UNIQUE,
    -- queued (waiting, maybe after failures), sending (claimed by a worker until claimed_until),
    -- sent, failed (gave up; an admin may retry).
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    claimed_by      text,
    claimed_until   timestamptz,
    related_type    text,
    related_id      text,
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz
);
-- The worker's question: what is due? Only unsent rows are indexed.
CREATE INDEX outbox_messages_due_idx ON outbox_messages (next_attempt_at)
    WHERE state = 'queued';
CREATE INDEX outbox_messages_claims_idx ON outbox_messages (claimed_until)
    WHERE state = 'sending';
CREATE INDEX outbox_messages_state_idx ON outbox_messages (state, id);
CREATE INDEX outbox_messages_related_idx ON outbox_messages (related_type, related_id);

-- Jobs that run at a time; `key` makes scheduling idempotent and rescheduling a move.
CREATE TABLE scheduled_jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL UNIQUE,
    kind        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    run_at      timestamptz NOT NULL,
    state       text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'done', 'failed', 'cancelled')),
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    done_at     timestamptz
);
CREATE INDEX scheduled_jobs_due_idx ON scheduled_jobs (run_at) WHERE state = 'pending';
CREATE INDEX scheduled_jobs_state_idx ON scheduled_jobs (state, run_at);
CREATE TRIGGER scheduled_jobs_updated_at BEFORE UPDATE ON scheduled_jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Who hears of every approval: the Ops Lead and all DM Leads and Managers.
CREATE TABLE distribution_list (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX distribution_list_email_key ON distribution_list (lower(email));
