-- The Retention Team's save attempt: one per request escalated to Retention, with the call and
-- its outcome.
CREATE TABLE save_attempts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL UNIQUE REFERENCES change_requests (id),
    call_date         date,
    offered           text NOT NULL DEFAULT '',
    outcome           text CHECK (outcome IN ('saved_no_change', 'saved_pause',
                                              'saved_budget_change', 'not_saved')),
    notes             text NOT NULL DEFAULT '',
    recorded_by       bigint REFERENCES users (id),
    recorded_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outcome_recorded_whole CHECK (
        (outcome IS NULL) = (recorded_at IS NULL) AND (outcome IS NULL) = (call_date IS NULL))
);
CREATE INDEX save_attempts_waiting_idx ON save_attempts (created_at) WHERE outcome IS NULL;

INSERT INTO save_attempts (change_request_id, created_at)
SELECT id, created_at FROM change_requests WHERE escalation = 'retention';
