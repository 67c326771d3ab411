//! Migrations that repair what earlier code left behind, run on a database holding that data.

use offboarding_desk::db::{self, MIGRATOR};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

use crate::support::db::blank_database;

/// The version that made each date one fact and flags steps nobody can decide.
const ONE_FACT: i64 = 20261201000018;

#[tokio::test]
async fn the_one_fact_migration_repairs_moved_dates_and_flags_dead_ends_left_by_earlier_code() {
    let url = blank_database().await;
    let pool = PgPool::connect_with(db::connect_options(&url).unwrap())
        .await
        .unwrap();
    let before = Migrator::with_migrations(
        MIGRATOR
            .iter()
            .filter(|m| m.version < ONE_FACT)
            .cloned()
            .collect(),
    );
    before.run(&pool).await.unwrap();
    // What the earlier code could leave: a pause moved on the planner from the 13th to the
    // 27th with the request still on the 13th, its checklist-less pause task moved too; and a
    // step whose approver decided the step before it for someone they stood in for.
    sqlx::raw_sql(
        "INSERT INTO users (id, email, display_name, password_hash, roles) OVERRIDING SYSTEM VALUE VALUES
            (1, 'am@x.test', 'AM', 'x', '{account_manager}'),
            (2, 'jeremy@x.test', 'Jeremy', 'x', '{approver}'),
            (3, 'dustin@x.test', 'Dustin', 'x', '{approver}'),
            (4, 'ops@x.test', 'Ops', 'x', '{ops_lead}');
         INSERT INTO clients (id, name, crm_account_id, account_manager_id, monthly_budget_cents)
            OVERRIDING SYSTEM VALUE VALUES (1, 'Paused RV', 'C1', 1, 100000), (2, 'Stuck RV', 'C2', 1, 100000),
                                           (3, 'Cancelled RV', 'C3', 1, 100000);
         INSERT INTO change_requests (id, client_id, kind, cancel_scope, effective_date, resume_date,
                                      reason_id, escalation, state, filed_by, approval_round)
            OVERRIDING SYSTEM VALUE VALUES
            (1, 1, 'pause', NULL, '2026-12-13', '2027-01-13', 1, 'none', 'approved', 1, 1),
            (2, 2, 'cancellation', 'services_only', '2026-12-20', NULL, 1, 'none', 'in_approval', 1, 1),
            (3, 3, 'cancellation', 'services_only', '2026-12-10', NULL, 1, 'none', 'approved', 1, 1);
         INSERT INTO change_requests (id, client_id, kind, cancel_scope, effective_date, resume_date,
                                      reason_id, escalation, state, filed_by, approval_round, reverses_id)
            OVERRIDING SYSTEM VALUE VALUES
            (4, 1, 'pause', NULL, '2026-12-13', '2027-01-13', 1, 'none', 'draft', 1, 0, 1);
         INSERT INTO planner_entries (change_request_id, client_id, kind, effective_date, resume_date, added_by)
            VALUES (1, 1, 'pause', '2026-12-27', '2027-01-27', 4),
                   (3, 3, 'cancellation', '2026-12-17', NULL, 4);
         INSERT INTO checklist_items (change_request_id, position, title, owner_role, due_on)
            VALUES (3, 1, 'Remove from the tracker', 'ops_lead', '2026-12-12'),
                   (3, 2, 'Remove from Trello', 'contractor', '2026-12-10');
         INSERT INTO request_approvals (change_request_id, round, position, name, approver_user_id,
                                        state, reached_at, decided_by, on_behalf_of, decided_at)
            VALUES (2, 1, 1, 'First', 2, 'approved', now(), 3, 2, now()),
                   (2, 1, 2, 'Second', 3, 'pending', now(), NULL, NULL, NULL);",
    )
    .execute(&pool)
    .await
    .unwrap();
    MIGRATOR.run(&pool).await.unwrap();

    let dates: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT id, effective_date::text, resume_date::text FROM change_requests ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        dates[0],
        (1, "2026-12-27".into(), Some("2027-01-27".into()))
    );
    assert_eq!(dates[2], (3, "2026-12-17".into(), None));
    assert_eq!(
        dates[3],
        (4, "2026-12-27".into(), Some("2027-01-27".into())),
        "a reinstatement on its way undoes the request as of its date as moved"
    );
    let repairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT entity_id, action FROM audit_events
          WHERE actor_label = 'system' ORDER BY entity_id::bigint, action",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let repairs: Vec<(&str, &str)> = repairs
        .iter()
        .map(|(e, a)| (e.as_str(), a.as_str()))
        .collect();
    assert_eq!(
        repairs,
        [
            ("1", "change_request.dates_moved"),
            ("2", "change_request.step_flagged"),
            ("3", "change_request.dates_moved"),
            ("4", "change_request.dates_moved"),
        ],
        "each repair is on its request's timeline"
    );
    let items: Vec<(String, i32)> = sqlx::query_as(
        "SELECT due_on::text, due_offset_days FROM checklist_items ORDER BY position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        items,
        vec![("2026-12-19".to_string(), 2), ("2026-12-17".to_string(), 0)],
        "each item keeps its distance from the date it was made from, and follows the move"
    );
    let flagged: Option<String> =
        sqlx::query_scalar("SELECT flagged_reason FROM request_approvals WHERE state = 'pending'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        flagged.is_some_and(|r| r.contains("already decided another step")),
        "the dead end is on the admin's desk"
    );
}

/// A TEXT column read as an enum: a known key reads as its variant, the enum binds as its key
/// (alone and as a list), and a value outside the keys fails the read, naming the enum and the
/// value, where it once read as an editable draft.
#[tokio::test]
async fn an_enum_column_reads_its_keys_and_refuses_anything_else() {
    use offboarding_desk::change_requests::rules::State;
    let url = crate::support::db::fresh_database().await;
    let pool = PgPool::connect_with(db::connect_options(&url).unwrap())
        .await
        .unwrap();
    let read: State = sqlx::query_scalar("SELECT 'changes_requested'::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(read, State::ChangesRequested);
    let bound: String = sqlx::query_scalar("SELECT $1::text")
        .bind(State::InApproval)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(bound, "in_approval");
    let open: Vec<bool> = sqlx::query_scalar("SELECT x = ANY($1) FROM unnest($2::text[]) x")
        .bind(vec![State::Draft, State::Approved])
        .bind(vec!["draft", "withdrawn", "approved"])
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(open, vec![true, false, true]);
    let err = sqlx::query_scalar::<_, State>("SELECT 'open'::text")
        .fetch_one(&pool)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown State \"open\""), "{err}");
}
