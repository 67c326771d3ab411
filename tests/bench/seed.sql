-- The benchmark's data set: 10,000 clients, 100,000 change requests in every state with their
-- approvals, save attempts, change tasks, planner entries, SEM tasks and checklists, and
-- 1,000,000 audit events. Generated inside PostgreSQL with a fixed seed, so every run measures
-- the same data. `{{HASH}}` is replaced by one argon2 hash every bench account shares and
-- `{{CLIENTS}}` by the number of clients (10,000; the statement-count test uses fewer).

SELECT setseed(0.4242);

-- People: one account per role seat, as a department of this size has them.
INSERT INTO users (email, display_name, password_hash, roles)
SELECT format('%s%s@bench.test', seat.prefix, n), format('%s %s', seat.label, n), '{{HASH}}',
       ARRAY[seat.role]
  FROM (VALUES ('am', 'Account Manager', 'account_manager', 20),
               ('retention', 'Retention', 'retention', 3),
               ('teamlead', 'Team Lead', 'team_lead', 2),
               ('dm', 'Department Manager', 'department_manager', 1),
               ('approver', 'Approver', 'approver', 2),
               ('finance', 'Finance', 'finance', 2),
               ('accounting', 'Accounting', 'accounting', 2),
               ('ops', 'Ops Lead', 'ops_lead', 1),
               ('leadership', 'Leadership', 'dm_leadership', 2),
               ('sem', 'SEM Specialist', 'sem_specialist', 10),
               ('contractor', 'Contractor', 'contractor', 1),
               ('admin', 'Admin', 'admin', 1)) AS seat(prefix, label, role, seats)
 CROSS JOIN LATERAL generate_series(1, seat.seats) AS n;

UPDATE approval_chain_steps SET approver_user_id = (SELECT id FROM users WHERE email = 'approver1@bench.test')
 WHERE position = 1;
UPDATE approval_chain_steps SET approver_user_id = (SELECT id FROM users WHERE email = 'approver2@bench.test')
 WHERE position = 2;

CREATE TEMP TABLE seats AS
SELECT (SELECT array_agg(id ORDER BY id) FROM users WHERE roles = '{account_manager}') AS ams,
       (SELECT array_agg(id ORDER BY id) FROM users WHERE roles = '{sem_specialist}') AS sems,
       (SELECT array_agg(id ORDER BY id) FROM users WHERE roles = '{retention}') AS retention,
       (SELECT id FROM users WHERE email = 'approver1@bench.test') AS approver1,
       (SELECT id FROM users WHERE email = 'approver2@bench.test') AS approver2,
       (SELECT id FROM users WHERE email = 'finance1@bench.test') AS finance,
       (SELECT id FROM users WHERE email = 'accounting1@bench.test') AS accounting,
       (SELECT id FROM users WHERE email = 'ops1@bench.test') AS ops,
       (SELECT id FROM users WHERE email = 'contractor1@bench.test') AS contractor;

-- Clients: dealership-like names that a search finds in a few hundred.
INSERT INTO clients (name, crm_account_id, account_manager_id, sem_specialist_id,
                     monthly_budget_cents, ad_products)
SELECT format('%s %s %s %s',
              (ARRAY['Springfield', 'Riverside', 'Lakeside', 'Fairview', 'Madison', 'Georgetown',
                     'Clinton', 'Franklin', 'Greenville', 'Bristol', 'Salem', 'Oxford',
                     'Ashland', 'Dover', 'Milton', 'Newport', 'Hudson', 'Marion', 'Auburn',
                     'Jackson'])[1 + n % 20],
              (ARRAY['Ford', 'Toyota', 'Honda', 'Chevrolet', 'Nissan', 'Hyundai', 'Kia', 'Subaru',
                     'Mazda', 'Volkswagen', 'Jeep', 'Ram', 'Buick', 'GMC', 'Lexus', 'Acura',
                     'Audi', 'BMW', 'Volvo', 'Mitsubishi', 'Chrysler', 'Dodge', 'Cadillac',
                     'Lincoln', 'Infiniti'])[1 + (n / 20) % 25],
              (ARRAY['Motors', 'Auto Group', 'Autoplex', 'Cars', 'of the Valley'])[1 + (n / 500) % 5],
              n),
       format('CRM-%s', lpad(n::text, 6, '0')),
       s.ams[1 + n % 20], s.sems[1 + n % 10],
       (100000 + floor(random() * 2000000))::bigint,
       CASE n % 5 WHEN 0 THEN ARRAY['google_ads'] WHEN 1 THEN ARRAY['google_ads', 'microsoft_ads']
                  WHEN 2 THEN ARRAY['google_ads', 'facebook']
                  WHEN 3 THEN ARRAY['google_ads', 'microsoft_ads', 'fluency']
                  ELSE ARRAY['facebook'] END
  FROM generate_series(1, {{CLIENTS}}) AS n, seats s;

INSERT INTO client_status_history (client_id, status, monthly_budget_cents, note, at)
SELECT id, status, monthly_budget_cents, 'Imported from the CRM', now() - interval '4 years'
  FROM clients;

-- Ten requests per client: nine closed over the last three years, the tenth recent and in any
-- state (one open request per client at most, as the schema demands).
CREATE TEMP TABLE g AS
SELECT c.id AS client_id, c.account_manager_id AS am, c.sem_specialist_id AS sem, k,
       random() AS r_state, random() AS r_kind, random() AS r_credit, random() AS r_esc,
       random() AS r_days, random() AS r_step
  FROM generate_series(1, 10) AS k, clients c
 ORDER BY k, c.id;

ALTER TABLE g ADD COLUMN state text, ADD COLUMN kind text, ADD COLUMN created timestamptz;
UPDATE g SET
  state = CASE
    WHEN k < 10 THEN CASE WHEN r_state < 0.75 THEN 'completed' ELSE 'withdrawn' END
    WHEN r_state < 0.15 THEN 'completed'
    WHEN r_state < 0.30 THEN 'approved'
    WHEN r_state < 0.35 THEN 'draft'
    WHEN r_state < 0.45 THEN 'with_retention'
    WHEN r_state < 0.95 THEN 'in_approval'
    ELSE 'changes_requested' END,
  kind = CASE WHEN r_kind < 0.45 THEN 'cancellation' WHEN r_kind < 0.75 THEN 'pause'
              ELSE 'addendum' END,
  created = CASE WHEN k < 10 THEN now() - make_interval(days => (10 - k) * 110 + (r_days * 60)::int)
                 ELSE now() - make_interval(days => (r_days * 20)::int) END;
UPDATE g SET kind = 'pause' WHERE state = 'with_retention' AND kind = 'addendum';

INSERT INTO change_requests (
    client_id, kind, cancel_scope, effective_date, resume_date, current_budget_cents,
    new_budget_cents, reason_id, reason_text, product_notes, credit_cents, credit_reason,
    escalation, state, filed_by, original_kind, withdrawn_reason, created_at, state_changed_at,
    submitted_by, submitted_at, approval_round, approved_at, processed_by, processed_at,
    processed_note, completed_at)
SELECT g.client_id, g.kind,
       CASE WHEN g.kind = 'cancellation' THEN
            CASE WHEN g.r_kind < 0.2 THEN 'leave_platform' ELSE 'services_only' END END,
       (g.created + make_interval(days => 14 + (g.r_days * 40)::int))::date,
       CASE WHEN g.kind = 'pause' AND g.r_credit < 0.5 THEN
            (g.created + make_interval(days => 90 + (g.r_days * 40)::int))::date END,
       CASE WHEN g.kind = 'addendum' THEN 500000 END,
       CASE WHEN g.kind = 'addendum' THEN 250000 END,
       1 + (g.client_id + g.k) % 7,
       'Generated for the benchmark',
       CASE WHEN g.r_esc < 0.5 THEN 'Keep the branded campaigns until the last day.' ELSE '' END,
       CASE WHEN g.r_credit > 0.8 THEN (10000 + floor(g.r_credit * 90000))::bigint END,
       CASE WHEN g.r_credit > 0.8 THEN 'Service credit for the missed launch' END,
       CASE WHEN g.state = 'with_retention' THEN 'retention'
            WHEN g.kind <> 'addendum' AND g.r_esc < 0.4 THEN 'retention'
            ELSE 'none' END,
       g.state, g.am, NULL,
       CASE WHEN g.state = 'withdrawn' THEN 'The client stayed.' END,
       g.created, g.created + interval '3 days',
       CASE WHEN g.state IN ('in_approval', 'changes_requested', 'approved', 'completed') THEN g.am END,
       CASE WHEN g.state IN ('in_approval', 'changes_requested', 'approved', 'completed')
            THEN g.created + interval '1 day' END,
       CASE WHEN g.state IN ('in_approval', 'changes_requested', 'approved', 'completed') THEN 1 ELSE 0 END,
       CASE WHEN g.state IN ('approved', 'completed') THEN g.created + interval '3 days' END,
       CASE WHEN g.state = 'completed' OR (g.state = 'approved' AND g.r_step < 0.5)
            THEN (SELECT accounting FROM seats) END,
       CASE WHEN g.state = 'completed' OR (g.state = 'approved' AND g.r_step < 0.5)
            THEN g.created + interval '4 days' END,
       CASE WHEN g.state = 'completed' OR (g.state = 'approved' AND g.r_step < 0.5)
            THEN 'Credit memo issued' END,
       CASE WHEN g.state = 'completed' THEN g.created + interval '30 days' END
  FROM g
 ORDER BY g.k, g.client_id;

INSERT INTO save_attempts (change_request_id, call_date, offered, outcome, notes, recorded_by,
                           recorded_at, created_at)
SELECT r.id,
       CASE WHEN r.state <> 'with_retention' THEN r.created_at::date END,
       'One month at half the fee',
       CASE WHEN r.state = 'with_retention' THEN NULL
            WHEN r.state = 'withdrawn' THEN 'saved_no_change' ELSE 'not_saved' END,
       'Spoke with the general manager.',
       CASE WHEN r.state <> 'with_retention' THEN (SELECT retention[1 + r.id % 3] FROM seats) END,
       CASE WHEN r.state <> 'with_retention' THEN r.created_at + interval '1 day' END,
       r.created_at
  FROM change_requests r
 WHERE r.escalation = 'retention';

-- The approval chain of every submitted request: first and second approval, and Finance when
-- there is a credit.
INSERT INTO request_approvals (change_request_id, round, position, name, approver_user_id,
                               approver_role, state, reached_at, decided_by, decided_at, comment)
SELECT r.id, 1, step.position, step.name,
       CASE step.position WHEN 1 THEN s.approver1 WHEN 2 THEN s.approver2 END,
       CASE WHEN step.position = 3 THEN 'finance' END,
       st.state,
       CASE WHEN st.state IN ('pending', 'approved', 'sent_back')
            THEN r.submitted_at + make_interval(hours => step.position) END,
       CASE WHEN st.state IN ('approved', 'sent_back') THEN
            CASE step.position WHEN 1 THEN s.approver1 WHEN 2 THEN s.approver2 ELSE s.finance END END,
       CASE WHEN st.state IN ('approved', 'sent_back')
            THEN r.submitted_at + make_interval(hours => step.position + 1) END,
       CASE WHEN st.state = 'sent_back' THEN 'Please attach the signed addendum.' END
  FROM change_requests r
 CROSS JOIN seats s
 CROSS JOIN (VALUES (1, 'First approval'), (2, 'Second approval'), (3, 'Finance')) AS step(position, name)
 CROSS JOIN LATERAL (SELECT CASE
      WHEN step.position = 3 AND r.credit_cents IS NULL THEN 'not_required'
      WHEN r.state IN ('approved', 'completed') THEN 'approved'
      WHEN r.state = 'changes_requested' THEN
           CASE step.position WHEN 1 THEN 'sent_back' ELSE 'cancelled' END
      -- in approval: a quarter wait on the second approver, the rest on the first
      WHEN r.id % 4 = 0 THEN
           CASE step.position WHEN 1 THEN 'approved' WHEN 2 THEN 'pending' ELSE 'waiting' END
      ELSE CASE step.position WHEN 1 THEN 'pending' ELSE 'waiting' END
   END AS state) AS st
 WHERE r.approval_round = 1;

INSERT INTO change_tasks (change_request_id, created_at, done_at, done_by, forwarded_to,
                          forwarded_by, forwarded_at)
SELECT r.id, r.approved_at,
       CASE WHEN r.state = 'completed' OR r.id % 2 = 0 THEN r.approved_at + interval '1 day' END,
       CASE WHEN r.state = 'completed' OR r.id % 2 = 0 THEN s.ops END,
       c.sem_specialist_id, s.ops, r.approved_at + interval '2 hours'
  FROM change_requests r
  JOIN clients c ON c.id = r.client_id
 CROSS JOIN seats s
 WHERE r.state IN ('approved', 'completed');

INSERT INTO planner_entries (change_request_id, client_id, kind, effective_date, resume_date,
                             sem_specialist_id, account_manager_id, added_by, added_at)
SELECT r.id, r.client_id, r.kind, r.effective_date, r.resume_date, c.sem_specialist_id,
       c.account_manager_id, s.ops, r.approved_at + interval '3 hours'
  FROM change_requests r
  JOIN clients c ON c.id = r.client_id
 CROSS JOIN seats s
 WHERE r.state IN ('approved', 'completed') AND r.kind IN ('cancellation', 'pause');

INSERT INTO sem_tasks (change_request_id, assignee, due_on, created_at, done_at, done_by)
SELECT r.id, c.sem_specialist_id, r.effective_date, r.approved_at,
       CASE WHEN r.state = 'completed' THEN r.effective_date::timestamptz END,
       CASE WHEN r.state = 'completed' THEN c.sem_specialist_id END
  FROM change_requests r
  JOIN clients c ON c.id = r.client_id
 WHERE r.state IN ('approved', 'completed') AND r.kind IN ('cancellation', 'pause');

-- Every approved cancellation's checklist from the templates, done when the request is.
INSERT INTO checklist_items (change_request_id, template_id, position, title, owner_role,
                             assignee, due_on, done_at, done_by, created_at)
SELECT r.id, t.id, t.position, t.title, t.owner_role,
       CASE t.owner_role WHEN 'ops_lead' THEN s.ops WHEN 'contractor' THEN s.contractor
            ELSE c.sem_specialist_id END,
       r.effective_date + t.due_offset_days,
       CASE WHEN r.state = 'completed' OR (r.id + t.position) % 3 = 0
            THEN r.approved_at + interval '5 days' END,
       CASE WHEN r.state = 'completed' OR (r.id + t.position) % 3 = 0 THEN
            CASE t.owner_role WHEN 'ops_lead' THEN s.ops WHEN 'contractor' THEN s.contractor
                 ELSE c.sem_specialist_id END END,
       r.approved_at
  FROM change_requests r
  JOIN clients c ON c.id = r.client_id
 CROSS JOIN seats s
  JOIN checklist_templates t
    ON t.retired_at IS NULL
   AND (t.condition = 'always'
        OR (t.condition = 'leave_platform' AND r.cancel_scope = 'leave_platform')
        OR t.condition = ANY (c.ad_products))
 WHERE r.state IN ('approved', 'completed') AND r.kind = 'cancellation';

-- 1,000,000 audit events: ten per request, the way a request's life writes them.
INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id, details)
SELECT r.created_at + make_interval(hours => e.n), r.filed_by, 'Account Manager',
       (ARRAY['change_request.filed', 'change_request.escalated', 'change_request.edited',
              'change_request.retention_outcome', 'change_request.submitted',
              'change_request.step_approved', 'change_request.step_approved',
              'change_request.approved', 'change_request.processed',
              'change_request.completed'])[e.n],
       'change_request', r.id::text, '{"generated": true}'::jsonb
  FROM change_requests r
 CROSS JOIN generate_series(1, 10) AS e(n);

-- One request with a long history: 300 comments back and forth.
INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id, details)
SELECT now() - make_interval(mins => 300 - n), NULL, 'Account Manager 1', 'change_request.commented',
       'change_request', (SELECT min(id) FROM change_requests WHERE state = 'in_approval')::text,
       jsonb_build_object('comment', format('Follow-up %s with the client', n))
  FROM generate_series(1, 300) AS n;

-- The yardstick's tables: TechEmpower's fortunes, and rows for the bare one-row update.
CREATE TABLE bench_fortunes (id integer PRIMARY KEY, message text NOT NULL);
INSERT INTO bench_fortunes (id, message) VALUES
    (1, 'fortune: No such file or directory'),
    (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
    (3, 'After enough decimal places, nobody gives a damn.'),
    (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
    (5, 'A computer program does what you tell it to do, not what you want it to do.'),
    (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
    (7, 'Any program that runs right is obsolete.'),
    (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
    (9, 'Feature: A bug with seniority.'),
    (10, 'Computers make very fast, very accurate mistakes.'),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, 'フレームワークのベンチマーク');
CREATE TABLE bench_counters (id integer PRIMARY KEY, n bigint NOT NULL DEFAULT 0);
INSERT INTO bench_counters (id) SELECT generate_series(1, 10000);

ANALYZE;
