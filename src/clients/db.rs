//! Client queries. Each takes a connection so it works inside the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use std::collections::HashMap;

use super::form::ClientInput;
use super::import::Current;
use super::status::Status;
use crate::auth::roles::Role;

crate::db::text_enum!(Status);

/// A client with the names of its people, as pages show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub crm_account_id: String,
    pub account_manager_id: Option<i64>,
    pub account_manager: Option<String>,
    pub sem_specialist_id: Option<i64>,
    pub sem_specialist: Option<String>,
    pub monthly_budget_cents: i64,
    pub ad_products: Vec<String>,
    pub status: Status,
    pub version: i32,
    /// Who signs addendums for the client (prefilled when one is sent for signature).
    pub signer_name: Option<String>,
    pub signer_title: Option<String>,
    pub signer_email: Option<String>,
}

impl ClientRow {
    pub fn budget(&self) -> String {
        crate::money::format_cents(self.monthly_budget_cents)
    }

    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    pub fn account_manager_name(&self) -> &str {
        self.account_manager.as_deref().unwrap_or("Unassigned")
    }

    pub fn sem_specialist_name(&self) -> &str {
        self.sem_specialist.as_deref().unwrap_or("Unassigned")
    }
}

const SELECT: &str = "SELECT c.id, c.name, c.crm_account_id, c.account_manager_id,
        am.display_name AS account_manager, c.sem_specialist_id,
        sem.display_name AS sem_specialist, c.monthly_budget_cents, c.ad_products, c.status,
        c.version, c.signer_name, c.signer_title, c.signer_email
   FROM clients c
   LEFT JOIN users am ON am.id = c.account_manager_id
   LEFT JOIN users sem ON sem.id = c.sem_specialist_id";

/// A page of clients whose name or account id contains `q`, by name, from the edge `pager`
/// names (one range of the name index however deep), one line more than it shows.
pub async fn search(
    conn: &mut PgConnection,
    q: &str,
    pager: &crate::web::pages::Keyset,
) -> sqlx::Result<Vec<ClientRow>> {
    let limit = pager.limit();
    // Every client, or those matching: two statements, so the list of all (the page as it
    // opens) has a plan PostgreSQL keeps instead of one that also weighs a pattern. The
    // edge's id is the last parameter.
    let (matching, edge_at) = if q.is_empty() {
        ("TRUE", 1)
    } else {
        (
            "(lower(c.name) LIKE $1 OR lower(c.crm_account_id) LIKE $1)",
            2,
        )
    };
    let (from, order) = pager.range(
        false,
        "lower(c.name), c.id",
        "SELECT lower(e.name), e.id FROM clients e",
        edge_at,
    );
    let sql = format!(
        "{SELECT} WHERE {matching} {from}
          ORDER BY lower(c.name) {order}, c.id {order} LIMIT {limit}"
    );
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    if !q.is_empty() {
        query = query.bind(format!(
            "%{}%",
            crate::users::db::escape_like(&q.to_lowercase())
        ));
    }
    if let Some(id) = pager.edge() {
        query = query.bind(id);
    }
    query.fetch_all(conn).await
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<ClientRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE c.id = $1")))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// One line of a client's status history.
#[derive(Debug, sqlx::FromRow)]
pub struct HistoryRow {
    pub status: Status,
    pub monthly_budget_cents: i64,
    pub changed_by: Option<String>,
    pub change_request_id: Option<i64>,
    pub note: String,
    pub at: DateTime<Utc>,
    /// The day the change takes effect, when a change request made it.
    pub effective_date: Option<NaiveDate>,
}

impl HistoryRow {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    pub fn budget(&self) -> String {
        crate::money::format_cents(self.monthly_budget_cents)
    }

    pub fn who(&self) -> &str {
        self.changed_by.as_deref().unwrap_or("system")
    }
}

pub async fn history(conn: &mut PgConnection, client_id: i64) -> sqlx::Result<Vec<HistoryRow>> {
    sqlx::query_as(
        "SELECT h.status, h.monthly_budget_cents, u.display_name AS changed_by,
                h.change_request_id, h.note, h.at, h.effective_date
           FROM client_status_history h LEFT JOIN users u ON u.id = h.changed_by
          WHERE h.client_id = $1
          ORDER BY h.id DESC",
    )
    .bind(client_id)
    .fetch_all(conn)
    .await
}

/// Appends a line to a client's history.
pub async fn record_history(
    conn: &mut PgConnection,
    client_id: i64,
    status: Status,
    budget_cents: i64,
    changed_by: Option<i64>,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO client_status_history (client_id, status, monthly_budget_cents, changed_by, note)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(client_id)
    .bind(status)
    .bind(budget_cents)
    .bind(changed_by)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// The client's account status now.
pub async fn status_of(conn: &mut PgConnection, client_id: i64) -> sqlx::Result<Status> {
    sqlx::query_scalar("SELECT status FROM clients WHERE id = $1")
        .bind(client_id)
        .fetch_one(conn)
        .await
}

/// The client's status and monthly budget, locked for a change that sets them.
pub async fn lock_status(conn: &mut PgConnection, client_id: i64) -> sqlx::Result<(Status, i64)> {
    sqlx::query_as("SELECT status, monthly_budget_cents FROM clients WHERE id = $1 FOR UPDATE")
        .bind(client_id)
        .fetch_one(conn)
        .await
}

/// A change request's change to a client's account.
pub struct StatusChange {
    pub client_id: i64,
    pub status: Status,
    pub budget_cents: i64,
    pub changed_by: Option<i64>,
    pub change_request_id: i64,
    pub note: String,
    /// When it takes effect, when the change says.
    pub effective_date: Option<NaiveDate>,
}

/// Sets the client's status and budget and appends the line to its history.
pub async fn set_status(conn: &mut PgConnection, c: StatusChange) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE clients SET status = $2, monthly_budget_cents = $3, version = version + 1
          WHERE id = $1",
    )
    .bind(c.client_id)
    .bind(c.status)
    .bind(c.budget_cents)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO client_status_history
             (client_id, status, monthly_budget_cents, changed_by, change_request_id, note, effective_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.client_id)
    .bind(c.status)
    .bind(c.budget_cents)
    .bind(c.changed_by)
    .bind(c.change_request_id)
    .bind(&c.note)
    .bind(c.effective_date)
    .execute(conn)
    .await?;
    Ok(())
}

/// Outcome of a write that the unique account id can refuse.
pub enum Saved<T> {
    Ok(T),
    AccountIdTaken,
}

fn account_id_taken(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.constraint())
        .is_some_and(|c| c == "clients_crm_account_id_key")
}

pub async fn insert(conn: &mut PgConnection, c: &ClientInput) -> sqlx::Result<Saved<i64>> {
    let res = sqlx::query_scalar(
        "INSERT INTO clients (name, crm_account_id, account_manager_id, sem_specialist_id,
                              monthly_budget_cents, ad_products, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&c.name)
    .bind(&c.crm_account_id)
    .bind(c.account_manager_id)
    .bind(c.sem_specialist_id)
    .bind(c.monthly_budget_cents)
    .bind(&c.ad_products)
    .bind(c.status)
    .fetch_one(conn)
    .await;
    match res {
        Ok(id) => Ok(Saved::Ok(id)),
        Err(e) if account_id_taken(&e) => Ok(Saved::AccountIdTaken),
        Err(e) => Err(e),
    }
}

/// Saves if the row is still at `version`; `Ok(None)` when someone else saved first.
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    c: &ClientInput,
) -> sqlx::Result<Saved<Option<i32>>> {
    let res = sqlx::query_scalar(
        "UPDATE clients SET name = $3, crm_account_id = $4, account_manager_id = $5,
                sem_specialist_id = $6, monthly_budget_cents = $7, ad_products = $8, status = $9,
                version = version + 1
          WHERE id = $1 AND version = $2
          RETURNING version",
    )
    .bind(id)
    .bind(version)
    .bind(&c.name)
    .bind(&c.crm_account_id)
    .bind(c.account_manager_id)
    .bind(c.sem_specialist_id)
    .bind(c.monthly_budget_cents)
    .bind(&c.ad_products)
    .bind(c.status)
    .fetch_optional(conn)
    .await;
    match res {
        Ok(v) => Ok(Saved::Ok(v)),
        Err(e) if account_id_taken(&e) => Ok(Saved::AccountIdTaken),
        Err(e) => Err(e),
    }
}

/// An ad product that can be chosen.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProductOption {
    pub key: String,
    pub label: String,
}

pub async fn products(conn: &mut PgConnection) -> sqlx::Result<Vec<ProductOption>> {
    sqlx::query_as(
        "SELECT key, label FROM ad_products WHERE retired_at IS NULL ORDER BY position, key",
    )
    .fetch_all(conn)
    .await
}

/// Moves the status history a request wrote to the request's new date.
pub async fn move_status_history(
    conn: &mut PgConnection,
    request_id: i64,
    effective: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE client_status_history SET effective_date = $2 WHERE change_request_id = $1",
    )
    .bind(request_id)
    .bind(effective)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the client's requests, to be called before the client itself is locked or updated.
/// A change of account manager updates the client's requests (migration 24's trigger keeps
/// each request's copy), and every path that changes a request and then the client (a
/// completion, a reinstatement) locks the request first: taking the requests first here keeps
/// that one order, so the two cannot wait on each other.
pub async fn lock_requests_of(conn: &mut PgConnection, client_id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT id FROM change_requests WHERE client_id = $1 ORDER BY id FOR UPDATE")
        .bind(client_id)
        .fetch_all(conn)
        .await?;
    Ok(())
}

/// Locks a client; returns its account manager and SEM specialist.
pub async fn lock_people(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<(Option<i64>, Option<i64>)> {
    sqlx::query_as(
        "SELECT account_manager_id, sem_specialist_id FROM clients WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

/// Writes an import's values over a client's (its account id is what matched it).
pub async fn overwrite(conn: &mut PgConnection, id: i64, c: &ClientInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE clients SET name = $2, account_manager_id = $3, sem_specialist_id = $4,
                monthly_budget_cents = $5, ad_products = $6, status = $7, version = version + 1
          WHERE id = $1",
    )
    .bind(id)
    .bind(&c.name)
    .bind(c.account_manager_id)
    .bind(c.sem_specialist_id)
    .bind(c.monthly_budget_cents)
    .bind(&c.ad_products)
    .bind(c.status)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks an import applied.
pub async fn mark_import_applied(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE client_imports SET applied_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The active holders of `role` by their address (lowercase), for matching an import's rows.
pub async fn active_by_email(
    conn: &mut PgConnection,
    role: Role,
) -> sqlx::Result<HashMap<String, i64>> {
    let people: Vec<(String, i64)> = sqlx::query_as(
        "SELECT lower(email), id FROM users WHERE $1 = ANY(roles) AND disabled_at IS NULL",
    )
    .bind(role)
    .fetch_all(conn)
    .await?;
    Ok(people.into_iter().collect())
}

/// The clients with these account ids, as an import compares them, by account id.
pub async fn by_account_id(
    conn: &mut PgConnection,
    ids: &[String],
) -> sqlx::Result<HashMap<String, Current>> {
    #[derive(sqlx::FromRow)]
    struct Existing {
        id: i64,
        crm_account_id: String,
        name: String,
        account_manager_id: Option<i64>,
        sem_specialist_id: Option<i64>,
        monthly_budget_cents: i64,
        ad_products: Vec<String>,
        status: Status,
    }
    let existing: Vec<Existing> = sqlx::query_as(
        "SELECT id, crm_account_id, name, account_manager_id, sem_specialist_id, monthly_budget_cents,
                ad_products, status
           FROM clients WHERE crm_account_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(existing
        .into_iter()
        .map(|e| {
            let current = Current {
                id: e.id,
                name: e.name,
                account_manager_id: e.account_manager_id,
                sem_specialist_id: e.sem_specialist_id,
                monthly_budget_cents: e.monthly_budget_cents,
                ad_products: e.ad_products,
                status: e.status,
            };
            (e.crm_account_id, current)
        })
        .collect())
}

/// Keeps an uploaded client list for its preview; returns its id.
pub async fn insert_import(
    conn: &mut PgConnection,
    by: i64,
    file_name: &str,
    content: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO client_imports (uploaded_by, file_name, content) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(by)
    .bind(file_name.chars().take(200).collect::<String>())
    .bind(content)
    .fetch_one(conn)
    .await
}
