//! The app's own database role: it reads and writes the records, but cannot rewrite its own
//! history. Migrations run as the schema's owner; the app then connects as a role with only
//! the rights it needs: reading and writing the tables, adding to the append-only ones
//! (INSERT and SELECT only), no DDL, no TRUNCATE, no trigger changes (only an owner may alter
//! or drop a table's triggers). The grants are made again after every migration, so a table a
//! later migration adds is covered at the next start.

use anyhow::{Context, bail};
use sqlx::PgConnection;

/// The app's role on the private cluster.
pub const EMBEDDED_APP_ROLE: &str = "desk_app";

/// Tables the app may only add to and read: the evidence of who did what.
pub const APPEND_ONLY: &[&str] = &["audit_events"];

/// Creates `role` (able to log in with `password`) unless it exists, and sets its password.
pub async fn ensure_role(
    owner: &mut PgConnection,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    check_name(role)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(&mut *owner)
            .await?;
    // The statement is built by the server itself (names and literals quoted by format()).
    let sql: String = sqlx::query_scalar(
        "SELECT format('%s ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L',
                       CASE WHEN $3 THEN 'ALTER' ELSE 'CREATE' END, $1::text, $2::text)",
    )
    .bind(role)
    .bind(password)
    .bind(exists)
    .fetch_one(&mut *owner)
    .await?;
    match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *owner)
        .await
    {
        Ok(_) => Ok(()),
        // Another instance made it a moment ago.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42710") => Ok(()),
        Err(e) => Err(e).context("cannot create the app's database role"),
    }
}

/// Grants `role` what the app needs on the schema `owner` is connected to, and no more.
pub async fn grant(owner: &mut PgConnection, role: &str) -> anyhow::Result<()> {
    check_name(role)?;
    let mut statements = vec![
        format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{role}\""
        ),
        format!("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
        format!(
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM \"{role}\""
        ),
    ];
    for table in APPEND_ONLY {
        statements.push(format!("REVOKE UPDATE, DELETE ON {table} FROM \"{role}\""));
    }
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *owner)
            .await
            .context("cannot grant the app's role its rights")?;
    }
    Ok(())
}

/// Whether the user of `conn` owns the audit log (and so could disable its guard).
pub async fn owns_the_audit_log(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT pg_has_role(current_user, tableowner, 'USAGE')
                OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           FROM pg_tables WHERE schemaname = 'public' AND tablename = 'audit_events'",
    )
    .fetch_optional(conn)
    .await
    .map(|owns| owns.unwrap_or(false))
}

/// A role name the statements above can quote plainly.
fn check_name(role: &str) -> anyhow::Result<()> {
    if role.is_empty()
        || role.len() > 63
        || !role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        bail!("`{role}` is not a role name of lowercase letters, digits and underscores");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_role_names_are_used() {
        assert!(super::check_name("desk_app").is_ok());
        for bad in ["", "Desk", "a\"b", "a b", "x;drop"] {
            assert!(super::check_name(bad).is_err(), "{bad}");
        }
    }
}
