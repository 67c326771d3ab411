//! Who an email goes to: the distribution list, the holders of a role, one person. Disabled
//! users never receive mail.

use sqlx::PgConnection;

use crate::auth::roles::Role;

/// The approval distribution list (the Ops Lead and all DM Leads and Managers).
pub async fn distribution_list(conn: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT d.email FROM distribution_list d
          WHERE NOT EXISTS (SELECT 1 FROM users u
                             WHERE lower(u.email) = lower(d.email) AND u.disabled_at IS NOT NULL)
          ORDER BY lower(d.email)",
    )
    .fetch_all(conn)
    .await
}

/// Every active user holding `role`.
pub async fn holders_of(conn: &mut PgConnection, role: Role) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT email FROM users WHERE $1 = ANY(roles) AND disabled_at IS NULL ORDER BY lower(email)",
    )
    .bind(role)
    .fetch_all(conn)
    .await
}

/// One user's address, unless the user is disabled or gone.
pub async fn user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND disabled_at IS NULL")
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// `to` followed by the addresses of `people` (nobody, disabled and gone ones skipped), each
/// address once.
pub async fn add_people(
    conn: &mut PgConnection,
    mut to: Vec<String>,
    people: impl IntoIterator<Item = Option<i64>>,
) -> sqlx::Result<Vec<String>> {
    for person in people.into_iter().flatten() {
        if let Some(address) = user(conn, person).await?
            && !to.contains(&address)
        {
            to.push(address);
        }
    }
    Ok(to)
}
