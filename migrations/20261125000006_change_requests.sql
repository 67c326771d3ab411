-- Change requests: a client's cancellation, contract pause or addendum (budget change), from
-- filing to completion. The timeline of each is its audit events (entity 'change_request').

-- The fixed, admin-editable list of reasons a client gives.
CREATE TABLE change_reasons (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label      text NOT NULL UNIQUE,
    position   integer NOT NULL DEFAULT 0,
    retired_at timestamptz
);
INSERT INTO change_reasons (label, position) VALUES
    ('Budget constraints', 1),
    ('Not satisfied with results', 2),
    ('Moving to another marketing provider', 3),
    ('Bringing marketing in-house', 4),
    ('Dealership sold or closing', 5),
    ('Seasonal slowdown', 6),
    ('Inventory shortage', 7),
    ('Other', 99);

CREATE TABLE change_requests (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id            bigint NOT NULL REFERENCES clients (id),
    kind                 text NOT NULL CHECK (kind IN ('cancellation', 'pause', 'addendum')),
    -- Cancellations only: services only, or leaving the platform entirely.
    cancel_scope         text CHECK (cancel_scope IN ('services_only', 'leave_platform')),
    effective_date       date NOT NULL,
    -- Pauses only, when known.
    resume_date          date,
    -- Addendums only.
    current_budget_cents bigint CHECK (current_budget_cents >= 0),
    new_budget_cents     bigint CHECK (new_budget_cents >= 0),
    reason_id            bigint NOT NULL REFERENCES change_reasons (id),
    reason_text          text NOT NULL DEFAULT '',
    product_notes        text NOT NULL DEFAULT '',
    credit_cents         bigint CHECK (credit_cents > 0),
    credit_reason        text,
    escalation           text NOT NULL
                         CHECK (escalation IN ('none', 'retention', 'team_lead', 'department_manager')),
    escalated_to         bigint REFERENCES users (id),
    state                text NOT NULL DEFAULT 'draft'
                         CHECK (state IN ('draft', 'with_retention', 'in_approval', 'changes_requested',
                                          'approved', 'completed', 'withdrawn')),
    filed_by             bigint NOT NULL REFERENCES users (id),
    -- What the request was filed as, when Retention converted it into something else.
    original_kind        text CHECK (original_kind IN ('cancellation', 'pause', 'addendum')),
    withdrawn_reason     text,
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    state_changed_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cancellation_has_scope CHECK ((kind = 'cancellation') = (cancel_scope IS NOT NULL)),
    CONSTRAINT resume_only_for_pause CHECK (resume_date IS NULL OR kind = 'pause'),
    CONSTRAINT resume_after_effective CHECK (resume_date IS NULL OR resume_date >= effective_date),
    CONSTRAINT addendum_has_budgets CHECK (
        kind <> 'addendum' OR (current_budget_cents IS NOT NULL AND new_budget_cents IS NOT NULL
                               AND current_budget_cents <> new_budget_cents)),
    CONSTRAINT credit_has_reason CHECK ((credit_cents IS NULL) = (credit_reason IS NULL)),
    CONSTRAINT addendum_not_to_retention CHECK (
        NOT (kind = 'addendum' AND original_kind IS NULL AND escalation = 'retention')),
    CONSTRAINT escalated_person CHECK (
        (escalation IN ('team_lead', 'department_manager')) = (escalated_to IS NOT NULL))
);
-- One open request per client, enforced here even when two people file at the same moment.
CREATE UNIQUE INDEX change_requests_one_open_per_client ON change_requests (client_id)
    WHERE state IN ('draft', 'with_retention', 'in_approval', 'changes_requested');
CREATE INDEX change_requests_client_idx ON change_requests (client_id, id DESC);
CREATE INDEX change_requests_filed_by_idx ON change_requests (filed_by, state, state_changed_at);
CREATE INDEX change_requests_state_idx ON change_requests (state, state_changed_at);
CREATE INDEX change_requests_escalated_to_idx ON change_requests (escalated_to, state)
    WHERE escalated_to IS NOT NULL;
CREATE TRIGGER change_requests_updated_at BEFORE UPDATE ON change_requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

ALTER TABLE client_status_history
    ADD CONSTRAINT client_status_history_change_request_fk
    FOREIGN KEY (change_request_id) REFERENCES change_requests (id);
