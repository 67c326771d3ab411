//! The work items the desks read (migration 26) follow the steps, requests and clients they
//! are made from in the same transaction, and the record rule that checks them finds one that
//! does not.

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

    // A client renamed and handed to another account manager, a request's credit changed, a
    // step handed to someone else and another decided: each item follows in its statement.
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
        "UPDATE clients SET name = 'Renamed Motors', account_manager_id = {other}
          WHERE id = {client};
         UPDATE change_requests SET credit_cents = 12345, credit_reason = 'Goodwill' WHERE id = {request};
         UPDATE request_approvals SET approver_user_id = {other} WHERE id = {step};"
    )))
    .execute(db)
    .await
    .unwrap();
    let (name, credit, assignee, barred): (String, Option<i64>, Option<i64>, Vec<i64>) =
        sqlx::query_as(
            "SELECT client_name, credit_cents, assignee_user_id, barred FROM work_items
              WHERE item_id = $1",
        )
        .bind(step)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(name, "Renamed Motors");
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
