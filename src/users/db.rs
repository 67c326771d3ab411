//! User queries. Each takes a connection so it works inside the caller's transaction.

use sqlx::PgConnection;

use super::form::Details;
use crate::auth::roles::{Role, RoleSet};

crate::db::text_enum!(Role);

/// A user as the admin pages show them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Those of `roles` the identity provider's groups grant.
    pub idp_roles: Vec<Role>,
    pub disabled_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: i32,
}

impl UserRow {
    pub fn role_set(&self) -> RoleSet {
        self.roles.iter().copied().collect()
    }

    pub fn role_labels(&self) -> String {
        self.role_set().labels()
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// Escapes LIKE's wildcards so what people type is searched literally.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

const COLUMNS: &str = "id, email, display_name, roles, idp_roles, disabled_at, version";

/// A page of users whose name or email contains `q` (all when empty), by name, from the edge
/// `pager` names, one line more than it shows.
pub async fn search(
    conn: &mut PgConnection,
    q: &str,
    pager: &crate::web::pages::Keyset,
) -> sqlx::Result<Vec<UserRow>> {
    let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
    let (from, order) = pager.range(
        false,
        "lower(display_name), id",
        "SELECT lower(e.display_name), e.id FROM users e",
        2,
    );
    let limit = pager.limit();
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users
          WHERE ($1 = '%%' OR lower(display_name) LIKE $1 OR lower(email) LIKE $1) {from}
          ORDER BY lower(display_name) {order}, id {order}
          LIMIT {limit}"
    )))
    .bind(pattern);
    match pager.edge() {
        Some(id) => query.bind(id).fetch_all(conn).await,
        None => query.fetch_all(conn).await,
    }
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Locks the row for the rest of the transaction, so two admins' changes queue up. Not `FOR
/// UPDATE`: a decision by this person (whose step names them, a foreign key that takes `FOR
/// KEY SHARE` on the row) must not wait on a disable or role change that in turn waits on the
/// decision's request.
pub async fn find_for_update(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users WHERE id = $1 FOR NO KEY UPDATE"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Outcome of a write that a unique email can refuse.
pub enum Saved<T> {
    Ok(T),
    EmailTaken,
}

fn email_taken(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.constraint())
        .is_some_and(|c| c == "users_email_key")
}

pub async fn insert(
    conn: &mut PgConnection,
    details: &Details,
    password_hash: &str,
) -> sqlx::Result<Saved<i64>> {
    let res = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, password_hash, roles)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(details.email.as_str())
    .bind(&details.display_name)
    .bind(password_hash)
    .bind(details.roles.keys())
    .fetch_one(conn)
    .await;
    match res {
        Ok(id) => Ok(Saved::Ok(id)),
        Err(e) if email_taken(&e) => Ok(Saved::EmailTaken),
        Err(e) => Err(e),
    }
}

/// Saves new details if the row is still at `version`; `Ok(None)` when someone else saved first.
pub async fn update_details(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    details: &Details,
) -> sqlx::Result<Saved<Option<i32>>> {
    let res = sqlx::query_scalar(
        "UPDATE users SET email = $3, display_name = $4, roles = $5, version = version + 1
          WHERE id = $1 AND version = $2
          RETURNING version",
    )
    .bind(id)
    .bind(version)
    .bind(details.email.as_str())
    .bind(&details.display_name)
    .bind(details.roles.keys())
    .fetch_optional(conn)
    .await;
    match res {
        Ok(v) => Ok(Saved::Ok(v)),
        Err(e) if email_taken(&e) => Ok(Saved::EmailTaken),
        Err(e) => Err(e),
    }
}

pub async fn set_password_hash(conn: &mut PgConnection, id: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, version = version + 1 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_disabled(conn: &mut PgConnection, id: i64, disabled: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET disabled_at = CASE WHEN $2 THEN now() ELSE NULL END,
                          version = version + 1
          WHERE id = $1",
    )
    .bind(id)
    .bind(disabled)
    .execute(conn)
    .await?;
    Ok(())
}

/// A person who can be chosen in a form (an account manager, a specialist, an approver).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PersonOption {
    pub id: i64,
    pub display_name: String,
}

/// Active holders of `role`, by name.
pub async fn people_with_role(
    conn: &mut PgConnection,
    role: &str,
) -> sqlx::Result<Vec<PersonOption>> {
    sqlx::query_as(
        "SELECT id, display_name FROM users
          WHERE $1 = ANY(roles) AND disabled_at IS NULL
          ORDER BY lower(display_name), id",
    )
    .bind(role)
    .fetch_all(conn)
    .await
}

/// People's names by id, for a sentence about them.
#[derive(Debug, Default)]
pub struct Names(Vec<(i64, String)>);

impl Names {
    /// The person's name ("" for nobody or someone unknown).
    pub fn of(&self, id: Option<i64>) -> &str {
        id.and_then(|id| self.0.iter().find(|(u, _)| *u == id))
            .map_or("", |(_, name)| name.as_str())
    }
}

/// The names of the people in `ids` (those that are someone).
pub async fn names(conn: &mut PgConnection, ids: &[Option<i64>]) -> sqlx::Result<Names> {
    let ids: Vec<i64> = ids.iter().flatten().copied().collect();
    let rows = sqlx::query_as("SELECT id, display_name FROM users WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(conn)
        .await?;
    Ok(Names(rows))
}
