//! The invariants the stored records alone decide, shared by the model test
//! (`tests/it/model`), the backup test and the restore drill: one open request per client,
//! steps that agree with their request, nobody deciding twice or their own, one fact in one
//! place, and every change with its audit record and email.

#![allow(dead_code)]

use std::collections::BTreeMap;

use sqlx::PgPool;

/// The invariants the stored records alone decide (all but who has what on their desk, which
/// needs the model's people): also held by data written outside the model, such as the demo's.
pub async fn check_records(db: &PgPool) -> Result<(), String> {
    let found = findings(db).await;
    if found.is_empty() {
        Ok(())
    } else {
        Err(found
            .iter()
            .map(|(what, rows)| format!("{what}: {}", rows.join("; ")))
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// Each invariant that does not hold, with the records that break it (empty when all hold).
pub async fn findings(db: &PgPool) -> BTreeMap<String, Vec<String>> {
    let mut f = Findings::default();
    one_open_request_per_client(db, &mut f).await;
    steps_agree_with_the_request(db, &mut f).await;
    nobody_decides_twice_or_their_own(db, &mut f).await;
    one_fact_one_value(db, &mut f).await;
    changes_carry_their_audit_and_mail(db, &mut f).await;
    desks_are_what_waits(db, &mut f).await;
    f.0
}

async fn rows(db: &PgPool, sql: &'static str) -> Vec<String> {
    sqlx::query_scalar(sql).fetch_all(db).await.unwrap()
}

#[derive(Default)]
struct Findings(BTreeMap<String, Vec<String>>);

impl Findings {
    /// Notes `found` as breaking `what`, unless there is none.
    fn none(&mut self, what: &str, found: Vec<String>) {
        if !found.is_empty() {
            self.0.insert(what.to_string(), found);
        }
    }
}

async fn one_open_request_per_client(db: &PgPool, f: &mut Findings) {
    f.none(
        "a client has two open requests",
        rows(
            db,
            "SELECT client_id::text FROM change_requests
              WHERE state IN ('draft', 'with_retention', 'in_approval', 'changes_requested')
              GROUP BY client_id HAVING count(*) > 1",
        )
        .await,
    );
}

async fn steps_agree_with_the_request(db: &PgPool, f: &mut Findings) {
    f.none(
        "a request in approval has not exactly one step waiting in its round",
        rows(
            db,
            "SELECT r.id::text FROM change_requests r
              WHERE r.state = 'in_approval'
                AND (SELECT count(*) FROM request_approvals s
                      WHERE s.change_request_id = r.id AND s.round = r.approval_round
                        AND s.state = 'pending') <> 1",
        )
        .await,
    );
    f.none(
        "a step waits on a request not in approval, or outside its current round",
        rows(
            db,
            "SELECT s.id::text FROM request_approvals s JOIN change_requests r ON r.id = s.change_request_id
              WHERE s.state IN ('pending', 'waiting')
                AND (r.state <> 'in_approval' OR s.round <> r.approval_round)",
        )
        .await,
    );
    f.none(
        "an approved or completed request has not exactly one change task",
        rows(
            db,
            "SELECT r.id::text FROM change_requests r
              WHERE (r.state IN ('approved', 'completed')
                     OR (r.state = 'withdrawn' AND r.reinstated_at IS NOT NULL))
                AND (SELECT count(*) FROM change_tasks t WHERE t.change_request_id = r.id) <> 1",
        )
        .await,
    );
    f.none(
        "a completed request has work left",
        rows(
            db,
            "SELECT r.id::text FROM change_requests r
              WHERE r.state = 'completed'
                AND (r.processed_at IS NULL
                     OR EXISTS (SELECT 1 FROM change_tasks t WHERE t.change_request_id = r.id AND t.done_at IS NULL)
                     OR EXISTS (SELECT 1 FROM sem_tasks t WHERE t.change_request_id = r.id
                                  AND t.done_at IS NULL AND t.cancelled_at IS NULL)
                     OR EXISTS (SELECT 1 FROM checklist_items i WHERE i.change_request_id = r.id
                                  AND i.done_at IS NULL AND i.cancelled_at IS NULL))",
        )
        .await,
    );
}

async fn nobody_decides_twice_or_their_own(db: &PgPool, f: &mut Findings) {
    f.none(
        "someone decided two steps of one round",
        rows(
            db,
            "SELECT change_request_id || '/' || round || ' by ' || decided_by FROM request_approvals
              WHERE decided_by IS NOT NULL
              GROUP BY change_request_id, round, decided_by HAVING count(*) > 1",
        )
        .await,
    );
    f.none(
        "someone decided a step of a request they filed or submitted",
        rows(
            db,
            "SELECT s.id::text FROM request_approvals s JOIN change_requests r ON r.id = s.change_request_id
              WHERE s.decided_by = r.filed_by
                 OR (s.round = r.approval_round AND s.decided_by = r.submitted_by)",
        )
        .await,
    );
}

/// The work items the desks read (migration 26) are the pending steps as they stand: each with
/// its request's terms and client and who may not decide it, worked out here from the
/// clients' own account managers rather than the copy on the request.
async fn desks_are_what_waits(db: &PgPool, f: &mut Findings) {
    f.none(
        "a work item is not its pending step as it stands (step ids)",
        rows(
            db,
            "WITH expected AS (
                 SELECT s.id AS item_id, s.change_request_id AS request_id,
                        s.approver_user_id AS assignee_user_id, s.approver_role AS assignee_role,
                        s.reached_at AS since,
                        coalesce((SELECT array_agg(DISTINCT p ORDER BY p)
                                    FROM (SELECT r.filed_by UNION SELECT r.submitted_by
                                          UNION SELECT c.account_manager_id
                                          UNION SELECT o.decided_by FROM request_approvals o
                                                 WHERE o.change_request_id = s.change_request_id
                                                   AND o.round = s.round) AS x (p)
                                   WHERE p IS NOT NULL), '{}') AS barred,
                        r.client_id, r.kind AS request_kind, s.name AS title,
                        r.credit_cents, r.effective_date, r.reverses_id
                   FROM request_approvals s
                   JOIN change_requests r ON r.id = s.change_request_id
                   JOIN clients c ON c.id = r.client_id
                  WHERE s.state = 'pending'),
             kept AS (
                 SELECT item_id, request_id, assignee_user_id, assignee_role, since, barred,
                        client_id, request_kind, title, credit_cents, effective_date,
                        reverses_id
                   FROM work_items WHERE kind = 'approval_step')
             SELECT DISTINCT item_id::text
               FROM ((SELECT * FROM expected EXCEPT SELECT * FROM kept)
                     UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM expected)) AS d",
        )
        .await,
    );
}

async fn one_fact_one_value(db: &PgPool, f: &mut Findings) {
    f.none(
        "the planner disagrees with its request",
        rows(
            db,
            "SELECT p.id::text FROM planner_entries p JOIN change_requests r ON r.id = p.change_request_id
              WHERE p.removed_at IS NULL
                AND (p.effective_date <> r.effective_date
                     OR p.resume_date IS DISTINCT FROM r.resume_date OR p.kind <> r.kind
                     OR p.client_id <> r.client_id)",
        )
        .await,
    );
    f.none(
        "the planner's account manager is not the client's, or its specialist not the one the change task went to",
        rows(
            db,
            "SELECT p.id::text FROM planner_entries p
               JOIN clients c ON c.id = p.client_id
               LEFT JOIN change_tasks t ON t.change_request_id = p.change_request_id
              WHERE p.removed_at IS NULL
                AND (p.account_manager_id IS DISTINCT FROM c.account_manager_id
                     OR (t.forwarded_to IS NOT NULL AND p.sem_specialist_id <> t.forwarded_to))",
        )
        .await,
    );
    f.none(
        "an open SEM item is not with the specialist the change task went to",
        rows(
            db,
            "SELECT i.id::text FROM checklist_items i
               JOIN change_tasks t ON t.change_request_id = i.change_request_id
              WHERE i.owner_role = 'sem_specialist' AND i.done_at IS NULL AND i.cancelled_at IS NULL
                AND t.forwarded_to IS NOT NULL AND i.assignee IS DISTINCT FROM t.forwarded_to",
        )
        .await,
    );
    f.none(
        "an open pause task is not due on its request's date",
        rows(
            db,
            "SELECT t.id::text FROM sem_tasks t JOIN change_requests r ON r.id = t.change_request_id
              WHERE t.done_at IS NULL AND t.cancelled_at IS NULL AND t.due_on <> r.effective_date",
        )
        .await,
    );
    f.none(
        "an open checklist item is not due at its distance from the request's date",
        rows(
            db,
            "SELECT i.id::text FROM checklist_items i JOIN change_requests r ON r.id = i.change_request_id
              WHERE i.done_at IS NULL AND i.cancelled_at IS NULL
                AND i.due_on <> r.effective_date + i.due_offset_days",
        )
        .await,
    );
    f.none(
        "a pending reminder is for another date than its request's",
        rows(
            db,
            "SELECT j.key FROM scheduled_jobs j
               JOIN planner_entries p ON p.id = (j.payload->>'entry_id')::bigint
               JOIN change_requests r ON r.id = p.change_request_id
              WHERE j.kind = 'effective_date_reminder' AND j.state = 'pending'
                AND p.removed_at IS NULL AND j.payload->>'effective_date' <> r.effective_date::text",
        )
        .await,
    );
    f.none(
        "the client's history disagrees with the request it names",
        rows(
            db,
            "SELECT h.id::text FROM client_status_history h JOIN change_requests r ON r.id = h.change_request_id
              WHERE h.effective_date IS NOT NULL AND h.effective_date <> r.effective_date",
        )
        .await,
    );
    f.none(
        "a client's status or budget disagrees with its latest history",
        rows(
            db,
            "SELECT c.id::text FROM clients c
               JOIN LATERAL (SELECT status, monthly_budget_cents FROM client_status_history h
                              WHERE h.client_id = c.id ORDER BY h.id DESC LIMIT 1) h ON true
              WHERE h.status <> c.status OR h.monthly_budget_cents <> c.monthly_budget_cents",
        )
        .await,
    );
    f.none(
        "an open reinstatement is for another date than the request it undoes",
        rows(
            db,
            "SELECT v.id::text FROM change_requests v JOIN change_requests r ON r.id = v.reverses_id
              WHERE v.state IN ('draft', 'with_retention', 'in_approval', 'changes_requested')
                AND v.effective_date <> r.effective_date",
        )
        .await,
    );
    f.none(
        "a request submitted without Retention's call, or an addendum without a current signed document",
        rows(
            db,
            "SELECT r.id::text FROM change_requests r
              WHERE r.state = 'in_approval'
                AND ((EXISTS (SELECT 1 FROM save_attempts s WHERE s.change_request_id = r.id
                                AND s.outcome IS NULL))
                     OR (r.kind = 'addendum' AND NOT EXISTS (
                           SELECT 1 FROM request_attachments a
                            WHERE a.change_request_id = r.id AND a.superseded_at IS NULL)))",
        )
        .await,
    );
}

async fn changes_carry_their_audit_and_mail(db: &PgPool, f: &mut Findings) {
    // Rows written by one transaction share its id (xmin): each transition's audit record and
    // the email it must send were committed together.
    f.none(
        "a transition without the email it sends, in its own transaction",
        rows(
            db,
            "SELECT a.action || ' on ' || a.entity_id FROM audit_events a
              WHERE a.action IN ('change_request.submitted', 'change_request.approved',
                                 'change_request.sent_back')
                AND NOT EXISTS (
                      SELECT 1 FROM outbox_messages o
                       WHERE o.xmin = a.xmin AND o.related_id = a.entity_id
                         AND o.kind IN ('change_request.approval_needed',
                                        'change_request.step_flagged',
                                        'change_request.approved',
                                        'change_request.sent_back'))",
        )
        .await,
    );
    f.none(
        "a request whose state changed with no audit record of it",
        rows(
            db,
            "SELECT r.id::text FROM change_requests r
              WHERE r.state <> 'draft'
                AND NOT EXISTS (SELECT 1 FROM audit_events a
                                 WHERE a.entity_type = 'change_request' AND a.entity_id = r.id::text
                                   AND a.xmin = r.xmin)
                AND NOT EXISTS (SELECT 1 FROM audit_events a
                                 WHERE a.entity_type = 'change_request'
                                   AND a.entity_id IN (SELECT v.id::text FROM change_requests v
                                                        WHERE v.reverses_id = r.id
                                                           OR v.id = r.reverses_id)
                                   AND a.xmin = r.xmin)
                AND NOT EXISTS (SELECT 1 FROM audit_events a
                                 WHERE a.entity_type IN ('client', 'client_import') AND a.xmin = r.xmin)",
        )
        .await,
    );
}
