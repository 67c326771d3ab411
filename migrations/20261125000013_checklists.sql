-- Offboarding checklists (cancellations only): made from templates when a cancellation is
-- approved, each item with an owner role, a due date and a condition; a contractor item gets
-- an SEM verification item that can be ticked only after it.

CREATE TABLE checklist_templates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    position        integer NOT NULL,
    title           text NOT NULL CHECK (btrim(title) <> ''),
    owner_role      text NOT NULL CHECK (owner_role IN ('ops_lead', 'contractor', 'sem_specialist')),
    condition       text NOT NULL CHECK (condition IN ('always', 'leave_platform', 'google_ads',
                                                       'microsoft_ads', 'facebook', 'fluency')),
    -- Days after (positive) or before (negative) the effective date the item is due.
    due_offset_days integer NOT NULL DEFAULT 0 CHECK (due_offset_days BETWEEN -90 AND 90),
    retired_at      timestamptz
);
INSERT INTO checklist_templates (position, title, owner_role, condition) VALUES
    (10, 'Remove the client from the Client Tracker', 'ops_lead', 'always'),
    (20, 'Update the DigMS Offboarding Sheet', 'ops_lead', 'always'),
    (30, 'Remove from the SEM QA Trello board', 'contractor', 'always'),
    (40, 'Remove from NinjaCat', 'contractor', 'leave_platform'),
    (50, 'Remove from Google Ads', 'contractor', 'leave_platform'),
    (60, 'Remove from Google Analytics', 'contractor', 'leave_platform'),
    (70, 'Remove from Google Search Console', 'contractor', 'leave_platform'),
    (80, 'Remove from Google Tag Manager', 'contractor', 'leave_platform'),
    (90, 'Google Ads: pause campaigns, set budgets to $0.01, remove scripts, hide the account',
         'sem_specialist', 'google_ads'),
    (100, 'Disable all scripts in Google Ads', 'sem_specialist', 'google_ads'),
    (110, 'Microsoft Ads: pause and set budgets to $0.01', 'sem_specialist', 'microsoft_ads'),
    (120, 'Pause in Facebook', 'sem_specialist', 'facebook'),
    (130, 'Place a HOLD on the Fluency account', 'sem_specialist', 'fluency');

CREATE TABLE checklist_items (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    change_request_id bigint NOT NULL REFERENCES change_requests (id),
    template_id       bigint REFERENCES checklist_templates (id),
    position          integer NOT NULL,
    title             text NOT NULL,
    owner_role        text NOT NULL CHECK (owner_role IN ('ops_lead', 'contractor', 'sem_specialist')),
    -- The SEM specialist an SEM item is for (the client's when the checklist was made).
    assignee          bigint REFERENCES users (id),
    due_on            date NOT NULL,
    -- A verification: the contractor item it double-checks.
    verifies_id       bigint REFERENCES checklist_items (id),
    done_at           timestamptz,
    done_by           bigint REFERENCES users (id),
    note              text,
    cancelled_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT done_whole CHECK ((done_at IS NULL) = (done_by IS NULL))
);
CREATE INDEX checklist_items_request_idx ON checklist_items (change_request_id, position, id);
CREATE INDEX checklist_items_open_idx ON checklist_items (owner_role, due_on)
    WHERE done_at IS NULL AND cancelled_at IS NULL;

-- Finding an item's pending reminders by key prefix.
CREATE INDEX scheduled_jobs_pending_key_prefix ON scheduled_jobs (key text_pattern_ops)
    WHERE state = 'pending';
