//! The work items the desks read (migrations 26 and 27) follow the steps and requests they are
//! made from in the same transaction, also when two changes meet, and the record rule that
//! checks them finds one that does not.

use crate::shared::records::findings;
use crate::statements::app_with;

const RULE: &str = "a work item is not its pending step as it stands (step ids)";

#[tokio::test]
async fn work_items_follow_every_change_and_a_wrong_one_is_found() {
    let app = app_with(30).await;
    let db = &app.db;
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(db)
            .await
            .unwrap()
    };
    let pending = count("SELECT count(*) FROM request_approvals WHERE state = 'pending'").await;
    assert!(pending > 0, "the generated data has steps waiting");
    assert_eq!(count("SELECT count(*) FROM work_items").await, pending);
    assert!(!findings(db).await.contains_key(RULE));

    // A client handed to another account manager, a request's credit changed, a step handed
    // to someone else and another decided: each item follows in its statement (a rename
    // changes no item: the desk reads the name from the client, below).
    let (step, request, client): (i64, i64, i64) = sqlx::query_as(
        "SELECT s.id, r.id, r.client_id FROM request_approvals s
           JOIN change_requests r ON r.id = s.change_request_id
          WHERE s.state = 'pending' ORDER BY s.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let other: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'am2@bench.test'")
        .fetch_one(db)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE clients SET account_manager_id = {other} WHERE id = {client};
         UPDATE change_requests SET credit_cents = 12345, credit_reason = 'Goodwill' WHERE id = {request};
         UPDATE request_approvals SET approver_user_id = {other} WHERE id = {step};"
    )))
    .execute(db)
    .await
    .unwrap();
    let (of, credit, assignee, barred): (i64, Option<i64>, Option<i64>, Vec<i64>) = sqlx::query_as(
        "SELECT client_id, credit_cents, assignee_user_id, barred FROM work_items
              WHERE item_id = $1",
    )
    .bind(step)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(of, client);
    assert_eq!(credit, Some(12345));
    assert_eq!(assignee, Some(other));
    assert!(barred.contains(&other), "{barred:?}");
    let decided: i64 = sqlx::query_scalar(
        "UPDATE request_approvals SET state = 'approved', decided_by = approver_user_id,
                decided_at = now()
          WHERE id = (SELECT id FROM request_approvals WHERE state = 'pending' AND id <> $1
                       AND approver_user_id IS NOT NULL ORDER BY id LIMIT 1)
         RETURNING id",
    )
    .bind(step)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(
        count("SELECT count(*) FROM work_items").await,
        pending - 1,
        "the decided step {decided} left the desks"
    );
    assert!(!findings(db).await.contains_key(RULE));

    // Written by hand, out of step with what it stands for: the rule names it.
    sqlx::query("UPDATE work_items SET barred = '{}' WHERE item_id = $1")
        .bind(step)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(findings(db).await.get(RULE), Some(&vec![step.to_string()]));
    sqlx::query("DELETE FROM work_items WHERE item_id = $1")
        .bind(step)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(findings(db).await.get(RULE), Some(&vec![step.to_string()]));
}

/// Waits until the backend `pid` waits on a lock (the other change has reached the point
/// where it must wait for the first to commit).
/// Returns once backend `pid` waits on a lock.
async fn waits_on_a_lock(db: &sqlx::PgPool, pid: i32) {
    lock_waited(db, pid, false).await
}

/// Returns once some backend of this database other than `not` waits on a lock.
pub(crate) async fn someone_waits_on_a_lock(db: &sqlx::PgPool, not: i32) {
    lock_waited(db, not, true).await
}

/// Polls until a backend waits on a lock: `pid` itself, or (`other`) any but `pid`.
async fn lock_waited(db: &sqlx::PgPool, pid: i32, other: bool) {
    for _ in 0..500 {
        let waiting: bool = sqlx::query_scalar(
            "SELECT count(*) > 0 FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND datname = current_database()
                AND (pid <> $1) = $2",
        )
        .bind(pid)
        .bind(other)
        .fetch_one(db)
        .await
        .unwrap();
        if waiting {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no backend waited on a lock (backend {pid}, others: {other})");
}

/// Runs `first` in a transaction left open, then `second` on another connection, which must
/// wait for the first; commits the first and returns once the second has committed too.
async fn second_waits_for_first(db: &sqlx::PgPool, first: String, second: String) {
    let mut tx = db.begin().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(first))
        .execute(&mut *tx)
        .await
        .unwrap();
    let mut other = db.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    let waiting = tokio::spawn(async move {
        sqlx::raw_sql(sqlx::AssertSqlSafe(second))
            .execute(&mut *other)
            .await
    });
    waits_on_a_lock(db, pid).await;
    tx.commit().await.unwrap();
    waiting
        .await
        .unwrap()
        .expect("the second change commits too");
}

/// A step handed on by a statement that does not hold its request (as a hand-written repair
/// might), while another transaction changes the request's terms: the second waits for the
/// first and recomputes from what it committed, so both commit and the items are right.
/// Before migration 27 the second failed on a duplicate item or wrote over the first.
#[tokio::test]
async fn a_step_change_and_a_request_change_that_meet_both_land_in_the_items() {
    let app = app_with(10).await;
    let db = &app.db;
    let (step, request): (i64, i64) = sqlx::query_as(
        "SELECT s.id, s.change_request_id FROM request_approvals s
          WHERE s.state = 'pending' AND s.approver_user_id IS NOT NULL ORDER BY s.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let other: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'am2@bench.test'")
        .fetch_one(db)
        .await
        .unwrap();

    second_waits_for_first(
        db,
        format!("UPDATE request_approvals SET approver_user_id = {other} WHERE id = {step}"),
        format!(
            "UPDATE change_requests SET credit_cents = 777, credit_reason = 'Goodwill'
              WHERE id = {request}"
        ),
    )
    .await;

    let (assignee, credit): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT assignee_user_id, credit_cents FROM work_items WHERE item_id = $1")
            .bind(step)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!((assignee, credit), (Some(other), Some(777)));
    assert!(!findings(db).await.contains_key(RULE));
}

/// A request moved to a client while that client is handed to another account manager: the
/// request waits for the hand-over and takes the new account manager, so its items bar the
/// right person. Before migration 27 it kept the old one and the hand-over never saw it.
#[tokio::test]
async fn a_request_filed_during_a_hand_over_takes_the_new_account_manager() {
    let app = app_with(10).await;
    let db = &app.db;
    let (request, client): (i64, i64) = sqlx::query_as(
        "SELECT r.id,
                (SELECT c.id FROM clients c
                  WHERE NOT EXISTS (SELECT 1 FROM change_requests o
                                     WHERE o.client_id = c.id
                                       AND o.state IN ('draft', 'with_retention', 'in_approval',
                                                       'changes_requested'))
                  ORDER BY c.id LIMIT 1)
           FROM change_requests r
          WHERE EXISTS (SELECT 1 FROM request_approvals s
                         WHERE s.change_request_id = r.id AND s.state = 'pending')
          ORDER BY r.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let new_manager: i64 = sqlx::query_scalar(
        "SELECT u.id FROM users u, clients c
          WHERE c.id = $1 AND u.email LIKE 'am%@bench.test'
            AND u.id IS DISTINCT FROM c.account_manager_id
          ORDER BY u.id LIMIT 1",
    )
    .bind(client)
    .fetch_one(db)
    .await
    .unwrap();

    second_waits_for_first(
        db,
        format!("UPDATE clients SET account_manager_id = {new_manager} WHERE id = {client}"),
        format!("UPDATE change_requests SET client_id = {client} WHERE id = {request}"),
    )
    .await;

    let kept: Option<i64> =
        sqlx::query_scalar("SELECT client_account_manager_id FROM change_requests WHERE id = $1")
            .bind(request)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(kept, Some(new_manager));
    let barred: Vec<Vec<i64>> =
        sqlx::query_scalar("SELECT barred FROM work_items WHERE request_id = $1")
            .bind(request)
            .fetch_all(db)
            .await
            .unwrap();
    assert!(!barred.is_empty());
    assert!(
        barred.iter().all(|b| b.contains(&new_manager)),
        "{barred:?}"
    );
    assert!(!findings(db).await.contains_key(RULE));
}

/// A renamed client shows under its new name on the desk of whoever a step of its request
/// waits on, at once: the name is read from the client, not kept on the item.
#[tokio::test]
async fn a_renamed_client_shows_under_its_new_name_on_the_desk() {
    use offboarding_desk::auth::roles::{Role, RoleSet};
    let app = app_with(10).await;
    let db = &app.db;
    let (approver, step, client): (i64, i64, i64) = sqlx::query_as(
        "SELECT u.id, s.id, r.client_id FROM request_approvals s
           JOIN users u ON u.id = s.approver_user_id AND u.email = 'approver1@bench.test'
           JOIN change_requests r ON r.id = s.change_request_id
          WHERE s.state = 'pending' ORDER BY s.reached_at, s.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    sqlx::query("UPDATE clients SET name = 'Renamed Motors' WHERE id = $1")
        .bind(client)
        .execute(db)
        .await
        .unwrap();
    let roles: RoleSet = [Role::Approver].into_iter().collect();
    let today = chrono::Utc::now().date_naive();
    let mut conn = db.acquire().await.unwrap();
    let desk =
        offboarding_desk::approvals::db::waiting_on(&mut conn, approver, roles, today, 10_000)
            .await
            .unwrap();
    let line = desk
        .iter()
        .find(|w| w.step_id == step)
        .expect("the oldest step named on the approver is on their desk");
    assert_eq!(line.client_name, "Renamed Motors");
    assert!(!findings(db).await.contains_key(RULE));
}

/// An approver disabled while one of their decisions is being recorded: the disable holds the
/// person and waits on the request the decision holds, and the decision, writing the person's
/// name on its step (a foreign key), must not wait on the disable in turn. Both land: before,
/// the disable held the person `FOR UPDATE` and PostgreSQL broke the deadlock by failing one.
#[tokio::test]
async fn a_disable_meeting_its_persons_decision_lets_both_land() {
    use offboarding_desk::auth::roles::Role;
    let app = app_with(10).await;
    let db = &app.db;
    let (step, request, approver): (i64, i64, i64) = sqlx::query_as(
        "SELECT s.id, s.change_request_id, s.approver_user_id FROM request_approvals s
          WHERE s.state = 'pending' AND s.approver_user_id IS NOT NULL ORDER BY s.id LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let admin = app.user("admin@agency.test", &[Role::Admin]).await;
    let cookie = app.session_cookie(admin).await;

    // The decision, as `approvals::db::locked` starts it: the request held.
    let mut decision = db.begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *decision)
        .await
        .unwrap();
    sqlx::query("SELECT 1 FROM change_requests WHERE id = $1 FOR UPDATE")
        .bind(request)
        .execute(&mut *decision)
        .await
        .unwrap();
    let disable = app.post_in_background(&cookie, &format!("/admin/users/{approver}/disable"), &[]);
    someone_waits_on_a_lock(db, pid).await;
    // The decision goes on: the step names its approver.
    sqlx::query(
        "UPDATE request_approvals SET state = 'approved', decided_by = $2, decided_at = now()
          WHERE id = $1",
    )
    .bind(step)
    .bind(approver)
    .execute(&mut *decision)
    .await
    .expect("the decision does not wait on the disable");
    decision.commit().await.unwrap();
    assert_eq!(disable.await.unwrap(), 303, "the disable lands too");
    let disabled: bool =
        sqlx::query_scalar("SELECT disabled_at IS NOT NULL FROM users WHERE id = $1")
            .bind(approver)
            .fetch_one(db)
            .await
            .unwrap();
    assert!(disabled);
}

/// Approve hands the turn on in one statement (migration 33): the rule "one pending step a
/// request" holds when a statement ends, whatever order it changes its rows in, and still
/// refuses a second turn.
#[tokio::test]
async fn one_statement_may_hand_the_turn_on_and_a_second_turn_is_refused() {
    let app = app_with(30).await;
    let db = &app.db;
    let (pending, waiting): (i64, i64) = sqlx::query_as(
        "SELECT p.id, w.id FROM request_approvals p
           JOIN request_approvals w ON w.change_request_id = p.change_request_id
                                   AND w.round = p.round AND w.state = 'waiting'
          WHERE p.state = 'pending' ORDER BY p.id, w.position LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    // A second turn is refused.
    let refused = sqlx::query(
        "UPDATE request_approvals SET state = 'pending', reached_at = now() WHERE id = $1",
    )
    .bind(waiting)
    .execute(db)
    .await
    .expect_err("two steps of a request pending");
    let code = refused.as_database_error().and_then(|e| e.code());
    assert_eq!(code.as_deref(), Some("23P01"), "{refused}");
    // The turn handed on in one statement, in both orders: the later step made pending
    // before the earlier one leaves its turn (a rule checked row by row, as the unique index
    // before migration 33, refuses this order), then the other way. The plan is pinned to
    // change the rows in the order given.
    let state_of = |id: i64| {
        if id == waiting {
            "pending"
        } else {
            "cancelled"
        }
    };
    for (first, then, keep) in [(waiting, pending, false), (pending, waiting, true)] {
        let mut tx = db.begin().await.unwrap();
        sqlx::raw_sql(
            "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off;
             SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE request_approvals s
                SET state = v.state, reached_at = coalesce(s.reached_at, now())
               FROM (VALUES ($1::bigint, $2::text), ($3, $4)) AS v (id, state)
              WHERE s.id = v.id",
        )
        .bind(first)
        .bind(state_of(first))
        .bind(then)
        .bind(state_of(then))
        .execute(&mut *tx)
        .await
        .expect("the turn handed on in one statement");
        if keep {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
    }
    let now_pending: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM request_approvals
          WHERE state = 'pending'
            AND change_request_id = (SELECT change_request_id FROM request_approvals WHERE id = $1)",
    )
    .bind(waiting)
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(now_pending, vec![waiting]);
    let items: Vec<i64> =
        sqlx::query_scalar("SELECT item_id FROM work_items WHERE item_id IN ($1, $2)")
            .bind(pending)
            .bind(waiting)
            .fetch_all(db)
            .await
            .unwrap();
    assert_eq!(
        items,
        vec![waiting],
        "the work items follow the one statement"
    );
}
