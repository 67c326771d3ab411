-- Right in every case: each copy of a fact can be derived again, and a step nobody can decide
-- is flagged rather than left silent.

-- A checklist item keeps how far from the effective date it is due, so moving the date moves
-- the item (its due date is a copy kept in step with the request's).
ALTER TABLE checklist_items ADD COLUMN due_offset_days integer NOT NULL DEFAULT 0;
UPDATE checklist_items i
   SET due_offset_days = i.due_on - r.effective_date
  FROM change_requests r
 WHERE r.id = i.change_request_id;

-- A signed addendum that no longer matches the request's terms (its budgets or date were
-- edited after it was attached) stays on the record but no longer counts as signed.
ALTER TABLE request_attachments ADD COLUMN superseded_at timestamptz;

-- A step whose only possible deciders are excluded (someone who already decided another step
-- of the round, the filer, the submitter, the client's account manager, or nobody active):
-- flagged for the admin the moment it is reached.
ALTER TABLE request_approvals
    ADD COLUMN flagged_at timestamptz,
    ADD COLUMN flagged_reason text;
CREATE INDEX request_approvals_flagged_idx ON request_approvals (flagged_at, id)
    WHERE state = 'pending' AND flagged_at IS NOT NULL;

-- A cancellation Retention converted keeps its scope, so correcting the call's outcome to "not
-- saved" brings back the cancellation as it was filed.
ALTER TABLE change_requests ADD COLUMN original_cancel_scope text
    CHECK (original_cancel_scope IN ('services_only', 'leave_platform'));
