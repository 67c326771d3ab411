//! The app's own database role: it reads and writes the records, but cannot rewrite its own
//! history. Migrations run as the schema's owner; the app then connects as a role with only
//! the rights it needs: reading and writing the tables, adding to the append-only ones
//! (INSERT and SELECT only), reading the derived ones (their triggers write them), no DDL, no
//! TRUNCATE, no trigger changes (only an owner may alter or drop a table's triggers). The
//! grants are made again after every migration, so a table a later migration adds is covered
//! at the next start.

use anyhow::{Context, bail};
use sqlx::{Acquire, PgConnection};

/// The app's role on the private cluster.
pub const EMBEDDED_APP_ROLE: &str = "desk_app";

/// Tables the app may only add to and read: the evidence of who did what.
pub const APPEND_ONLY: &[&str] = &["audit_events", "signature_events", "addendum_documents"];

/// Tables the app's role only reads: their rows are written by triggers, through a function
/// running with the owner's rights (migration 27), recomputed from the tables they are
/// derived from.
pub const DERIVED: &[&str] = &["work_items"];

/// The roles (`r`) that could rewrite the record whatever they are granted: a superuser; one
/// that may create roles (and so grant itself the owner's) or bypass row security; a member,
/// inherited or not (it may `SET ROLE`), of the audit log's owner, the schema's owner or the
/// database's owner (who owns `public` on PostgreSQL 15 and later).
const COULD_REWRITE: &str = "SELECT r.rolsuper OR r.rolcreaterole OR r.rolbypassrls
            OR pg_has_role(r.oid, t.tableowner, 'MEMBER')
            OR pg_has_role(r.oid, n.nspowner, 'MEMBER')
            OR pg_has_role(r.oid, d.datdba, 'MEMBER')
       FROM pg_roles r, pg_tables t, pg_namespace n, pg_database d
      WHERE r.rolname = $1 AND t.schemaname = 'public' AND t.tablename = 'audit_events'
        AND n.nspname = 'public' AND d.datname = current_database()";

/// Makes the app's `role` ready on the schema `owner` is connected to, in one transaction that
/// instances starting together take in turn: created (able to log in with `password`) when a
/// password is given and it does not exist yet, then granted what the app needs and no more.
/// A role that could rewrite the record anyway ([`COULD_REWRITE`]) is refused: it would gain
/// nothing and the owner would lose rights.
pub async fn prepare(
    owner: &mut PgConnection,
    role: &str,
    password: Option<&str>,
) -> anyhow::Result<()> {
    check_name(role)?;
    let mut tx = owner.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('offboarding-desk app role'))")
        .execute(&mut *tx)
        .await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(role)
            .fetch_one(&mut *tx)
            .await?;
    if could_rewrite(&mut tx, role).await? {
        bail!(
            "DATABASE_URL's role `{role}` is a superuser, may create roles or bypass row \
             security, or is (or may become) the owner of the tables, the schema or the \
             database: give the app a role of its own without these (README, \"Running against \
             an existing PostgreSQL\")"
        );
    }
    match (exists, password) {
        (true, _) => {}
        (false, Some(password)) => {
            // Built by the server itself (name and literal quoted by format()).
            let sql: String = sqlx::query_scalar(
                "SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE \
                                PASSWORD %L', $1::text, $2::text)",
            )
            .bind(role)
            .bind(password)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .context("cannot create the app's database role")?;
        }
        (false, None) => bail!("the database has no role `{role}` (DATABASE_URL's user)"),
    }
    grant(&mut tx, role).await?;
    tx.commit().await?;
    Ok(())
}

/// Grants `role` what the app needs on the schema `owner` is connected to, and no more.
async fn grant(owner: &mut PgConnection, role: &str) -> anyhow::Result<()> {
    let mut statements = vec![
        format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{role}\""
        ),
        // nextval for a serial column; an identity column needs nothing, and setval none.
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
        format!("REVOKE SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public FROM \"{role}\""),
        format!(
            "REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM \"{role}\""
        ),
        // The migrations' own record is the owner's alone.
        format!("REVOKE ALL ON _sqlx_migrations FROM \"{role}\""),
    ];
    for table in APPEND_ONLY {
        statements.push(format!("REVOKE UPDATE, DELETE ON {table} FROM \"{role}\""));
    }
    for table in DERIVED {
        statements.push(format!(
            "REVOKE INSERT, UPDATE, DELETE ON {table} FROM \"{role}\""
        ));
    }
    // The triggers run as the role and call the recomputation, which no one else may call.
    statements.push(format!(
        "GRANT EXECUTE ON FUNCTION work_items_refresh(bigint[]) TO \"{role}\""
    ));
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *owner)
            .await
            .context("cannot grant the app's role its rights")?;
    }
    Ok(())
}

/// Whether `role` could rewrite the audit log whatever it is granted ([`COULD_REWRITE`]).
async fn could_rewrite(conn: &mut PgConnection, role: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(COULD_REWRITE)
        .bind(role)
        .fetch_optional(conn)
        .await
        .map(|found| found.unwrap_or(false))
}

/// Whether the user of `conn` could rewrite the audit log (and so disable its guard).
pub async fn owns_the_audit_log(conn: &mut PgConnection) -> sqlx::Result<bool> {
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *conn)
        .await?;
    could_rewrite(conn, &me).await
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
