//! Demo mode: one account per role (password `offboarding-demo`), a dozen clients, a past
//! year of closed requests for forty more (`history`) and, on a start with `--demo`, eighteen
//! more whose requests stand at every point of the process today (`present`). Never in
//! production. Safe to run at every start: what exists is left alone.

mod history;
mod present;

use sqlx::{PgConnection, PgPool};

use crate::audit::{self, Actor};
use crate::auth::password;

/// The password of every demo account.
pub const PASSWORD: &str = "offboarding-demo";

/// One demo account.
pub struct DemoAccount {
    pub email: &'static str,
    pub display_name: &'static str,
    pub roles: &'static [&'static str],
    pub roles_label: &'static str,
}

const fn account(
    email: &'static str,
    display_name: &'static str,
    roles: &'static [&'static str],
    roles_label: &'static str,
) -> DemoAccount {
    DemoAccount {
        email,
        display_name,
        roles,
        roles_label,
    }
}

/// The demo accounts, as the sign-in page lists them.
pub const ACCOUNTS: &[DemoAccount] = &[
    account(
        "am@demo.test",
        "Maria Chen",
        &["account_manager"],
        "Account manager",
    ),
    account(
        "am2@demo.test",
        "Luis Ortega",
        &["account_manager"],
        "Account manager",
    ),
    account(
        "retention@demo.test",
        "Amy Reyes",
        &["retention"],
        "Retention Team",
    ),
    account(
        "retention2@demo.test",
        "Anglee Moss",
        &["retention"],
        "Retention Team",
    ),
    account(
        "teamlead@demo.test",
        "Priya Shah",
        &["team_lead"],
        "Team lead",
    ),
    account(
        "manager@demo.test",
        "Tom Becker",
        &["department_manager"],
        "Department manager",
    ),
    account(
        "approver1@demo.test",
        "Jeremy Bliesner",
        &["approver"],
        "Approver (first step)",
    ),
    account(
        "approver2@demo.test",
        "Dustin Hunter",
        &["approver"],
        "Approver (second step)",
    ),
    account("finance@demo.test", "Rachel Kim", &["finance"], "Finance"),
    account(
        "accounting@demo.test",
        "Ben Adler",
        &["accounting"],
        "Accounting",
    ),
    account(
        "ops@demo.test",
        "Dana Ortiz",
        &["ops_lead"],
        "DM Operations Lead",
    ),
    account(
        "leadership@demo.test",
        "DM Leads and Managers",
        &["dm_leadership"],
        "DM Leads and Managers",
    ),
    account(
        "sem@demo.test",
        "Sam Patel",
        &["sem_specialist"],
        "SEM specialist",
    ),
    account(
        "sem2@demo.test",
        "Kai Nakamura",
        &["sem_specialist"],
        "SEM specialist",
    ),
    account(
        "contractor@demo.test",
        "Juniper Digital",
        &["contractor"],
        "Contractor",
    ),
    account(
        "admin@demo.test",
        "Alex Morgan",
        &["admin"],
        "Administrator",
    ),
];

/// (name, CRM id, account manager, SEM specialist, monthly budget in cents, ad products)
type DemoClient = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static [&'static str],
);

const CLIENTS: &[DemoClient] = &[
    (
        "Lakeside RV Center",
        "CRM-10231",
        "am@demo.test",
        "sem@demo.test",
        450_000,
        &["google_ads", "microsoft_ads", "facebook"],
    ),
    (
        "Summit Powersports",
        "CRM-10244",
        "am@demo.test",
        "sem@demo.test",
        275_000,
        &["google_ads", "facebook"],
    ),
    (
        "Bayou Boats & Marine",
        "CRM-10302",
        "am@demo.test",
        "sem2@demo.test",
        180_000,
        &["google_ads", "fluency"],
    ),
    (
        "High Plains Trailer Sales",
        "CRM-10318",
        "am@demo.test",
        "sem2@demo.test",
        95_000,
        &["google_ads"],
    ),
    (
        "Cascade Motorsports",
        "CRM-10355",
        "am@demo.test",
        "sem@demo.test",
        320_000,
        &["google_ads", "microsoft_ads", "facebook", "fluency"],
    ),
    (
        "Red Rock Camper World",
        "CRM-10372",
        "am@demo.test",
        "sem@demo.test",
        210_000,
        &["google_ads", "microsoft_ads"],
    ),
    (
        "Northwoods Outdoor Equipment",
        "CRM-10410",
        "am2@demo.test",
        "sem@demo.test",
        150_000,
        &["google_ads", "facebook"],
    ),
    (
        "Gulf Coast Marine Supply",
        "CRM-10427",
        "am2@demo.test",
        "sem2@demo.test",
        390_000,
        &["google_ads", "microsoft_ads", "fluency"],
    ),
    (
        "Prairie Ag & Tractor",
        "CRM-10433",
        "am2@demo.test",
        "sem2@demo.test",
        120_000,
        &["google_ads"],
    ),
    (
        "Blue Ridge Golf Carts",
        "CRM-10468",
        "am2@demo.test",
        "sem@demo.test",
        60_000,
        &["facebook"],
    ),
    (
        "Desert Sun RV Resort Sales",
        "CRM-10491",
        "am2@demo.test",
        "sem2@demo.test",
        505_000,
        &["google_ads", "microsoft_ads", "facebook"],
    ),
    (
        "Timberline Equipment Co.",
        "CRM-10512",
        "am@demo.test",
        "sem2@demo.test",
        240_000,
        &["google_ads", "fluency"],
    ),
];

/// Everything `--demo` starts with: [`seed`], then the requests in flight today, dated in the
/// agency's `zone`.
/// Whether the demo's requests in flight were dated on a day before `day` (in the agency's
/// zone): a demo started again on a later day is best started afresh (see `server::run`).
pub async fn dated_before(
    pool: &PgPool,
    zone: chrono_tz::Tz,
    day: chrono::NaiveDate,
) -> sqlx::Result<bool> {
    present::dated_before(&mut *pool.acquire().await?, zone, day).await
}

pub async fn seed_all(pool: &PgPool, zone: chrono_tz::Tz, base_url: &str) -> anyhow::Result<()> {
    seed(pool).await?;
    let mut tx = pool.begin().await?;
    let present = present::seed(&mut tx, zone, base_url).await?;
    tx.commit().await?;
    tracing::info!(present, "demo requests in flight ready");
    Ok(())
}

/// Creates whatever demo accounts and clients are missing, and the past year. The tests that
/// play the process on the demo's dozen clients start from this, with no request in flight.
pub async fn seed(pool: &PgPool) -> anyhow::Result<()> {
    let hash = password::hash_async(PASSWORD.to_string()).await?;
    let mut tx = pool.begin().await?;
    let mut created = 0;
    for a in ACCOUNTS {
        let roles: Vec<String> = a.roles.iter().map(|r| r.to_string()).collect();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (email, display_name, password_hash, roles)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (lower(email)) DO NOTHING
             RETURNING id",
        )
        .bind(a.email)
        .bind(a.display_name)
        .bind(&hash)
        .bind(&roles)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            created += 1;
            audit::record(
                &mut tx,
                &Actor::system(),
                "user.created",
                "user",
                Some(id.to_string()),
                serde_json::json!({ "email": a.email, "display_name": a.display_name, "roles": roles, "demo": true }),
            )
            .await?;
        }
    }
    for (name, crm_id, am, sem, budget, products) in CLIENTS {
        let products: Vec<String> = products.iter().map(|p| p.to_string()).collect();
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO clients (name, crm_account_id, account_manager_id, sem_specialist_id,
                                  monthly_budget_cents, ad_products)
             VALUES ($1, $2, (SELECT id FROM users WHERE lower(email) = $3),
                     (SELECT id FROM users WHERE lower(email) = $4), $5, $6)
             ON CONFLICT (crm_account_id) DO NOTHING
             RETURNING id",
        )
        .bind(name)
        .bind(crm_id)
        .bind(am)
        .bind(sem)
        .bind(budget)
        .bind(&products)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = id {
            crate::clients::db::record_history(
                &mut tx,
                id,
                crate::clients::status::Status::Active,
                *budget,
                None,
                "Demo client added",
            )
            .await?;
        }
    }
    // Approvals are announced to the Ops Lead and the DM leadership.
    for (email, name) in [
        ("ops@demo.test", "Dana Ortiz"),
        ("leadership@demo.test", "DM Leads and Managers"),
    ] {
        sqlx::query(
            "INSERT INTO distribution_list (email, name) VALUES ($1, $2)
             ON CONFLICT (lower(email)) DO NOTHING",
        )
        .bind(email)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    // The seeded chain names nobody for its first two steps; the demo names its approvers.
    for (position, email) in [(1, "approver1@demo.test"), (2, "approver2@demo.test")] {
        sqlx::query(
            "UPDATE approval_chain_steps
                SET approver_user_id = (SELECT id FROM users WHERE lower(email) = $2)
              WHERE position = $1 AND approver_user_id IS NULL AND approver_role IS NULL
                AND retired_at IS NULL",
        )
        .bind(position)
        .bind(email)
        .execute(&mut *tx)
        .await?;
    }
    let history = history::seed(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(
        created,
        history,
        "demo data ready; every demo account's password is `{PASSWORD}`"
    );
    Ok(())
}

/// Whether a client with this CRM id exists: the first client of each part of the demo marks
/// that part as seeded.
async fn has_client(conn: &mut PgConnection, crm_account_id: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clients WHERE crm_account_id = $1)")
        .bind(crm_account_id)
        .fetch_one(conn)
        .await
}
