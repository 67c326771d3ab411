-- The demo's past year: forty more dealerships and what became of the requests filed for them,
-- dated back from today, so that Reports has something to show on a fresh start (saves of each
-- kind, losses, pauses that resumed and one that did not, saved clients who left again, budget
-- cuts, steps that waited past the nudge, checklist items done late). Every request here is
-- closed (completed or withdrawn) and every date is in the past, so no desk gains work from
-- them. Run once, in the demo seed's transaction (src/demo/history.rs).

CREATE TEMP TABLE demo_people ON COMMIT DROP AS
SELECT (SELECT id FROM users WHERE lower(email) = 'am@demo.test') AS am1,
       (SELECT id FROM users WHERE lower(email) = 'am2@demo.test') AS am2,
       (SELECT id FROM users WHERE lower(email) = 'retention@demo.test') AS retention1,
       (SELECT id FROM users WHERE lower(email) = 'retention2@demo.test') AS retention2,
       (SELECT id FROM users WHERE lower(email) = 'approver1@demo.test') AS approver1,
       (SELECT id FROM users WHERE lower(email) = 'approver2@demo.test') AS approver2,
       (SELECT id FROM users WHERE lower(email) = 'accounting@demo.test') AS accounting,
       (SELECT id FROM users WHERE lower(email) = 'ops@demo.test') AS ops,
       (SELECT id FROM users WHERE lower(email) = 'contractor@demo.test') AS contractor,
       (SELECT id FROM users WHERE lower(email) = 'sem@demo.test') AS sem1,
       (SELECT id FROM users WHERE lower(email) = 'sem2@demo.test') AS sem2;

-- One row per past client. Its scenario (n - 1) % 10 says what happened:
--   0 a cancellation Retention saved with no change (withdrawn)
--   1 a cancellation saved at a lower budget (an addendum)
--   2 a cancellation saved with a two-month pause, which resumed
--   3 a cancellation Retention could not save
--   4 a pause that resumed
--   5 a pause that did not resume: the client cancelled a week after its resume date
--   6 a budget cut (addenda do not go to Retention)
--   7 a dealership sold: cancelled, not a reason Retention can act on
--   8 a cancellation saved with no change, then cancelled again six weeks later
--   9 a cancellation the account manager did not send to Retention
CREATE TEMP TABLE demo_past ON COMMIT DROP AS
SELECT n,
       (n - 1) % 10 AS scenario,
       format('%s %s',
              (ARRAY['Big Sky', 'Sawtooth', 'Bayou', 'Mesa Verde', 'Piedmont', 'Ozark',
                     'Cumberland', 'Willamette', 'Shenandoah', 'Tidewater'])[1 + (n - 1) % 10],
              (ARRAY['Powersports', 'RV Center', 'Boat Sales', 'Equipment'])[1 + (n - 1) / 10])
           AS name,
       format('CRM-2%s', lpad(n::text, 4, '0')) AS crm,
       -- Who filed, who called and why vary apart from what happened.
       CASE WHEN (n + n / 10) % 2 = 0 THEN p.am1 ELSE p.am2 END AS am,
       CASE WHEN n % 3 = 0 THEN p.sem2 ELSE p.sem1 END AS sem,
       CASE WHEN (n * 7) % 3 = 0 THEN p.retention2 ELSE p.retention1 END AS retention,
       (60000 + (n * 37 % 20) * 20000)::bigint AS budget,
       -- Filed 15 to 355 days ago, spread over the year; the pauses (and the save followed by a
       -- second cancellation) at least 110 days ago, so what followed them is past too.
       (current_date - CASE WHEN (n - 1) % 10 IN (2, 4, 5, 8)
                            THEN 110 + ((n * 7) % 8) * 30 + n % 13
                            ELSE 15 + ((n * 7) % 12) * 30 + n % 13 END)::timestamp
           + interval '14 hours' AS filed_at,
       (ARRAY[1, 2, 3, 4, 6, 7, 1, 2, 3, 4])[1 + (n * 3 + n / 10) % 10] AS reason_position
  FROM generate_series(1, 40) AS n, demo_people p;

INSERT INTO clients (name, crm_account_id, account_manager_id, sem_specialist_id,
                     monthly_budget_cents, ad_products, created_at)
SELECT name, crm, am, sem, budget,
       CASE n % 3 WHEN 0 THEN ARRAY['google_ads'] WHEN 1 THEN ARRAY['google_ads', 'facebook']
                  ELSE ARRAY['google_ads', 'microsoft_ads', 'fluency'] END,
       now() - interval '2 years'
  FROM demo_past;

INSERT INTO client_status_history (client_id, status, monthly_budget_cents, note, at)
SELECT c.id, 'active', d.budget, 'Demo client added', now() - interval '2 years'
  FROM demo_past d JOIN clients c ON c.crm_account_id = d.crm;

-- The requests: each client's first, and for scenarios 5 and 8 the cancellation that followed.
CREATE TEMP TABLE demo_requests ON COMMIT DROP AS
SELECT d.n, 1 AS seq, c.id AS client_id, d.scenario, d.am, d.sem, d.retention, d.budget,
       d.filed_at,
       CASE WHEN d.scenario IN (4, 5) THEN 'pause'
            WHEN d.scenario = 6 THEN 'addendum' ELSE 'cancellation' END AS filed_kind,
       CASE WHEN d.scenario IN (6, 9) THEN 'none' ELSE 'retention' END AS escalation,
       CASE d.scenario WHEN 0 THEN 'saved_no_change' WHEN 1 THEN 'saved_budget_change'
                       WHEN 2 THEN 'saved_pause' WHEN 8 THEN 'saved_no_change'
                       WHEN 6 THEN NULL WHEN 9 THEN NULL ELSE 'not_saved' END AS outcome,
       CASE WHEN d.scenario = 7 THEN 'Dealership sold or closing' END AS reason_label,
       d.reason_position
  FROM demo_past d JOIN clients c ON c.crm_account_id = d.crm;

INSERT INTO demo_requests
SELECT r.n, 2, r.client_id, r.scenario, r.am, r.sem, r.retention, r.budget,
       CASE WHEN r.scenario = 5 THEN (r.filed_at::date + 14 + 61 + 7)::timestamp + interval '10 hours'
            ELSE r.filed_at + interval '42 days' END,
       'cancellation',
       CASE WHEN r.scenario = 5 THEN 'none' ELSE 'retention' END,
       CASE WHEN r.scenario = 5 THEN NULL ELSE 'not_saved' END,
       CASE WHEN r.scenario = 5 THEN 'Dealership sold or closing' END,
       2
  FROM demo_requests r
 WHERE r.scenario IN (5, 8);

ALTER TABLE demo_requests
    ADD COLUMN effective date, ADD COLUMN resume date, ADD COLUMN kind text,
    ADD COLUMN new_budget bigint, ADD COLUMN state text, ADD COLUMN id bigint;
UPDATE demo_requests SET
    effective = filed_at::date + 14,
    resume = CASE WHEN filed_kind = 'pause' OR outcome = 'saved_pause'
                  THEN filed_at::date + 14 + 61 END,
    kind = CASE outcome WHEN 'saved_budget_change' THEN 'addendum'
                        WHEN 'saved_pause' THEN 'pause' ELSE filed_kind END,
    new_budget = CASE WHEN outcome = 'saved_budget_change' THEN budget * 6 / 10
                      WHEN filed_kind = 'addendum' THEN budget * 7 / 10 END,
    state = CASE WHEN outcome = 'saved_no_change' THEN 'withdrawn' ELSE 'completed' END;

-- Who acts for the request once filed (Retention, once it has the request), whether the client
-- leaves the platform (the dealership sold, and the one that closed after its pause), and the
-- status its change task sets.
ALTER TABLE demo_requests
    ADD COLUMN submitter bigint, ADD COLUMN leaves boolean, ADD COLUMN new_status text;
UPDATE demo_requests SET
    submitter = CASE WHEN escalation = 'retention' THEN retention ELSE am END,
    leaves = scenario = 7 OR (scenario = 5 AND seq = 2);
UPDATE demo_requests SET
    new_status = CASE kind WHEN 'pause' THEN 'paused' WHEN 'addendum' THEN 'active'
                 ELSE CASE WHEN leaves THEN 'left_platform' ELSE 'cancelled_dms' END END;

-- What each request went through, in hours after filing (varied by n, some steps waiting past
-- the two-business-day nudge).
ALTER TABLE demo_requests
    ADD COLUMN called_at timestamptz, ADD COLUMN submitted_at timestamptz,
    ADD COLUMN first_at timestamptz, ADD COLUMN second_at timestamptz,
    ADD COLUMN approved_at timestamptz, ADD COLUMN processed_at timestamptz,
    ADD COLUMN task_done_at timestamptz, ADD COLUMN completed_at timestamptz;
UPDATE demo_requests SET
    called_at = CASE WHEN escalation = 'retention'
                     THEN filed_at + make_interval(hours => 3 + (n * 13) % 40) END;
UPDATE demo_requests SET
    submitted_at = CASE WHEN state <> 'withdrawn'
                        THEN COALESCE(called_at, filed_at) + make_interval(hours => 2 + n % 5) END;
UPDATE demo_requests SET first_at = submitted_at + make_interval(hours => 1 + (n * 5) % 30 + (n % 7) * 9);
UPDATE demo_requests SET second_at = first_at + make_interval(hours => 2 + (n * 11) % 20 + (n % 4) * 22);
UPDATE demo_requests SET approved_at = second_at;
UPDATE demo_requests SET processed_at = approved_at + make_interval(hours => 4 + n % 20);
UPDATE demo_requests SET task_done_at = approved_at + make_interval(hours => 6 + (n * 3) % 30);
UPDATE demo_requests SET completed_at = LEAST(
    GREATEST(task_done_at, effective::timestamp + interval '3 days 18 hours'),
    now() - interval '1 hour')
 WHERE state = 'completed';

INSERT INTO change_requests (
    client_id, kind, cancel_scope, effective_date, resume_date, current_budget_cents,
    new_budget_cents, reason_id, reason_text, product_notes, escalation, state, filed_by,
    original_kind, original_cancel_scope, original_effective_date, original_resume_date,
    withdrawn_reason, created_at, state_changed_at, submitted_by, submitted_at, approval_round,
    approved_at, processed_by, processed_at, processed_note, completed_at, filed_budget_cents)
SELECT r.client_id, r.kind,
       CASE WHEN r.kind = 'cancellation' THEN
            CASE WHEN r.leaves THEN 'leave_platform' ELSE 'services_only' END END,
       r.effective, r.resume,
       CASE WHEN r.kind = 'addendum' THEN r.budget END,
       CASE WHEN r.kind = 'addendum' THEN r.new_budget END,
       (SELECT id FROM change_reasons
         WHERE (r.reason_label IS NOT NULL AND label = r.reason_label)
            OR (r.reason_label IS NULL AND position = r.reason_position)
         ORDER BY id LIMIT 1),
       'The client told us on a call.', '',
       r.escalation, r.state, r.am,
       CASE WHEN r.kind <> r.filed_kind THEN r.filed_kind END,
       CASE WHEN r.kind <> r.filed_kind AND r.filed_kind = 'cancellation' THEN 'services_only' END,
       CASE WHEN r.kind <> r.filed_kind THEN r.effective END,
       NULL,
       CASE WHEN r.state = 'withdrawn' THEN 'Client saved by Retention, no change' END,
       r.filed_at, COALESCE(r.completed_at, r.called_at, r.filed_at),
       CASE WHEN r.submitted_at IS NOT NULL THEN r.submitter END,
       r.submitted_at,
       CASE WHEN r.submitted_at IS NOT NULL THEN 1 ELSE 0 END,
       r.approved_at,
       CASE WHEN r.processed_at IS NOT NULL AND r.state = 'completed' THEN p.accounting END,
       CASE WHEN r.state = 'completed' THEN r.processed_at END,
       CASE WHEN r.state = 'completed' THEN 'Billing updated.' END,
       r.completed_at, r.budget
  FROM demo_requests r, demo_people p
 ORDER BY r.filed_at;

UPDATE demo_requests r SET id = cr.id
  FROM change_requests cr WHERE cr.client_id = r.client_id AND cr.created_at = r.filed_at;

INSERT INTO save_attempts (change_request_id, call_date, offered, outcome, notes, recorded_by,
                           recorded_at, created_at)
SELECT r.id, r.called_at::date,
       CASE r.outcome WHEN 'saved_budget_change' THEN 'A lower budget on the best campaigns'
                      WHEN 'saved_pause' THEN 'A two-month pause instead'
                      ELSE 'A month at half the fee' END,
       r.outcome,
       CASE r.outcome WHEN 'not_saved' THEN 'They had made up their mind.'
                      ELSE 'The general manager agreed to stay.' END,
       r.retention, r.called_at, r.filed_at
  FROM demo_requests r WHERE r.escalation = 'retention';

INSERT INTO request_approvals (change_request_id, round, position, name, approver_user_id,
                               approver_role, state, reached_at, decided_by, decided_at,
                               nudged_at)
SELECT r.id, 1, s.position, s.name,
       CASE s.position WHEN 1 THEN p.approver1 WHEN 2 THEN p.approver2 END,
       CASE WHEN s.position = 3 THEN 'finance' END,
       CASE WHEN s.position = 3 THEN 'not_required' ELSE 'approved' END,
       CASE s.position WHEN 1 THEN r.submitted_at WHEN 2 THEN r.first_at END,
       CASE s.position WHEN 1 THEN p.approver1 WHEN 2 THEN p.approver2 END,
       CASE s.position WHEN 1 THEN r.first_at WHEN 2 THEN r.second_at END,
       CASE WHEN s.position = 1 AND r.first_at - r.submitted_at > interval '48 hours'
            THEN r.submitted_at + interval '48 hours'
            WHEN s.position = 2 AND r.second_at - r.first_at > interval '48 hours'
            THEN r.first_at + interval '48 hours' END
  FROM demo_requests r, demo_people p,
       (VALUES (1, 'First approval'), (2, 'Second approval'), (3, 'Finance')) AS s(position, name)
 WHERE r.state = 'completed';

INSERT INTO change_tasks (change_request_id, created_at, done_at, done_by, forwarded_to,
                          forwarded_by, forwarded_at, status_updated_by, status_updated_at,
                          status_before, budget_before_cents)
SELECT r.id, r.approved_at, r.task_done_at, p.ops, r.sem, p.ops,
       r.approved_at + interval '1 hour', p.ops, r.task_done_at,
       -- The status the task found: scenario 5's client was still paused when it cancelled.
       CASE WHEN r.scenario = 5 AND r.seq = 2 THEN 'paused' ELSE 'active' END, r.budget
  FROM demo_requests r, demo_people p WHERE r.state = 'completed';

INSERT INTO planner_entries (change_request_id, client_id, kind, effective_date, resume_date,
                             sem_specialist_id, account_manager_id, added_by, added_at)
SELECT r.id, r.client_id, r.kind, r.effective, r.resume, r.sem, r.am, p.ops,
       r.approved_at + interval '2 hours'
  FROM demo_requests r, demo_people p
 WHERE r.state = 'completed' AND r.kind IN ('cancellation', 'pause');

-- The ads were paused on the effective date, a few a day or two late.
INSERT INTO sem_tasks (change_request_id, assignee, due_on, created_at, done_at, done_by)
SELECT r.id, r.sem, r.effective, r.approved_at,
       LEAST(r.effective::timestamp + make_interval(hours => CASE WHEN r.n % 5 = 0 THEN 40 ELSE 15 END),
             now() - interval '2 hours'),
       r.sem
  FROM demo_requests r
 WHERE r.state = 'completed' AND r.kind IN ('cancellation', 'pause');

-- Each cancellation's checklist from the templates; a few items done after their due day.
INSERT INTO checklist_items (change_request_id, template_id, position, title, owner_role,
                             assignee, due_on, due_offset_days, done_at, done_by, created_at)
SELECT r.id, t.id, t.position * 2, t.title, t.owner_role,
       CASE t.owner_role WHEN 'ops_lead' THEN p.ops WHEN 'contractor' THEN p.contractor
            ELSE r.sem END,
       r.effective + t.due_offset_days, t.due_offset_days,
       LEAST((r.effective + t.due_offset_days)::timestamp
                 + make_interval(hours => CASE WHEN (r.n + t.position) % 6 = 0 THEN 34
                                               ELSE 10 + (r.n + t.position) % 5 END),
             now() - interval '2 hours'),
       CASE t.owner_role WHEN 'ops_lead' THEN p.ops WHEN 'contractor' THEN p.contractor
            ELSE r.sem END,
       r.approved_at
  FROM demo_requests r
  JOIN clients c ON c.id = r.client_id
 CROSS JOIN demo_people p
  JOIN checklist_templates t
    ON t.retired_at IS NULL
   AND (t.condition = 'always'
        OR (t.condition = 'leave_platform' AND r.leaves)
        OR t.condition = ANY (c.ad_products))
 WHERE r.state = 'completed' AND r.kind = 'cancellation';

-- The SEM specialist's check of each contractor item, right after it, ticked after it.
INSERT INTO checklist_items (change_request_id, template_id, position, title, owner_role,
                             assignee, due_on, due_offset_days, verifies_id, done_at, done_by,
                             created_at)
SELECT i.change_request_id, NULL, i.position + 1, 'Verify: ' || i.title, 'sem_specialist',
       r.sem, i.due_on, i.due_offset_days, i.id,
       LEAST(i.done_at + interval '3 hours', now() - interval '1 hour'), r.sem, i.created_at
  FROM checklist_items i
  JOIN demo_requests r ON r.id = i.change_request_id
 WHERE i.owner_role = 'contractor';

-- Each addendum's signed document, attached before it was submitted (a one-page PDF).
INSERT INTO request_attachments (change_request_id, original_name, content_type, size_bytes,
                                 content, sha256, uploaded_by, uploaded_at)
SELECT r.id, format('Signed addendum #%s.pdf', r.id), 'application/pdf',
       octet_length(pdf.content), pdf.content, sha256(pdf.content),
       r.submitter, r.submitted_at - interval '1 hour'
  FROM demo_requests r
  JOIN clients c ON c.id = r.client_id
 CROSS JOIN LATERAL (SELECT convert_to(format('%%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj
4 0 obj << >> stream
BT /F1 12 Tf 72 720 Td (Addendum for %s: monthly budget from $%s to $%s. Signed by the client.) Tj ET
endstream endobj
5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
trailer << /Root 1 0 R >>
%%%%EOF
', replace(replace(c.name, '(', ''), ')', ''), r.budget / 100, r.new_budget / 100), 'UTF8')
       AS content) pdf
 WHERE r.kind = 'addendum';

-- The account's statuses: changed by the change task, back to active when a pause resumed
-- (not for scenario 5, whose client cancelled instead).
INSERT INTO client_status_history (client_id, status, monthly_budget_cents, changed_by,
                                   change_request_id, note, at, effective_date)
SELECT * FROM (
SELECT r.client_id, r.new_status, COALESCE(r.new_budget, r.budget), p.ops, r.id,
       'Updated by the change task',
       r.task_done_at, r.effective
  FROM demo_requests r, demo_people p WHERE r.state = 'completed'
UNION ALL
SELECT r.client_id, 'active', r.budget, p.ops, NULL, 'The pause ended; the ads are running again',
       r.resume::timestamp + interval '9 hours', r.resume
  FROM demo_requests r, demo_people p
 WHERE r.state = 'completed' AND r.kind = 'pause' AND r.scenario <> 5) h
 ORDER BY 7;  -- by when each status began, so the latest is also the last written

UPDATE clients c SET status = h.status, monthly_budget_cents = h.monthly_budget_cents
  FROM (SELECT DISTINCT ON (client_id) client_id, status, monthly_budget_cents
          FROM client_status_history ORDER BY client_id, id DESC) h
 WHERE h.client_id = c.id AND c.crm_account_id LIKE 'CRM-2%';

-- The email each submission and approval sent, long delivered: the approver asked to decide,
-- and Operations and the leadership told of the approval.
INSERT INTO outbox_messages (kind, to_addrs, subject, body_text, body_html, message_id, state,
                             attempts, next_attempt_at, related_type, related_id, created_at,
                             sent_at)
SELECT m.kind, m.to_addrs, m.subject, m.body, '<p>' || m.body || '</p>',
       format('<demo-%s-%s-%s@offboarding-desk.demo>', m.kind, r.id, split_part(m.to_addrs[1], '@', 1)),
       'sent', 1, m.at,
       'change_request', r.id::text, m.at, m.at + interval '1 minute'
  FROM demo_requests r
  JOIN clients c ON c.id = r.client_id
 CROSS JOIN LATERAL (VALUES
       ('change_request.approval_needed', ARRAY['approver1@demo.test'], r.submitted_at,
        format('Approval needed: %s for %s', r.kind, c.name),
        format('A %s for %s waits on your approval.', r.kind, c.name)),
       ('change_request.approval_needed', ARRAY['approver2@demo.test'], r.first_at,
        format('Approval needed: %s for %s', r.kind, c.name),
        format('A %s for %s waits on your approval.', r.kind, c.name)),
       ('change_request.approved', ARRAY['ops@demo.test', 'leadership@demo.test'], r.approved_at,
        format('Approved: %s for %s', r.kind, c.name),
        format('The %s for %s is approved; the change task is open.', r.kind, c.name))
   ) AS m(kind, to_addrs, at, subject, body)
 WHERE r.state = 'completed'
 ORDER BY m.at;  -- the mail log lists them newest first by when they were written

-- Their timelines, as the workflow writes them.
INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id, details)
SELECT e.at, e.actor, COALESCE(u.display_name, 'system'), e.action, 'change_request', e.id::text, e.details
  FROM (
    SELECT r.id, r.filed_at AS at, r.am AS actor, 'change_request.filed' AS action,
           jsonb_build_object('kind', r.filed_kind, 'escalation', r.escalation) AS details
      FROM demo_requests r
    UNION ALL
    SELECT r.id, r.called_at, r.retention, 'change_request.retention_outcome',
           jsonb_build_object('outcome', r.outcome)
      FROM demo_requests r WHERE r.called_at IS NOT NULL
    UNION ALL
    SELECT r.id, r.submitted_at,
           r.submitter,
           'change_request.submitted', jsonb_build_object('round', 1)
      FROM demo_requests r WHERE r.submitted_at IS NOT NULL
    UNION ALL
    SELECT r.id, r.submitted_at - interval '1 hour',
           r.submitter,
           'change_request.document_attached',
           jsonb_build_object('name', format('Signed addendum #%s.pdf', r.id))
      FROM demo_requests r WHERE r.kind = 'addendum'
    UNION ALL
    SELECT r.id, r.first_at, p.approver1, 'change_request.step_approved',
           jsonb_build_object('step', 'First approval', 'round', 1)
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT r.id, r.second_at, p.approver2, 'change_request.step_approved',
           jsonb_build_object('step', 'Second approval', 'round', 1)
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT r.id, r.second_at, p.approver2, 'change_request.approved', '{}'::jsonb
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT r.id, r.processed_at, p.accounting, 'change_request.processed', '{}'::jsonb
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT r.id, r.approved_at + interval '1 hour', p.ops, 'change_task.forwarded',
           jsonb_build_object('to_name', (SELECT display_name FROM users WHERE id = r.sem))
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT r.id, r.approved_at + interval '2 hours', p.ops, 'change_task.planner_added', '{}'::jsonb
      FROM demo_requests r, demo_people p
     WHERE r.state = 'completed' AND r.kind IN ('cancellation', 'pause')
    UNION ALL
    SELECT r.id, r.task_done_at, p.ops, 'change_task.status_updated',
           jsonb_build_object('to', r.new_status, 'effective_date', r.effective)
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT r.id, r.task_done_at, p.ops, 'change_task.done', '{}'::jsonb
      FROM demo_requests r, demo_people p WHERE r.state = 'completed'
    UNION ALL
    SELECT t.change_request_id, t.done_at, t.done_by, 'sem_task.done',
           jsonb_build_object('sem_task_id', t.id, 'note', t.note)
      FROM sem_tasks t JOIN demo_requests r ON r.id = t.change_request_id
     WHERE t.done_at IS NOT NULL
    UNION ALL
    SELECT i.change_request_id, i.done_at, i.done_by, 'checklist.ticked',
           jsonb_build_object('item_id', i.id, 'title', i.title, 'note', i.note)
      FROM checklist_items i JOIN demo_requests r ON r.id = i.change_request_id
     WHERE i.done_at IS NOT NULL
    UNION ALL
    SELECT r.id, r.completed_at, NULL, 'change_request.completed', '{}'::jsonb
      FROM demo_requests r WHERE r.state = 'completed'
  ) e
  LEFT JOIN users u ON u.id = e.actor
 -- The audit log lists records in the order they were written; at the same moment the last
 -- step's approval comes before the request's, and the last tick before the completion it
 -- causes (a call saving the client with no change withdraws it in the same record, as the
 -- workflow writes it).
 ORDER BY e.at, e.action IN ('change_request.approved', 'change_request.completed');
