-- Reinstatement: the client changes their mind before the effective date. The account manager
-- files a reversal of the approved request; it goes through the approval chain like any
-- request and, once approved, undoes what the original set in motion.
ALTER TABLE change_requests
    ADD COLUMN reverses_id   bigint REFERENCES change_requests (id),
    ADD COLUMN reinstated_at timestamptz;
-- At most one reversal of a request is ever approved, and one in flight at a time (the one open
-- request per client already ensures the latter).
CREATE UNIQUE INDEX change_requests_one_approved_reversal ON change_requests (reverses_id)
    WHERE reverses_id IS NOT NULL AND state IN ('approved', 'completed');
-- What the change task's status update replaced, so a reinstatement can put it back.
ALTER TABLE change_tasks
    ADD COLUMN status_before       text,
    ADD COLUMN budget_before_cents bigint;
