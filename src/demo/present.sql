-- The demo's present: eighteen more dealerships whose requests stand where a Monday morning
-- finds them (drafts, Retention's calls, every approval step, one stalled past the nudge, one
-- sent back, escalations with comments, approved work half done, a checklist partly ticked,
-- a completed addendum, a client saved with no change, a reinstatement on its way, a draft
-- left by an account manager who has gone), each dated
-- back from today in the agency's zone, so every desk, the planner and the offboarding sheet
-- have something to show on a fresh start.
--
-- The functions below write what the workflow writes for each act (the request, its steps,
-- tasks, items, planner line, status, jobs, audit records and emails), so the records keep the
-- model test's rules. Run once, in the demo seed's transaction (src/demo/present.rs), after
-- `demo.zone` is set to the agency's time zone. Every email is marked sent; the audit records
-- and emails are written at the end in the order they happened.

CREATE TEMP TABLE demo_events (
    seq bigint GENERATED ALWAYS AS IDENTITY, at timestamptz, actor bigint, action text,
    req bigint, details jsonb) ON COMMIT DROP;
CREATE TEMP TABLE demo_mail (
    seq bigint GENERATED ALWAYS AS IDENTITY, kind text, to_addrs text[], subject text,
    body text, req bigint, at timestamptz) ON COMMIT DROP;

-- Time: today in the agency's zone, a local time on a day, business days.
CREATE FUNCTION pg_temp.agency_zone() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT current_setting('demo.zone') $$;
CREATE FUNCTION pg_temp.today() RETURNS date LANGUAGE sql STABLE
    AS $$ SELECT (now() AT TIME ZONE pg_temp.agency_zone())::date $$;
CREATE FUNCTION pg_temp.at_local(d date, t time) RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT (d + t) AT TIME ZONE pg_temp.agency_zone() $$;
CREATE FUNCTION pg_temp.add_bdays(d date, n int) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    r date := d;
    left_ int := abs(n);
BEGIN
    WHILE left_ > 0 LOOP
        r := r + CASE WHEN n > 0 THEN 1 ELSE -1 END;
        IF extract(isodow FROM r) < 6 THEN
            left_ := left_ - 1;
        END IF;
    END LOOP;
    RETURN r;
END $$;
-- `n` business days ago at `t` (never later than a minute ago).
CREATE FUNCTION pg_temp.bd(n int, t text) RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT LEAST(pg_temp.at_local(pg_temp.add_bdays(pg_temp.today(), -n), t::time),
                       now() - interval '1 minute') $$;
CREATE FUNCTION pg_temp.ago(i text) RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT now() - i::interval $$;
-- A step's nudge: two business days later at the same local time (src/approvals/nudges.rs).
CREATE FUNCTION pg_temp.due_after(t timestamptz, n int) RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT pg_temp.at_local(pg_temp.add_bdays((t AT TIME ZONE pg_temp.agency_zone())::date, n),
                               (t AT TIME ZONE pg_temp.agency_zone())::time) $$;
CREATE FUNCTION pg_temp.day_text(d date) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT to_char(d, 'Mon FMDD, YYYY') $$;

-- People.
CREATE FUNCTION pg_temp.u(email text) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT id FROM users WHERE lower(email) = lower($1) $$;
CREATE FUNCTION pg_temp.email(id bigint) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT email FROM users WHERE id = $1 $$;
CREATE FUNCTION pg_temp.name(id bigint) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT display_name FROM users WHERE id = $1 $$;
CREATE FUNCTION pg_temp.holders(role text) RETURNS text[] LANGUAGE sql STABLE
    AS $$ SELECT array_agg(email ORDER BY lower(email)) FROM users
           WHERE role = ANY (roles) AND disabled_at IS NULL $$;

-- The record of each act, and its emails.
CREATE FUNCTION pg_temp.log(req bigint, at timestamptz, actor bigint, action text, details jsonb)
    RETURNS void LANGUAGE sql
    AS $$ INSERT INTO demo_events (at, actor, action, req, details)
          VALUES (at, actor, action, req, details) $$;
CREATE FUNCTION pg_temp.mail(kind text, to_addrs text[], subject text, body text, req bigint,
                             at timestamptz) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO demo_mail (kind, to_addrs, subject, body, req, at)
          SELECT kind, array_agg(DISTINCT a), subject, body, req, at
            FROM unnest(to_addrs) a WHERE a IS NOT NULL HAVING count(a) > 0 $$;
CREATE FUNCTION pg_temp.job(key text, kind text, payload jsonb, run_at timestamptz,
                            created timestamptz) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO scheduled_jobs (key, kind, payload, run_at, created_at, updated_at)
          VALUES (key, kind, payload, run_at, created, created) $$;

CREATE FUNCTION pg_temp.client_name(req bigint) RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT c.name FROM change_requests r JOIN clients c ON c.id = r.client_id
           WHERE r.id = req $$;
CREATE FUNCTION pg_temp.kind_label(kind text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE kind WHEN 'cancellation' THEN 'Cancellation'
                           WHEN 'pause' THEN 'Contract pause'
                           ELSE 'Addendum (budget change)' END $$;
-- A request's label: its kind's, or a reinstatement's (Kind::label_of).
CREATE FUNCTION pg_temp.label_of(kind text, reverses bigint) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN reverses IS NULL THEN pg_temp.kind_label(kind)
                      WHEN kind = 'cancellation' THEN 'Reinstatement (undoes a cancellation)'
                      WHEN kind = 'pause' THEN 'Reinstatement (undoes a contract pause)'
                      ELSE 'Reinstatement (undoes an addendum)' END $$;

CREATE FUNCTION pg_temp.client(name text, crm text, am text, sem text, budget bigint,
                               products text[]) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    id_ bigint;
BEGIN
    INSERT INTO clients (name, crm_account_id, account_manager_id, sem_specialist_id,
                         monthly_budget_cents, ad_products, created_at)
    VALUES (name, crm, pg_temp.u(am), pg_temp.u(sem), budget, products, now() - interval '3 years')
    RETURNING id INTO id_;
    INSERT INTO client_status_history (client_id, status, monthly_budget_cents, note, at)
    VALUES (id_, 'active', budget, 'Demo client added', now() - interval '3 years');
    RETURN id_;
END $$;

-- Filing (src/change_requests/handlers/mod.rs): a draft, or with Retention when sent there.
CREATE FUNCTION pg_temp.file(client bigint, kind text, scope text, eff date, resume date,
                             reason int, why text, esc text, esc_to bigint, at timestamptz,
                             new_budget bigint DEFAULT NULL, credit bigint DEFAULT NULL,
                             credit_reason text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    c clients;
    id_ bigint;
    state_ text := CASE WHEN esc = 'retention' THEN 'with_retention' ELSE 'draft' END;
BEGIN
    SELECT * INTO c FROM clients WHERE id = client;
    INSERT INTO change_requests (
        client_id, kind, cancel_scope, effective_date, resume_date, current_budget_cents,
        new_budget_cents, reason_id, reason_text, product_notes, credit_cents, credit_reason,
        escalation, escalated_to, state, filed_by, created_at, updated_at, state_changed_at,
        filed_budget_cents)
    VALUES (client, kind, scope, eff, resume,
            CASE WHEN kind = 'addendum' THEN c.monthly_budget_cents END, new_budget,
            (SELECT id FROM change_reasons WHERE position = reason ORDER BY id LIMIT 1),
            why, '', credit, credit_reason, esc, esc_to, state_, c.account_manager_id,
            at, at, at, c.monthly_budget_cents)
    RETURNING id INTO id_;
    IF esc = 'retention' THEN
        INSERT INTO save_attempts (change_request_id, created_at) VALUES (id_, at);
    END IF;
    PERFORM pg_temp.log(id_, at, c.account_manager_id, 'change_request.filed',
        jsonb_build_object('client_id', client, 'kind', kind, 'escalation', esc, 'state', state_));
    IF esc <> 'none' THEN
        PERFORM pg_temp.mail('change_request.escalated',
            CASE WHEN esc = 'retention' THEN pg_temp.holders('retention')
                 ELSE ARRAY[pg_temp.email(esc_to)] END,
            format('%s: %s escalated by %s', c.name, pg_temp.kind_label(kind),
                   pg_temp.name(c.account_manager_id)),
            CASE WHEN esc = 'retention'
                 THEN 'A change request needs a retention call: a save attempt is waiting for you.'
                 ELSE 'A change request has been escalated to you. Read it and add your comment.' END,
            id_, at);
    END IF;
    RETURN id_;
END $$;

-- Retention records the call (src/retention): a save with no change withdraws the request, a
-- save with a lower budget makes it an addendum, one with a pause a pause.
CREATE FUNCTION pg_temp.record_call(req bigint, by_ bigint, at timestamptz, outcome_ text,
                                    offered_ text, notes_ text, new_budget bigint DEFAULT NULL)
    RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    after_kind text;
    after_state text;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    UPDATE save_attempts
       SET call_date = (at AT TIME ZONE pg_temp.agency_zone())::date, offered = offered_,
           outcome = outcome_, notes = notes_, recorded_by = by_, recorded_at = at,
           first_recorded_at = at
     WHERE change_request_id = req;
    after_kind := CASE outcome_ WHEN 'saved_budget_change' THEN 'addendum'
                               WHEN 'saved_pause' THEN 'pause' ELSE r.kind END;
    after_state := CASE WHEN outcome_ = 'saved_no_change' THEN 'withdrawn' ELSE r.state END;
    IF outcome_ = 'saved_no_change' THEN
        UPDATE change_requests
           SET state = 'withdrawn', state_changed_at = at, version = version + 1,
               withdrawn_reason = 'Client saved by Retention, no change'
         WHERE id = req;
    ELSIF outcome_ = 'saved_budget_change' THEN
        UPDATE change_requests
           SET original_kind = kind, original_cancel_scope = cancel_scope,
               original_effective_date = effective_date, original_resume_date = resume_date,
               kind = 'addendum', cancel_scope = NULL, resume_date = NULL,
               current_budget_cents = (SELECT monthly_budget_cents FROM clients
                                        WHERE id = r.client_id),
               new_budget_cents = new_budget, version = version + 1
         WHERE id = req;
    END IF;
    PERFORM pg_temp.log(req, at, by_, 'change_request.retention_outcome',
        jsonb_build_object('outcome', outcome_, 'corrected_from', NULL, 'from_kind', r.kind,
                           'to_kind', after_kind, 'state', after_state,
                           'call_date', (at AT TIME ZONE pg_temp.agency_zone())::date));
    PERFORM pg_temp.mail('change_request.retention_outcome',
        ARRAY[(SELECT pg_temp.email(account_manager_id) FROM clients WHERE id = r.client_id)],
        format('%s: retention call recorded', pg_temp.client_name(req)),
        format('Retention recorded the call: %s.', replace(outcome_, '_', ' ')), req, at);
END $$;

-- The signed addendum, attached (a one-page PDF).
CREATE FUNCTION pg_temp.attach(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    pdf bytea;
    name_ text := format('Signed addendum #%s.pdf', req);
    id_ bigint;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    pdf := convert_to(format('%%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj
4 0 obj << >> stream
BT /F1 12 Tf 72 720 Td (Addendum for %s: monthly budget from $%s to $%s from %s. Signed by the client.) Tj ET
endstream endobj
5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj
trailer << /Root 1 0 R >>
%%%%EOF
', replace(replace(pg_temp.client_name(req), '(', ''), ')', ''), r.current_budget_cents / 100,
       r.new_budget_cents / 100, pg_temp.day_text(r.effective_date)), 'UTF8');
    INSERT INTO request_attachments (change_request_id, original_name, content_type, size_bytes,
                                     content, sha256, uploaded_by, uploaded_at)
    VALUES (req, name_, 'application/pdf', octet_length(pdf), pdf, sha256(pdf), by_, at)
    RETURNING id INTO id_;
    PERFORM pg_temp.log(req, at, by_, 'change_request.document_attached',
        jsonb_build_object('attachment_id', id_, 'name', name_, 'content_type', 'application/pdf',
                           'size_bytes', octet_length(pdf), 'sha256', encode(sha256(pdf), 'hex')));
    IF EXISTS (SELECT 1 FROM save_attempts WHERE change_request_id = req) THEN
        PERFORM pg_temp.mail('change_request.document_attached',
            array_remove(pg_temp.holders('retention')
                         || (SELECT pg_temp.email(account_manager_id) FROM clients
                              WHERE id = r.client_id), pg_temp.email(by_)),
            format('%s: the signed addendum is attached', pg_temp.client_name(req)),
            'The signed addendum is attached: the request can be submitted.', req, at);
    END IF;
END $$;

-- Who a step waits on, by email: its approver, or every holder of its role.
CREATE FUNCTION pg_temp.step_to(s request_approvals) RETURNS text[] LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN s.approver_user_id IS NOT NULL
                      THEN ARRAY[pg_temp.email(s.approver_user_id)]
                      ELSE pg_temp.holders(s.approver_role) END $$;

-- A step reached: its nudge scheduled and its approver asked.
CREATE FUNCTION pg_temp.reach(step bigint, at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s request_approvals;
    r change_requests;
BEGIN
    SELECT * INTO s FROM request_approvals WHERE id = step;
    SELECT * INTO r FROM change_requests WHERE id = s.change_request_id;
    PERFORM pg_temp.job(format('approval-nudge:%s:1', step), 'approval_nudge',
                        jsonb_build_object('step_id', step, 'n', 1), pg_temp.due_after(at, 2), at);
    PERFORM pg_temp.mail('change_request.approval_needed', pg_temp.step_to(s),
        format('%s: your approval is needed (%s)', pg_temp.client_name(r.id),
               lower(pg_temp.label_of(r.kind, r.reverses_id))),
        format('A %s waits on your approval (%s).', lower(pg_temp.label_of(r.kind, r.reverses_id)), s.name),
        r.id, at);
END $$;

-- Submitting (src/approvals/chain.rs): a new round copies the whole chain.
CREATE FUNCTION pg_temp.submit(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    round_ int;
    step record;
    first_pending bigint;
    chain jsonb := '[]';
    state_ text;
    id_ bigint;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    round_ := r.approval_round + 1;
    UPDATE change_requests
       SET state = 'in_approval', state_changed_at = at, version = version + 1,
           submitted_by = by_, submitted_at = at, approval_round = round_
     WHERE id = req;
    FOR step IN SELECT * FROM approval_chain_steps WHERE retired_at IS NULL
                 ORDER BY position, id LOOP
        state_ := CASE WHEN step.condition = 'credit' AND r.credit_cents IS NULL THEN 'not_required'
                       WHEN first_pending IS NULL THEN 'pending' ELSE 'waiting' END;
        INSERT INTO request_approvals (change_request_id, round, position, name,
                                       approver_user_id, approver_role, state, reached_at)
        VALUES (req, round_, step.position, step.name, step.approver_user_id,
                step.approver_role, state_, CASE WHEN state_ = 'pending' THEN at END)
        RETURNING id INTO id_;
        IF state_ = 'pending' THEN
            first_pending := id_;
        END IF;
        chain := chain || jsonb_build_object('step', step.name, 'state', state_);
    END LOOP;
    PERFORM pg_temp.log(req, at, by_, 'change_request.submitted',
        jsonb_build_object('round', round_, 'from', r.state, 'chain', chain));
    PERFORM pg_temp.reach(first_pending, at);
END $$;

-- A cancellation's offboarding checklist, made at its approval (src/checklists/steps.rs).
CREATE FUNCTION pg_temp.checklist(req bigint, at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    c clients;
    t checklist_templates;
    pos int := 0;
    item bigint;
    check_ bigint;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    SELECT * INTO c FROM clients WHERE id = r.client_id;
    FOR t IN SELECT * FROM checklist_templates
              WHERE retired_at IS NULL
                AND (condition = 'always'
                     OR (condition = 'leave_platform' AND r.cancel_scope = 'leave_platform')
                     OR condition = ANY (c.ad_products))
              ORDER BY position, id LOOP
        INSERT INTO checklist_items (change_request_id, template_id, position, title, owner_role,
                                     assignee, due_on, due_offset_days, created_at)
        VALUES (req, t.id, pos, t.title, t.owner_role,
                CASE WHEN t.owner_role = 'sem_specialist' THEN c.sem_specialist_id END,
                r.effective_date + t.due_offset_days, t.due_offset_days, at)
        RETURNING id INTO item;
        pos := pos + 1;
        PERFORM pg_temp.job(format('checklist-overdue:%s:0:1', item), 'checklist_overdue',
            jsonb_build_object('item_id', item, 'series', '0', 'n', 1),
            pg_temp.at_local(r.effective_date + t.due_offset_days + 1, '09:00'), at);
        IF t.owner_role = 'contractor' THEN
            INSERT INTO checklist_items (change_request_id, position, title, owner_role, assignee,
                                         due_on, due_offset_days, verifies_id, created_at)
            VALUES (req, pos, 'Verify: ' || t.title, 'sem_specialist', c.sem_specialist_id,
                    r.effective_date + t.due_offset_days, t.due_offset_days, item, at)
            RETURNING id INTO check_;
            pos := pos + 1;
            PERFORM pg_temp.job(format('checklist-overdue:%s:0:1', check_), 'checklist_overdue',
                jsonb_build_object('item_id', check_, 'series', '0', 'n', 1),
                pg_temp.at_local(r.effective_date + t.due_offset_days + 1, '09:00'), at);
        END IF;
    END LOOP;
END $$;

-- Approving the step waiting (src/approvals/chain.rs); the last one approves the request.
CREATE FUNCTION pg_temp.approve(req bigint, by_ bigint, at timestamptz, comment_ text DEFAULT '')
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    s request_approvals;
    next_ bigint;
    task bigint;
    kind_ text;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    SELECT * INTO s FROM request_approvals
     WHERE change_request_id = req AND round = r.approval_round AND state = 'pending';
    UPDATE request_approvals
       SET state = 'approved', decided_by = by_, decided_at = at, comment = NULLIF(comment_, '')
     WHERE id = s.id;
    PERFORM pg_temp.log(req, at, by_, 'change_request.step_approved',
        jsonb_build_object('step', s.name, 'round', s.round, 'comment', comment_,
                           'on_behalf_of', NULL));
    SELECT id INTO next_ FROM request_approvals
     WHERE change_request_id = req AND round = s.round AND state = 'waiting'
       AND position > s.position
     ORDER BY position LIMIT 1;
    IF next_ IS NOT NULL THEN
        UPDATE request_approvals SET state = 'pending', reached_at = at WHERE id = next_;
        PERFORM pg_temp.reach(next_, at);
        RETURN;
    END IF;
    UPDATE change_requests
       SET state = 'approved', state_changed_at = at, version = version + 1, approved_at = at
     WHERE id = req;
    INSERT INTO change_tasks (change_request_id, created_at) VALUES (req, at) RETURNING id INTO task;
    IF r.kind = 'cancellation' AND r.reverses_id IS NULL THEN
        PERFORM pg_temp.checklist(req, at);
    END IF;
    PERFORM pg_temp.log(req, at, by_, 'change_request.approved',
        jsonb_build_object('round', r.approval_round, 'change_task_id', task));
    kind_ := lower(pg_temp.label_of(r.kind, r.reverses_id));
    PERFORM pg_temp.mail('change_request.approved',
        (SELECT array_agg(email) FROM distribution_list),
        format('%s: %s approved', pg_temp.client_name(req), kind_),
        format('The %s is approved; the change task is open.', kind_), req, at);
    PERFORM pg_temp.mail('change_request.to_process', pg_temp.holders('accounting'),
        format('%s: approved, to process', pg_temp.client_name(req)),
        format('An approved %s is ready to process.', kind_), req, at);
    PERFORM pg_temp.mail('change_request.approved_submitter',
        ARRAY[pg_temp.email(r.submitted_by), (SELECT pg_temp.email(account_manager_id)
                                                 FROM clients WHERE id = r.client_id)],
        format('%s: the change request is approved', pg_temp.client_name(req)),
        format('The %s you submitted is approved.', kind_), req, at);
END $$;

-- Sending back: the round ends and the request goes back to whoever submits it.
CREATE FUNCTION pg_temp.send_back(req bigint, by_ bigint, at timestamptz, reason text)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    s request_approvals;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    SELECT * INTO s FROM request_approvals
     WHERE change_request_id = req AND round = r.approval_round AND state = 'pending';
    UPDATE request_approvals
       SET state = 'sent_back', decided_by = by_, decided_at = at, comment = reason
     WHERE id = s.id;
    UPDATE request_approvals SET state = 'cancelled'
     WHERE change_request_id = req AND round = s.round AND state IN ('pending', 'waiting');
    UPDATE change_requests
       SET state = 'changes_requested', state_changed_at = at, version = version + 1
     WHERE id = req;
    PERFORM pg_temp.log(req, at, by_, 'change_request.sent_back',
        jsonb_build_object('step', s.name, 'round', s.round, 'reason', reason,
                           'on_behalf_of', NULL));
    PERFORM pg_temp.mail('change_request.sent_back',
        CASE WHEN EXISTS (SELECT 1 FROM save_attempts WHERE change_request_id = req)
             THEN pg_temp.holders('retention') ELSE '{}' END
        || pg_temp.email(r.submitted_by)
        || (SELECT pg_temp.email(account_manager_id) FROM clients WHERE id = r.client_id),
        format('%s: sent back by %s', pg_temp.client_name(req), pg_temp.name(by_)),
        format('Sent back at %s: %s', s.name, reason), req, at);
END $$;

-- Completion: by whoever's act finished the last piece (src/operations/completion.rs).
CREATE FUNCTION pg_temp.complete_if_ready(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    IF r.state = 'approved' AND r.processed_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM change_tasks WHERE change_request_id = req AND done_at IS NOT NULL)
       AND (r.reverses_id IS NOT NULL
            OR ((r.kind = 'addendum'
                 OR EXISTS (SELECT 1 FROM sem_tasks WHERE change_request_id = req
                               AND done_at IS NOT NULL))
                AND (r.kind <> 'cancellation'
                     OR NOT EXISTS (SELECT 1 FROM checklist_items WHERE change_request_id = req
                                       AND done_at IS NULL AND cancelled_at IS NULL)))) THEN
        UPDATE change_requests
           SET state = 'completed', state_changed_at = at, version = version + 1,
               completed_at = at
         WHERE id = req;
        PERFORM pg_temp.log(req, at, by_, 'change_request.completed', '{}');
    END IF;
END $$;

CREATE FUNCTION pg_temp.process(req bigint, by_ bigint, at timestamptz, note text)
    RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_requests SET processed_by = by_, processed_at = at, processed_note = note
     WHERE id = req;
    PERFORM pg_temp.log(req, at, by_, 'change_request.processed', jsonb_build_object('note', note));
    PERFORM pg_temp.complete_if_ready(req, by_, at);
END $$;

-- The Ops Lead forwards the change task: the SEM work and the task to pause the ads are theirs.
CREATE FUNCTION pg_temp.forward(req bigint, by_ bigint, sem bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    task bigint;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    UPDATE change_tasks SET forwarded_to = sem, forwarded_by = by_, forwarded_at = at
     WHERE change_request_id = req RETURNING id INTO task;
    UPDATE checklist_items SET assignee = sem
     WHERE change_request_id = req AND owner_role = 'sem_specialist' AND done_at IS NULL
       AND cancelled_at IS NULL;
    UPDATE planner_entries SET sem_specialist_id = sem
     WHERE change_request_id = req AND removed_at IS NULL;
    IF r.kind IN ('cancellation', 'pause') AND r.reverses_id IS NULL THEN
        INSERT INTO sem_tasks (change_request_id, assignee, due_on, created_at)
        VALUES (req, sem, r.effective_date, at);
    END IF;
    PERFORM pg_temp.log(req, at, by_, 'change_task.forwarded',
        jsonb_build_object('change_task_id', task, 'to', sem, 'to_name', pg_temp.name(sem)));
    PERFORM pg_temp.mail('change_task.forwarded', ARRAY[pg_temp.email(sem)],
        format('%s: %s effective %s', pg_temp.client_name(req), lower(pg_temp.label_of(r.kind, r.reverses_id)),
               pg_temp.day_text(r.effective_date)),
        'The Ops Lead forwarded the change task to you.', req, at);
END $$;

-- On the planner sheet, with the effective date's reminders (7 days, 1 day and the day itself,
-- at 9 a.m.); those already due went out.
CREATE FUNCTION pg_temp.plan(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    c clients;
    task change_tasks;
    entry bigint;
    d int;
    due timestamptz;
    run timestamptz;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    SELECT * INTO c FROM clients WHERE id = r.client_id;
    SELECT * INTO task FROM change_tasks WHERE change_request_id = req;
    INSERT INTO planner_entries (change_request_id, client_id, kind, effective_date, resume_date,
                                 sem_specialist_id, account_manager_id, added_by, added_at)
    VALUES (req, r.client_id, r.kind, r.effective_date, r.resume_date,
            COALESCE(task.forwarded_to, c.sem_specialist_id), c.account_manager_id, by_, at)
    RETURNING id INTO entry;
    FOREACH d IN ARRAY ARRAY[7, 1, 0] LOOP
        due := pg_temp.at_local(r.effective_date - d, '09:00');
        CONTINUE WHEN NOT (due > at OR (d = 0 AND (at AT TIME ZONE pg_temp.agency_zone())::date
                                                  <= r.effective_date));
        run := greatest(due, at);
        PERFORM pg_temp.job(format('reminder:%s:%s', entry, d), 'effective_date_reminder',
            jsonb_build_object('entry_id', entry, 'days', d, 'effective_date', r.effective_date),
            run, at);
        IF run <= now() THEN
            UPDATE scheduled_jobs SET state = 'done', done_at = run, attempts = 1
             WHERE key = format('reminder:%s:%s', entry, d);
            PERFORM pg_temp.mail('planner.reminder',
                pg_temp.holders('sem_specialist')
                    || pg_temp.email(COALESCE(task.forwarded_to, c.sem_specialist_id)),
                format('%s: %s effective %s', c.name, lower(pg_temp.label_of(r.kind, r.reverses_id)),
                       CASE d WHEN 0 THEN 'today' WHEN 1 THEN 'tomorrow'
                              ELSE format('in %s days', d) END),
                'A reminder from the planner sheet.', req, run);
        END IF;
    END LOOP;
    PERFORM pg_temp.log(req, at, by_, 'change_task.planner_added',
        jsonb_build_object('change_task_id', task.id, 'planner_entry_id', entry,
                           'effective_date', r.effective_date));
END $$;

-- The account's status, set by the change task at once.
CREATE FUNCTION pg_temp.set_status(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    c clients;
    status_ text;
    budget bigint;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    SELECT * INTO c FROM clients WHERE id = r.client_id;
    status_ := CASE r.kind WHEN 'pause' THEN 'paused' WHEN 'addendum' THEN 'active'
                           ELSE CASE WHEN r.cancel_scope = 'leave_platform' THEN 'left_platform'
                                     ELSE 'cancelled_dms' END END;
    budget := CASE WHEN status_ = 'active' THEN COALESCE(r.new_budget_cents, c.monthly_budget_cents)
                   ELSE c.monthly_budget_cents END;
    UPDATE clients SET status = status_, monthly_budget_cents = budget, version = version + 1
     WHERE id = c.id;
    INSERT INTO client_status_history (client_id, status, monthly_budget_cents, changed_by,
                                       change_request_id, note, at, effective_date)
    VALUES (c.id, status_, budget, by_, req, format('Change request #%s', req), at,
            r.effective_date);
    UPDATE change_tasks
       SET status_updated_by = by_, status_updated_at = at, status_before = c.status,
           budget_before_cents = c.monthly_budget_cents
     WHERE change_request_id = req;
    PERFORM pg_temp.log(req, at, by_, 'change_task.status_updated',
        jsonb_build_object('change_task_id', (SELECT id FROM change_tasks
                                               WHERE change_request_id = req),
                           'client_id', c.id, 'from', c.status, 'to', status_,
                           'budget_cents', jsonb_build_object('from', c.monthly_budget_cents,
                                                              'to', budget),
                           'effective_date', r.effective_date));
END $$;

CREATE FUNCTION pg_temp.task_done(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE change_tasks SET done_by = by_, done_at = at WHERE change_request_id = req;
    PERFORM pg_temp.log(req, at, by_, 'change_task.done',
        jsonb_build_object('change_task_id', (SELECT id FROM change_tasks
                                               WHERE change_request_id = req)));
    PERFORM pg_temp.complete_if_ready(req, by_, at);
END $$;

CREATE FUNCTION pg_temp.ads_paused(req bigint, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sem_tasks SET done_at = at, done_by = by_ WHERE change_request_id = req;
    PERFORM pg_temp.log(req, at, by_, 'sem_task.done',
        jsonb_build_object('sem_task_id', (SELECT id FROM sem_tasks WHERE change_request_id = req),
                           'note', ''));
    PERFORM pg_temp.complete_if_ready(req, by_, at);
END $$;

-- Ticks the request's open item titled `title` (the first such).
CREATE FUNCTION pg_temp.tick(req bigint, title_ text, by_ bigint, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    item checklist_items;
BEGIN
    SELECT * INTO item FROM checklist_items
     WHERE change_request_id = req AND title = title_ AND done_at IS NULL
     ORDER BY position LIMIT 1;
    IF item.id IS NULL THEN
        RAISE EXCEPTION 'no open item % on request %', title_, req;
    END IF;
    UPDATE checklist_items SET done_at = at, done_by = by_ WHERE id = item.id;
    PERFORM pg_temp.log(req, at, by_, 'checklist.ticked',
        jsonb_build_object('item_id', item.id, 'title', item.title, 'note', ''));
    PERFORM pg_temp.complete_if_ready(req, by_, at);
END $$;

-- The account manager asks the client's SEM specialist; the answer, when there is one.
CREATE FUNCTION pg_temp.ask(req bigint, at timestamptz, question_ text) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    c clients;
    id_ bigint;
BEGIN
    SELECT cl.* INTO c FROM clients cl JOIN change_requests r ON r.client_id = cl.id
     WHERE r.id = req;
    INSERT INTO request_questions (change_request_id, asked_by, asked_to, question, asked_at)
    VALUES (req, c.account_manager_id, c.sem_specialist_id, question_, at)
    RETURNING id INTO id_;
    PERFORM pg_temp.log(req, at, c.account_manager_id, 'change_request.question_asked',
        jsonb_build_object('question_id', id_, 'asked_to', c.sem_specialist_id));
    PERFORM pg_temp.mail('change_request.question', ARRAY[pg_temp.email(c.sem_specialist_id)],
        format('%s: a question from %s', c.name, pg_temp.name(c.account_manager_id)),
        question_, req, at);
    RETURN id_;
END $$;

CREATE FUNCTION pg_temp.answer(q bigint, at timestamptz, answer_ text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    qu request_questions;
BEGIN
    SELECT * INTO qu FROM request_questions WHERE id = q;
    UPDATE request_questions SET answer = answer_, answered_by = qu.asked_to, answered_at = at
     WHERE id = q;
    PERFORM pg_temp.log(qu.change_request_id, at, qu.asked_to, 'change_request.question_answered',
        jsonb_build_object('question_id', q));
    PERFORM pg_temp.mail('change_request.answer', ARRAY[pg_temp.email(qu.asked_by)],
        format('%s: %s answered your question', pg_temp.client_name(qu.change_request_id),
               pg_temp.name(qu.asked_to)),
        answer_, qu.change_request_id, at);
END $$;

-- A comment on an escalated request, told to the other side.
CREATE FUNCTION pg_temp.comment(req bigint, by_ bigint, at timestamptz, body_ text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    r change_requests;
    am bigint;
BEGIN
    SELECT * INTO r FROM change_requests WHERE id = req;
    SELECT account_manager_id INTO am FROM clients WHERE id = r.client_id;
    INSERT INTO request_comments (change_request_id, author, body, at) VALUES (req, by_, body_, at);
    PERFORM pg_temp.log(req, at, by_, 'change_request.commented',
                        jsonb_build_object('comment', body_));
    PERFORM pg_temp.mail('change_request.comment',
        ARRAY[pg_temp.email(CASE WHEN by_ = r.escalated_to THEN am ELSE r.escalated_to END)],
        format('%s: %s commented on the %s', pg_temp.client_name(req), pg_temp.name(by_),
               lower(pg_temp.label_of(r.kind, r.reverses_id))),
        body_, req, at);
END $$;

-- A reinstatement: a new request undoing an approved pause or cancellation
-- (src/operations/reinstate.rs), filed as a draft.
CREATE FUNCTION pg_temp.reinstate(orig bigint, at timestamptz, why text) RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    o change_requests;
    am bigint;
    id_ bigint;
BEGIN
    SELECT * INTO o FROM change_requests WHERE id = orig;
    SELECT account_manager_id INTO am FROM clients WHERE id = o.client_id;
    INSERT INTO change_requests (
        client_id, kind, cancel_scope, effective_date, resume_date, current_budget_cents,
        new_budget_cents, reason_id, reason_text, product_notes, escalation, state, filed_by,
        created_at, updated_at, state_changed_at, filed_budget_cents, reverses_id)
    VALUES (o.client_id, o.kind, o.cancel_scope, o.effective_date, o.resume_date,
            o.current_budget_cents, o.new_budget_cents, o.reason_id, why,
            format('Reinstate the client: undo request #%s (%s).', orig,
                   lower(pg_temp.kind_label(o.kind))),
            'none', 'draft', am, at, at, at,
            (SELECT monthly_budget_cents FROM clients WHERE id = o.client_id), orig)
    RETURNING id INTO id_;
    PERFORM pg_temp.log(id_, at, am, 'change_request.filed',
        jsonb_build_object('client_id', o.client_id, 'kind', o.kind, 'reverses', orig,
                           'state', 'draft'));
    PERFORM pg_temp.log(orig, at, am, 'change_request.reinstatement_filed',
        jsonb_build_object('reversal_id', id_, 'reason', why));
    RETURN id_;
END $$;

-- Nudges that came due before today ran, as the worker would have run them
-- (src/approvals/nudges.rs): each still waiting step nudged, the next nudge scheduled.
CREATE FUNCTION pg_temp.run_due_nudges() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j scheduled_jobs;
    s request_approvals;
    r change_requests;
    n int;
    waited int;
BEGIN
    LOOP
        SELECT * INTO j FROM scheduled_jobs
         WHERE kind = 'approval_nudge' AND state = 'pending' AND run_at <= now()
         ORDER BY run_at, id LIMIT 1;
        EXIT WHEN j.id IS NULL;
        SELECT * INTO s FROM request_approvals WHERE id = (j.payload ->> 'step_id')::bigint;
        IF s.state = 'pending' THEN
            SELECT * INTO r FROM change_requests WHERE id = s.change_request_id;
            n := (j.payload ->> 'n')::int;
            SELECT count(*) INTO waited
              FROM generate_series((s.reached_at AT TIME ZONE pg_temp.agency_zone())::date + 1,
                                   (j.run_at AT TIME ZONE pg_temp.agency_zone())::date,
                                   interval '1 day') x
             WHERE extract(isodow FROM x) < 6;
            PERFORM pg_temp.mail('change_request.approval_nudge', pg_temp.step_to(s),
                format('%s: still waiting for your approval (%s business days)',
                       pg_temp.client_name(r.id), waited),
                format('%s has waited %s business days for you.', s.name, waited), r.id, j.run_at);
            UPDATE request_approvals SET nudged_at = j.run_at WHERE id = s.id;
            PERFORM pg_temp.job(format('approval-nudge:%s:%s', s.id, n + 1), 'approval_nudge',
                jsonb_build_object('step_id', s.id, 'n', n + 1), pg_temp.due_after(j.run_at, 2),
                j.run_at);
        END IF;
        UPDATE scheduled_jobs SET state = 'done', done_at = j.run_at, attempts = 1 WHERE id = j.id;
    END LOOP;
END $$;

-- Overdue notices that came due before today went out, one a day at 9 a.m. for each item still
-- open (src/checklists/overdue.rs), the next one scheduled.
CREATE FUNCTION pg_temp.run_due_overdue_notices() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    j scheduled_jobs;
    i checklist_items;
    r change_requests;
    n int;
    day_ date;
BEGIN
    LOOP
        SELECT * INTO j FROM scheduled_jobs
         WHERE kind = 'checklist_overdue' AND state = 'pending' AND run_at <= now()
         ORDER BY run_at, id LIMIT 1;
        EXIT WHEN j.id IS NULL;
        SELECT * INTO i FROM checklist_items WHERE id = (j.payload ->> 'item_id')::bigint;
        SELECT * INTO r FROM change_requests WHERE id = i.change_request_id;
        day_ := (j.run_at AT TIME ZONE pg_temp.agency_zone())::date;
        IF i.done_at IS NULL AND i.cancelled_at IS NULL AND r.state = 'approved'
           AND day_ > i.due_on THEN
            n := (j.payload ->> 'n')::int;
            PERFORM pg_temp.mail('checklist.overdue',
                CASE WHEN i.owner_role = 'sem_specialist' AND i.assignee IS NOT NULL
                     THEN ARRAY[pg_temp.email(i.assignee)] ELSE pg_temp.holders(i.owner_role) END,
                format('%s: overdue offboarding item', pg_temp.client_name(r.id)),
                format('%s was due %s.', i.title, pg_temp.day_text(i.due_on)), r.id, j.run_at);
            PERFORM pg_temp.job(format('checklist-overdue:%s:%s:%s', i.id, j.payload ->> 'series',
                                       n + 1),
                'checklist_overdue',
                jsonb_build_object('item_id', i.id, 'series', j.payload ->> 'series', 'n', n + 1),
                pg_temp.at_local(day_ + 1, '09:00'), j.run_at);
        END IF;
        UPDATE scheduled_jobs SET state = 'done', done_at = j.run_at, attempts = 1 WHERE id = j.id;
    END LOOP;
END $$;

DO $$
DECLARE
    today date := pg_temp.today();
    am1 bigint := pg_temp.u('am@demo.test');
    am2 bigint := pg_temp.u('am2@demo.test');
    amy bigint := pg_temp.u('retention@demo.test');
    anglee bigint := pg_temp.u('retention2@demo.test');
    lead bigint := pg_temp.u('teamlead@demo.test');
    manager bigint := pg_temp.u('manager@demo.test');
    jeremy bigint := pg_temp.u('approver1@demo.test');
    dustin bigint := pg_temp.u('approver2@demo.test');
    accounting bigint := pg_temp.u('accounting@demo.test');
    ops bigint := pg_temp.u('ops@demo.test');
    sem1 bigint := pg_temp.u('sem@demo.test');
    sem2 bigint := pg_temp.u('sem2@demo.test');
    contractor bigint := pg_temp.u('contractor@demo.test');
    c bigint;
    r bigint;
    q bigint;
    eff date;
BEGIN
    -- A draft the account manager is still writing.
    c := pg_temp.client('Lone Star RV Outlet', 'CRM-30101', 'am@demo.test', 'sem@demo.test',
                        310000, '{google_ads,facebook}');
    PERFORM pg_temp.file(c, 'cancellation', 'services_only', today + 30, NULL, 2,
        'Leads dropped after the model-year change; the GM wants to stop at the end of next month.',
        'none', NULL, pg_temp.ago('35 minutes'));

    -- With Retention, waiting for the call.
    c := pg_temp.client('Great Lakes Marine Center', 'CRM-30102', 'am2@demo.test',
                        'sem2@demo.test', 265000, '{google_ads,microsoft_ads}');
    PERFORM pg_temp.file(c, 'cancellation', 'services_only', today + 21, NULL, 3,
        'They signed with a local agency that also runs their social media.',
        'retention', NULL, pg_temp.bd(1, '15:20'));

    -- Retention saved it at a lower budget; the signed addendum is attached: ready to submit.
    c := pg_temp.client('Magnolia Powersports', 'CRM-30103', 'am@demo.test', 'sem@demo.test',
                        380000, '{google_ads,facebook}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 25, NULL, 1,
        'The owner is cutting every marketing line item this quarter.',
        'retention', NULL, pg_temp.bd(3, '10:05'));
    PERFORM pg_temp.record_call(r, amy, pg_temp.bd(2, '14:30'), 'saved_budget_change',
        'Keep search running at $2,400 a month and drop display',
        'The owner agreed once we showed search brings most of their leads.', 240000);
    PERFORM pg_temp.attach(r, amy, pg_temp.bd(1, '11:10'));

    -- Retention could not save it: ready to submit.
    c := pg_temp.client('Copper Canyon Trailers', 'CRM-30104', 'am2@demo.test', 'sem@demo.test',
                        140000, '{google_ads}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 14, NULL, 4,
        'They hired a marketing coordinator and will run the ads themselves.',
        'retention', NULL, pg_temp.bd(2, '09:40'));
    PERFORM pg_temp.record_call(r, anglee, pg_temp.bd(1, '16:15'), 'not_saved',
        'Three months of setup help for their new coordinator',
        'They thanked us, but the decision was made by the owner.');

    -- Submitted this morning: the first approver's turn, and a question for the SEM specialist.
    c := pg_temp.client('Evergreen Tractor Supply', 'CRM-30105', 'am@demo.test',
                        'sem2@demo.test', 225000, '{google_ads,fluency}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 28, NULL, 6,
        'Winter is their slow season and they want to stop until spring, then decide.',
        'none', NULL, pg_temp.bd(1, '13:00'));
    PERFORM pg_temp.submit(r, am1, pg_temp.ago('2 hours'));
    PERFORM pg_temp.ask(r, pg_temp.ago('90 minutes'),
        'Is the Fluency account on an annual contract? The GM asked whether it can stop with the ads.');

    -- The second approver's turn, waiting past the nudge.
    c := pg_temp.client('Sandhills Golf Cars', 'CRM-30106', 'am2@demo.test', 'sem@demo.test',
                        90000, '{google_ads,facebook}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 18, NULL, 1,
        'Budget moved to a new showroom opening in the spring.',
        'none', NULL, pg_temp.bd(5, '10:30'));
    PERFORM pg_temp.submit(r, am2, pg_temp.bd(5, '11:00'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(4, '09:15'));

    -- Both approvers agreed to a credit: Finance's turn.
    c := pg_temp.client('Crescent City Boats', 'CRM-30107', 'am@demo.test', 'sem2@demo.test',
                        415000, '{google_ads,microsoft_ads,facebook}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 20, NULL, 2,
        'Unhappy since the inventory feed broke in October.', 'none', NULL,
        pg_temp.bd(3, '10:00'), NULL, 45000,
        'Two weeks of October ads ran at half delivery after the feed outage.');
    PERFORM pg_temp.submit(r, am1, pg_temp.bd(3, '10:20'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(2, '15:45'),
                            'Credit checked against the delivery report.');
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(1, '10:30'));

    -- Sent back by the second approver: the account manager's to fix.
    c := pg_temp.client('Badlands Off-Road', 'CRM-30108', 'am2@demo.test', 'sem2@demo.test',
                        175000, '{google_ads}');
    r := pg_temp.file(c, 'pause', NULL, today + 10, today + 70, 6,
        'They close the lot for January and February.', 'none', NULL, pg_temp.bd(4, '09:00'));
    PERFORM pg_temp.submit(r, am2, pg_temp.bd(4, '09:30'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(3, '11:00'));
    PERFORM pg_temp.send_back(r, dustin, pg_temp.bd(2, '16:40'),
        'The pause starts before the 30-day notice in the contract ends: move the date or attach the GM''s waiver.');

    -- Escalated to a team lead, with the account manager's note.
    c := pg_temp.client('Pinecrest Camper Sales', 'CRM-30109', 'am@demo.test', 'sem@demo.test',
                        295000, '{google_ads,microsoft_ads}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 45, NULL, 3,
        'Another agency offered the same work for less.', 'team_lead', lead,
        pg_temp.bd(1, '10:45'));
    PERFORM pg_temp.comment(r, am1, pg_temp.bd(1, '10:50'),
        'Their proposal is about 15% under our fee. Can we match part of it before this goes on?');

    -- Escalated to the department manager, who answered; the account manager replied.
    c := pg_temp.client('Silver Lake Marine', 'CRM-30110', 'am2@demo.test', 'sem2@demo.test',
                        520000, '{google_ads,microsoft_ads,facebook,fluency}');
    r := pg_temp.file(c, 'cancellation', 'leave_platform', today + 40, NULL, 5,
        'The dealership is being sold to a regional group.', 'department_manager', manager,
        pg_temp.bd(2, '14:00'));
    PERFORM pg_temp.comment(r, manager, pg_temp.bd(1, '09:20'),
        'I know the buyer group. Hold this until I have called them on Thursday.');
    PERFORM pg_temp.comment(r, am2, pg_temp.bd(1, '11:05'),
        'Thanks: I told the GM we will confirm after your call.');

    -- Approved yesterday: Accounting to process, the Ops Lead to forward, the checklist open.
    c := pg_temp.client('Frontier Equipment Rental', 'CRM-30111', 'am@demo.test',
                        'sem@demo.test', 205000, '{google_ads,facebook}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 14, NULL, 2,
        'Rental demand is down and they are cutting costs.', 'none', NULL,
        pg_temp.bd(3, '09:50'));
    PERFORM pg_temp.submit(r, am1, pg_temp.bd(3, '10:10'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(2, '10:00'));
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(1, '14:20'));

    -- A pause approved and forwarded, on the planner: the SEM specialist pauses the ads.
    c := pg_temp.client('Riverbend RV Sales', 'CRM-30112', 'am2@demo.test', 'sem@demo.test',
                        330000, '{google_ads,microsoft_ads}');
    r := pg_temp.file(c, 'pause', NULL, today + 5, today + 65, 7,
        'No new inventory until the spring shipments arrive.', 'none', NULL,
        pg_temp.bd(6, '11:20'));
    PERFORM pg_temp.submit(r, am2, pg_temp.bd(6, '11:40'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(5, '09:30'));
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(4, '15:10'));
    PERFORM pg_temp.process(r, accounting, pg_temp.bd(3, '10:00'), 'Billing paused from the effective date.');
    PERFORM pg_temp.forward(r, ops, sem1, pg_temp.bd(3, '11:30'));
    PERFORM pg_temp.plan(r, ops, pg_temp.bd(3, '11:35'));

    -- Leaving the platform since the last business day: the checklist partly done, some late.
    eff := pg_temp.add_bdays(today, -1);
    c := pg_temp.client('Harborview Yacht Sales', 'CRM-30113', 'am@demo.test', 'sem2@demo.test',
                        460000, '{google_ads,microsoft_ads,fluency}');
    r := pg_temp.file(c, 'cancellation', 'leave_platform', eff, NULL, 3,
        'Their new owners use a national agency for every store.', 'retention', NULL,
        pg_temp.bd(12, '10:00'));
    PERFORM pg_temp.record_call(r, amy, pg_temp.bd(11, '15:00'), 'not_saved',
        'A month free while they settle in',
        'The new owners have a contract with their agency for all stores.');
    PERFORM pg_temp.submit(r, amy, pg_temp.bd(11, '15:30'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(10, '09:45'));
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(10, '14:00'));
    PERFORM pg_temp.process(r, accounting, pg_temp.bd(9, '10:30'), 'Final invoice on the effective date.');
    PERFORM pg_temp.forward(r, ops, sem2, pg_temp.bd(9, '11:00'));
    PERFORM pg_temp.plan(r, ops, pg_temp.bd(9, '11:05'));
    PERFORM pg_temp.ads_paused(r, sem2, pg_temp.bd(1, '09:40'));
    PERFORM pg_temp.tick(r, 'Google Ads: pause campaigns, set budgets to $0.01, remove scripts, hide the account',
                         sem2, pg_temp.bd(1, '09:45'));
    PERFORM pg_temp.tick(r, 'Disable all scripts in Google Ads', sem2, pg_temp.bd(1, '09:50'));
    PERFORM pg_temp.tick(r, 'Remove the client from the Client Tracker', ops, pg_temp.bd(1, '10:00'));
    PERFORM pg_temp.tick(r, 'Update the DigMS Offboarding Sheet', ops, pg_temp.bd(1, '10:05'));
    PERFORM pg_temp.tick(r, 'Remove from the SEM QA Trello board', contractor, pg_temp.bd(1, '13:00'));
    PERFORM pg_temp.tick(r, 'Remove from NinjaCat', contractor, pg_temp.bd(1, '13:20'));
    PERFORM pg_temp.tick(r, 'Remove from Google Ads', contractor, pg_temp.bd(1, '13:40'));
    PERFORM pg_temp.tick(r, 'Verify: Remove from the SEM QA Trello board', sem2, pg_temp.bd(1, '15:00'));
    PERFORM pg_temp.tick(r, 'Verify: Remove from NinjaCat', sem2, pg_temp.bd(1, '15:05'));
    PERFORM pg_temp.set_status(r, ops, pg_temp.bd(1, '16:00'));
    PERFORM pg_temp.task_done(r, ops, pg_temp.bd(1, '16:02'));

    -- Saved by Retention, approved and processed; a question asked and answered on the way.
    c := pg_temp.client('Mesa Ridge Motorsports', 'CRM-30114', 'am2@demo.test', 'sem@demo.test',
                        185000, '{google_ads,facebook}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 35, NULL, 1,
        'Floor-plan costs went up and marketing is the first cut.', 'retention', NULL,
        pg_temp.bd(5, '09:10'));
    PERFORM pg_temp.record_call(r, anglee, pg_temp.bd(4, '13:30'), 'not_saved',
        'A lower budget focused on used inventory',
        'They will come back to us when rates drop, they said.');
    q := pg_temp.ask(r, pg_temp.bd(4, '14:00'),
        'Does the client own the Google Ads account, or do we transfer it?');
    PERFORM pg_temp.answer(q, pg_temp.bd(4, '16:20'),
        'It is in our MCC under their own billing: it stays theirs, we only unlink it.');
    PERFORM pg_temp.submit(r, anglee, pg_temp.bd(3, '09:20'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(3, '13:00'));
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(2, '10:10'));
    PERFORM pg_temp.process(r, accounting, pg_temp.bd(1, '09:30'), 'Last invoice at month end.');
    PERFORM pg_temp.forward(r, ops, sem1, pg_temp.bd(1, '10:00'));
    PERFORM pg_temp.plan(r, ops, pg_temp.bd(1, '10:05'));

    -- A budget cut, signed, approved and done.
    c := pg_temp.client('Prairie Wind Boats', 'CRM-30115', 'am@demo.test', 'sem2@demo.test',
                        250000, '{google_ads}');
    r := pg_temp.file(c, 'addendum', NULL, pg_temp.add_bdays(today, -2), NULL, 1,
        'Off-season: they asked for a smaller budget until March.', 'none', NULL,
        pg_temp.bd(9, '10:00'), 150000);
    PERFORM pg_temp.attach(r, am1, pg_temp.bd(9, '10:30'));
    PERFORM pg_temp.submit(r, am1, pg_temp.bd(9, '10:40'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(8, '11:00'));
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(7, '09:30'));
    PERFORM pg_temp.process(r, accounting, pg_temp.bd(6, '14:00'), 'New budget billed from the effective date.');
    PERFORM pg_temp.forward(r, ops, sem2, pg_temp.bd(6, '15:00'));
    PERFORM pg_temp.set_status(r, ops, pg_temp.bd(2, '09:00'));
    PERFORM pg_temp.task_done(r, ops, pg_temp.bd(2, '09:05'));

    -- Saved by Retention with no change: withdrawn.
    c := pg_temp.client('Cedar Creek Outdoors', 'CRM-30116', 'am2@demo.test', 'sem@demo.test',
                        160000, '{google_ads,facebook}');
    r := pg_temp.file(c, 'cancellation', 'services_only', today + 20, NULL, 2,
        'They feel the leads are not what they used to be.', 'retention', NULL,
        pg_temp.bd(3, '11:00'));
    PERFORM pg_temp.record_call(r, amy, pg_temp.bd(2, '10:15'), 'saved_no_change',
        'A review of their campaigns with the SEM team and a lead-quality report each month',
        'The GM stays: he wanted to be heard more than anything.');

    -- A pause approved last week, and the client changed its mind: its reinstatement waits on
    -- the first approver.
    c := pg_temp.client('Willow Bend Marine', 'CRM-30117', 'am@demo.test', 'sem@demo.test',
                        280000, '{google_ads,microsoft_ads}');
    r := pg_temp.file(c, 'pause', NULL, today + 9, today + 40, 7,
        'Boats on order are late; nothing to sell until they arrive.', 'none', NULL,
        pg_temp.bd(8, '10:00'));
    PERFORM pg_temp.submit(r, am1, pg_temp.bd(8, '10:15'));
    PERFORM pg_temp.approve(r, jeremy, pg_temp.bd(7, '14:00'));
    PERFORM pg_temp.approve(r, dustin, pg_temp.bd(6, '09:45'));
    PERFORM pg_temp.process(r, accounting, pg_temp.bd(5, '11:00'), 'Billing paused from the effective date.');
    PERFORM pg_temp.forward(r, ops, sem1, pg_temp.bd(5, '13:00'));
    PERFORM pg_temp.plan(r, ops, pg_temp.bd(5, '13:05'));
    r := pg_temp.reinstate(r, pg_temp.bd(1, '15:30'),
        'The boats arrived early: the GM wants the ads to keep running.');
    PERFORM pg_temp.submit(r, am1, pg_temp.ago('3 hours'));

    -- An account manager who left this week: the draft they began waits on nobody who can act,
    -- so it is on the admin's desk until the client is handed to someone else.
    INSERT INTO users (email, display_name, password_hash, roles, disabled_at, created_at)
    SELECT 'jordan.lee@demo.test', 'Jordan Lee', password_hash, '{account_manager}',
           pg_temp.bd(2, '17:30'), now() - interval '2 years'
      FROM users WHERE id = am1;
    INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id, details)
    SELECT pg_temp.bd(2, '17:30'), pg_temp.u('admin@demo.test'), 'admin@demo.test',
           'user.disabled', 'user', pg_temp.u('jordan.lee@demo.test')::text,
           '{"sessions_ended": 1}';
    c := pg_temp.client('Gulf Breeze Powersports', 'CRM-30118', 'jordan.lee@demo.test',
                        'sem2@demo.test', 230000, '{google_ads,facebook}');
    PERFORM pg_temp.file(c, 'cancellation', 'services_only', today + 30, NULL, 2,
        'Asked to cancel on the call; details to follow.', 'none', NULL, pg_temp.bd(3, '16:10'));

    PERFORM pg_temp.run_due_nudges();
    PERFORM pg_temp.run_due_overdue_notices();
END $$;

-- The records and the mail, in the order they happened.
INSERT INTO audit_events (at, actor_id, actor_label, action, entity_type, entity_id, details)
SELECT e.at, e.actor, COALESCE(u.email, 'system'), e.action, 'change_request', e.req::text,
       e.details
  FROM demo_events e LEFT JOIN users u ON u.id = e.actor
 ORDER BY e.at, e.seq;

INSERT INTO outbox_messages (kind, to_addrs, subject, body_text, body_html, message_id, state,
                             attempts, next_attempt_at, related_type, related_id, created_at,
                             sent_at)
SELECT m.kind, m.to_addrs, m.subject, m.body, '<p>' || m.body || '</p>',
       format('<demo-%s@offboarding-desk.demo>', replace(gen_random_uuid()::text, '-', '')),
       'sent', 1, m.at, 'change_request', m.req::text, m.at,
       LEAST(m.at + interval '20 seconds', now())
  FROM demo_mail m
 ORDER BY m.at, m.seq;
