-- The approval chain. The configured chain is copied onto a request when it is submitted, so
-- editing the configuration never changes a request already in flight.

CREATE TABLE approval_chain_steps (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position         integer NOT NULL,
    name             text NOT NULL CHECK (btrim(name) <> ''),
    -- One person approves the step, or any holder of a role (Finance); neither while an admin
    -- has not yet named one (submitting then says so).
    approver_user_id bigint REFERENCES users (id),
    approver_role    text,
    -- always, or only when the request carries a credit.
    condition        text NOT NULL CHECK (condition IN ('always', 'credit')),
    retired_at       timestamptz,
    CONSTRAINT one_kind_of_approver CHECK (approver_user_id IS NULL OR approver_role IS NULL)
);
INSERT INTO approval_chain_steps (position, name, approver_role, condition) VALUES
    (1, 'First approval', NULL, 'always'),
    (2, 'Second approval', NULL, 'always'),
    (3, 'Finance', 'finance', 'credit');

-- The chain as copied onto one submission (round) of a request.
CREATE TABLE request_approvals (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    round             integer NOT NULL,
    position          integer NOT NULL,
    name              text NOT NULL,
    approver_user_id  bigint REFERENCES users (id),
    approver_role     text,
    -- waiting (an earlier step has not approved), pending (its turn), approved, sent_back,
    -- not_required (no credit), cancelled (the round ended early: sent back or withdrawn).
    state             text NOT NULL CHECK (state IN ('waiting', 'pending', 'approved', 'sent_back',
                                                     'not_required', 'cancelled')),
    reached_at        timestamptz,
    decided_by        bigint REFERENCES users (id),
    -- Set when a substitute decided for the named approver.
    on_behalf_of      bigint REFERENCES users (id),
    decided_at        timestamptz,
    comment           text,
    nudged_at         timestamptz,
    UNIQUE (change_request_id, round, position),
    CONSTRAINT decided_whole CHECK ((decided_by IS NULL) = (decided_at IS NULL)),
    CONSTRAINT pending_reached CHECK (state <> 'pending' OR reached_at IS NOT NULL)
);
CREATE INDEX request_approvals_request_idx ON request_approvals (change_request_id, round, position);
CREATE INDEX request_approvals_pending_user_idx ON request_approvals (approver_user_id, reached_at)
    WHERE state = 'pending';
CREATE INDEX request_approvals_pending_role_idx ON request_approvals (approver_role, reached_at)
    WHERE state = 'pending';
-- At most one step of a request is anyone's turn.
CREATE UNIQUE INDEX request_approvals_one_pending ON request_approvals (change_request_id)
    WHERE state = 'pending';

-- An approver away: their steps go to the substitute from starts_on to ends_on inclusive.
CREATE TABLE approval_substitutes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    approver_id   bigint NOT NULL REFERENCES users (id),
    substitute_id bigint NOT NULL REFERENCES users (id),
    starts_on     date NOT NULL,
    ends_on       date NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz,
    CONSTRAINT not_oneself CHECK (approver_id <> substitute_id),
    CONSTRAINT range_in_order CHECK (ends_on >= starts_on)
);
CREATE INDEX approval_substitutes_approver_idx ON approval_substitutes (approver_id, starts_on)
    WHERE ended_at IS NULL;
CREATE INDEX approval_substitutes_substitute_idx ON approval_substitutes (substitute_id, starts_on)
    WHERE ended_at IS NULL;

ALTER TABLE change_requests
    ADD COLUMN submitted_by    bigint REFERENCES users (id),
    ADD COLUMN submitted_at    timestamptz,
    ADD COLUMN approval_round  integer NOT NULL DEFAULT 0,
    ADD COLUMN approved_at     timestamptz,
    ADD COLUMN processed_by    bigint REFERENCES users (id),
    ADD COLUMN processed_at    timestamptz,
    ADD COLUMN processed_note  text,
    ADD CONSTRAINT processed_whole CHECK ((processed_by IS NULL) = (processed_at IS NULL));
CREATE INDEX change_requests_to_process_idx ON change_requests (approved_at)
    WHERE state = 'approved' AND processed_at IS NULL;
CREATE INDEX change_requests_submitted_by_idx ON change_requests (submitted_by, state)
    WHERE submitted_by IS NOT NULL;

-- The change task: one per approved request, the page Operations works from.
CREATE TABLE change_tasks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL UNIQUE REFERENCES change_requests (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    done_at           timestamptz
);
CREATE INDEX change_tasks_open_idx ON change_tasks (created_at) WHERE done_at IS NULL;
