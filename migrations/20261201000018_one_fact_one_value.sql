-- Right in every case: each copy of a fact can be derived again, and a step nobody can decide
-- is flagged rather than left silent.

-- A checklist item keeps how far from the effective date it is due, so moving the date moves
-- the item (its due date is a copy kept in step with the request's).
ALTER TABLE checklist_items ADD COLUMN due_offset_days integer NOT NULL DEFAULT 0;
UPDATE checklist_items i
   SET due_offset_days = i.due_on - r.effective_date
  FROM change_requests r
 WHERE r.id = i.change_request_id;

-- Requests whose date was moved on the planner before the date was one fact: the planner (with
-- the pause task and the reminders) held the move, the request the old date. The request takes
-- the planner's date, as does a reinstatement of it on its way; its open items and its status
-- history follow; each repair is on the request's timeline.
CREATE TEMPORARY TABLE moved_dates ON COMMIT DROP AS
SELECT r.id, r.effective_date AS effective_from, p.effective_date AS effective_to,
       r.resume_date AS resume_from,
       CASE WHEN r.kind = 'pause' THEN p.resume_date ELSE r.resume_date END AS resume_to,
       NULL::bigint AS with_request
  FROM change_requests r
  JOIN planner_entries p ON p.change_request_id = r.id AND p.removed_at IS NULL
 WHERE p.effective_date <> r.effective_date
    OR (r.kind = 'pause' AND p.resume_date IS DISTINCT FROM r.resume_date);
INSERT INTO moved_dates
SELECT x.id, x.effective_date, m.effective_to, x.resume_date, m.resume_to, m.id
  FROM moved_dates m
  JOIN change_requests x ON x.reverses_id = m.id
 WHERE x.state IN ('draft', 'with_retention', 'in_approval', 'changes_requested');
UPDATE change_requests r
   SET effective_date = m.effective_to, resume_date = m.resume_to, version = r.version + 1
  FROM moved_dates m
 WHERE r.id = m.id;
INSERT INTO audit_events (actor_label, action, entity_type, entity_id, details)
SELECT 'system', 'change_request.dates_moved', 'change_request', m.id::text,
       jsonb_strip_nulls(jsonb_build_object(
           'with_request', m.with_request,
           'repair', 'The planner held a date the request did not; the request takes the planner''s date.',
           'changes', jsonb_build_object(
               'effective_date', jsonb_build_object('from', m.effective_from, 'to', m.effective_to),
               'resume_date', jsonb_build_object('from', m.resume_from, 'to', m.resume_to))))
  FROM moved_dates m
 ORDER BY m.id;
UPDATE checklist_items i
   SET due_on = r.effective_date + i.due_offset_days
  FROM change_requests r
 WHERE r.id = i.change_request_id AND i.done_at IS NULL AND i.cancelled_at IS NULL
   AND i.due_on <> r.effective_date + i.due_offset_days;
UPDATE client_status_history h
   SET effective_date = r.effective_date
  FROM change_requests r
 WHERE r.id = h.change_request_id AND h.effective_date IS NOT NULL
   AND h.effective_date <> r.effective_date;

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

-- A request Retention converted keeps its scope and dates as filed, so correcting the call's
-- outcome to "not saved" brings back the request as it was filed. (Requests converted before
-- this column existed come back as "services only" on their current dates.)
ALTER TABLE change_requests
    ADD COLUMN original_cancel_scope text
        CHECK (original_cancel_scope IN ('services_only', 'leave_platform')),
    ADD COLUMN original_effective_date date,
    ADD COLUMN original_resume_date date;

-- Steps already waiting on nobody when this ran (their approver decided another step of the
-- round, or is disabled) go onto the admin's desk at once, each on its request's timeline.
UPDATE request_approvals s
   SET flagged_at = now(),
       flagged_reason = 'Nobody may decide this step: its approver already decided another step of this round. Hand it to someone who can.'
 WHERE s.state = 'pending'
   AND EXISTS (SELECT 1 FROM request_approvals o
                WHERE o.change_request_id = s.change_request_id AND o.round = s.round
                  AND o.id <> s.id AND o.decided_by = s.approver_user_id);
UPDATE request_approvals s
   SET flagged_at = now(),
       flagged_reason = 'Nobody may decide this step: its approver is disabled. Hand it to someone who can.'
 WHERE s.state = 'pending' AND s.flagged_at IS NULL
   AND s.approver_user_id IN (SELECT id FROM users WHERE disabled_at IS NOT NULL);
INSERT INTO audit_events (actor_label, action, entity_type, entity_id, details)
SELECT 'system', 'change_request.step_flagged', 'change_request', s.change_request_id::text,
       jsonb_build_object('step', s.name, 'why', s.flagged_reason)
  FROM request_approvals s
 WHERE s.state = 'pending' AND s.flagged_at IS NOT NULL
 ORDER BY s.id;
