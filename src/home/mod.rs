//! Each person's home: one section per role they hold, each showing what waits on them (each
//! domain's queue, read from that domain's statements), and a section that says plainly when
//! nothing waits.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};

use crate::auth::access::Access;
use crate::auth::roles::{Role, RoleSet};
use crate::change_requests::db::{self, QueueLine};
use crate::web::ctx::Ctx;
use crate::web::error::AppResult;
use crate::web::filters;
use crate::web::pages::Chrome;
use crate::web::{AppState, Routes};

pub fn routes(r: Routes) -> Routes {
    r.get("/", Access::SignedIn, home)
}

/// A role's part of the home page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub role: Role,
    pub title: &'static str,
    pub empty: &'static str,
}

/// The sections for a user's roles, in the order roles are listed.
pub fn sections(roles: crate::auth::roles::RoleSet) -> Vec<Section> {
    roles
        .iter()
        .map(|role| {
            let (title, empty) = match role {
                Role::AccountManager => ("My change requests", "You have no open change requests."),
                Role::Retention => (
                    "Retention queue",
                    "No save attempts are waiting for a call.",
                ),
                Role::TeamLead => (
                    "Escalated to me (team lead)",
                    "Nothing has been escalated to you.",
                ),
                Role::DepartmentManager => (
                    "Escalated to me (department manager)",
                    "Nothing has been escalated to you.",
                ),
                Role::Approver => (
                    "Waiting on my approval",
                    "No change requests are waiting on your approval.",
                ),
                Role::Finance => (
                    "Credits waiting on Finance",
                    "No credits are waiting on Finance.",
                ),
                Role::Accounting => (
                    "Approved requests to process",
                    "No approved requests are waiting to be processed.",
                ),
                Role::OpsLead => ("Change tasks waiting", "No change tasks are waiting."),
                Role::DmLeadership => ("Department overview", "No change requests are in flight."),
                Role::SemSpecialist => {
                    ("My SEM tasks", "No questions or tasks are waiting on you.")
                }
                Role::Contractor => (
                    "My offboarding items",
                    "No offboarding items are assigned to you.",
                ),
                Role::Admin => ("Administration", ""),
            };
            Section { role, title, empty }
        })
        .collect()
}

/// A client as the account manager's and SEM specialist's home lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct ClientLine {
    pub id: i64,
    pub name: String,
    pub crm_account_id: String,
    pub status: crate::clients::status::Status,
    pub monthly_budget_cents: i64,
}

impl ClientLine {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }

    pub fn budget(&self) -> String {
        crate::money::format_cents(self.monthly_budget_cents)
    }
}

/// A section with the requests waiting in it.
struct Filled {
    section: Section,
    lines: Vec<QueueLine>,
    /// Approval steps waiting on the person (approver and Finance sections).
    decisions: Vec<crate::approvals::db::Waiting>,
}

#[derive(Template, WebTemplate)]
#[template(path = "home/home.html")]
struct HomePage {
    chrome: Chrome,
    sections: Vec<Filled>,
    questions: Vec<crate::change_requests::questions::Waiting>,
    /// The Ops Lead's change tasks waiting.
    tasks: Vec<crate::operations::db::OpenTask>,
    /// Offboarding checklist items the person owns, soonest due first, by role.
    contractor_items: Vec<crate::checklists::db::DeskItem>,
    /// What the contractor ticked lately, to undo a mistake.
    contractor_done: Vec<crate::checklists::db::DeskItem>,
    sem_items: Vec<crate::checklists::db::DeskItem>,
    ops_items: Vec<crate::checklists::db::DeskItem>,
    /// The SEM specialist's pause tasks, soonest first.
    sem_tasks: Vec<crate::operations::db::OpenSemTask>,
    /// Approval steps nobody may decide, waiting on the admin to hand them on.
    flagged_steps: Vec<crate::approvals::admin::Stalled>,
    /// Requests waiting on the admin: their client's account manager cannot act, or their SEM
    /// work rests on someone who can no longer do it.
    orphaned: Vec<QueueLine>,
    my_clients: Vec<ClientLine>,
    show_clients: bool,
    /// A real installation's setting-up list on the admin's desk, until every part is done.
    first_run: Vec<crate::setup::first_run::Step>,
    /// The lists that had more lines than shown (by title), and how many each shows.
    cut: Vec<&'static str>,
    shown: i64,
    /// The whole desk asked for (`?all=1`).
    all: bool,
}

/// How many lines a desk's list shows, oldest first; `?all=1` shows up to [`ALL_LIMIT`]. Each
/// list reads one line more than it shows, so the desk can say which lists go on.
const QUEUE_LIMIT: i64 = 50;
const ALL_LIMIT: i64 = 1000;

/// Cuts `lines` to `shown`, noting `title` among the lists that go on when it had more.
fn cut<T>(lines: &mut Vec<T>, shown: i64, title: &'static str, cut: &mut Vec<&'static str>) {
    let shown = usize::try_from(shown).unwrap_or(usize::MAX);
    if lines.len() > shown {
        lines.truncate(shown);
        if !cut.contains(&title) {
            cut.push(title);
        }
    }
}

async fn queue(
    conn: &mut sqlx::PgConnection,
    role: Role,
    user: i64,
    limit: i64,
) -> sqlx::Result<Vec<QueueLine>> {
    use crate::change_requests::rules::State;
    match role {
        Role::AccountManager => db::managed_open(conn, user, limit).await,
        Role::Retention => db::retention_queue(conn, limit).await,
        Role::TeamLead | Role::DepartmentManager => db::escalated_to_open(conn, user, limit).await,
        Role::DmLeadership => db::in_state(conn, State::InApproval, limit).await,
        Role::Accounting => crate::approvals::db::to_process(conn, limit).await,
        _ => Ok(Vec::new()),
    }
}

/// The offboarding items waiting on the person in `role`, if they hold it.
async fn desk_items(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    role: Role,
    limit: i64,
) -> sqlx::Result<Vec<crate::checklists::db::DeskItem>> {
    if ctx.user.roles.contains(role) {
        crate::checklists::db::desk(conn, role, ctx.user.id, limit).await
    } else {
        Ok(Vec::new())
    }
}

async fn home(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<Vec<(String, String)>>,
) -> AppResult<HomePage> {
    let all = query.iter().any(|(k, v)| k == "all" && v == "1");
    let shown = if all { ALL_LIMIT } else { QUEUE_LIMIT };
    let limit = shown + 1;
    let (roles, me) = (ctx.user.roles, ctx.user.id);
    let mut conn = state.db.acquire().await?;
    let c = &mut *conn;
    let show_clients = roles.any_of(&[Role::AccountManager, Role::SemSpecialist]);
    let my_clients = if show_clients {
        my_clients(c, me, roles, limit).await?
    } else {
        Vec::new()
    };
    let decisions = decisions(c, &ctx, state.clock.today(), limit).await?;
    let sections = fill(c, &ctx, decisions, limit).await?;
    let (sem, ops) = (
        roles.contains(Role::SemSpecialist),
        roles.contains(Role::OpsLead),
    );
    let contractor = roles.contains(Role::Contractor);
    let admin = roles.contains(Role::Admin);
    let mut page = HomePage {
        chrome: Chrome::new(&state, &ctx, "/"),
        my_clients,
        show_clients,
        sections,
        questions: when(
            sem,
            crate::change_requests::questions::waiting_for(c, me, limit),
        )
        .await?,
        tasks: when(ops, crate::operations::db::open_tasks(c, limit)).await?,
        sem_tasks: when(sem, crate::operations::db::open_sem_tasks(c, me, limit)).await?,
        contractor_items: desk_items(c, &ctx, Role::Contractor, limit).await?,
        // What the contractor did lately: a record, not work waiting, so it is not cut.
        contractor_done: when(
            contractor,
            crate::checklists::db::recently_done(c, me, QUEUE_LIMIT),
        )
        .await?,
        sem_items: desk_items(c, &ctx, Role::SemSpecialist, limit).await?,
        flagged_steps: when(admin, crate::approvals::admin::flagged(c, limit)).await?,
        orphaned: when(admin, waiting_on_admin(c, limit)).await?,
        ops_items: desk_items(c, &ctx, Role::OpsLead, limit).await?,
        first_run: first_run(
            c,
            admin && !state.config.demo,
            state.config.mail.smtp.is_some(),
        )
        .await?,
        cut: Vec::new(),
        shown,
        all,
    };
    page.cut_lists();
    Ok(page)
}

impl HomePage {
    /// Each list cut to what the desk shows, the lists that go on named.
    fn cut_lists(&mut self) {
        let (shown, mut names) = (self.shown, Vec::new());
        for f in &mut self.sections {
            cut(&mut f.lines, shown, f.section.title, &mut names);
            cut(&mut f.decisions, shown, f.section.title, &mut names);
        }
        cut(&mut self.questions, shown, "Questions", &mut names);
        cut(&mut self.tasks, shown, "Change tasks waiting", &mut names);
        cut(&mut self.sem_tasks, shown, "Ads to pause", &mut names);
        cut(
            &mut self.contractor_items,
            shown,
            "My offboarding items",
            &mut names,
        );
        cut(&mut self.sem_items, shown, "Offboarding items", &mut names);
        cut(&mut self.ops_items, shown, "Offboarding items", &mut names);
        cut(
            &mut self.flagged_steps,
            shown,
            "Approval steps nobody can decide",
            &mut names,
        );
        cut(
            &mut self.orphaned,
            shown,
            "Requests waiting on someone who cannot act",
            &mut names,
        );
        cut(&mut self.my_clients, shown, "My clients", &mut names);
        self.cut = names;
    }
}

/// The setting-up list when `shown` and something on it is not done yet.
async fn first_run(
    c: &mut sqlx::PgConnection,
    shown: bool,
    mail_server: bool,
) -> sqlx::Result<Vec<crate::setup::first_run::Step>> {
    let steps = when(shown, crate::setup::first_run::steps(c, mail_server)).await?;
    Ok(if steps.iter().all(|s| s.done) {
        Vec::new()
    } else {
        steps
    })
}

/// What `list` reads when `shown`; nothing (and no statement) otherwise.
async fn when<T>(
    shown: bool,
    list: impl std::future::Future<Output = sqlx::Result<Vec<T>>>,
) -> sqlx::Result<Vec<T>> {
    if shown { list.await } else { Ok(Vec::new()) }
}

/// The clients the person manages or works on, by name.
async fn my_clients(
    conn: &mut sqlx::PgConnection,
    user: i64,
    roles: RoleSet,
    limit: i64,
) -> sqlx::Result<Vec<ClientLine>> {
    const SIDE: &str = "SELECT id, name, crm_account_id, status, monthly_budget_cents FROM clients";
    // The desk's limit (one of two numbers) written into the statement, so each keeps its plan.
    let order = format!("ORDER BY lower(name), id LIMIT {limit}");
    let (am, sem) = (
        roles.contains(Role::AccountManager),
        roles.contains(Role::SemSpecialist),
    );
    // Only the sides the person's roles have. With both, one ordered index scan per side (an
    // OR would read every client); with one, that scan alone, whose plan PostgreSQL keeps (the
    // union of both was planned on every execution: the plan for a person known to have no
    // clients on one side looked cheaper than the plan for anyone).
    let query = match (am, sem) {
        (true, true) => format!(
            "SELECT * FROM (({SIDE} WHERE account_manager_id = $1 {order})
                            UNION
                            ({SIDE} WHERE sem_specialist_id = $1 {order})) mine {order}"
        ),
        (true, false) => format!("{SIDE} WHERE account_manager_id = $1 {order}"),
        (false, true) => format!("{SIDE} WHERE sem_specialist_id = $1 {order}"),
        (false, false) => return Ok(Vec::new()),
    };
    sqlx::query_as(sqlx::AssertSqlSafe(query))
        .bind(user)
        .fetch_all(conn)
        .await
}

/// Approval steps waiting on the person: named for them (or for someone they stand in for
/// today), or for any holder of a role they hold. Only people who can be asked to decide (the
/// roles the chain and the admin's hand-over offer) are asked.
async fn decisions(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    today: chrono::NaiveDate,
    limit: i64,
) -> sqlx::Result<Vec<crate::approvals::db::Waiting>> {
    let deciders = crate::approvals::DECIDER_ROLES;
    if !ctx.user.roles.any_of(deciders) {
        return Ok(Vec::new());
    }
    let roles: RoleSet = ctx
        .user
        .roles
        .iter()
        .filter(|r| deciders.contains(r))
        .collect();
    crate::approvals::db::waiting_on(conn, ctx.user.id, roles, today, limit).await
}

/// The person's sections, each with its queue; the decisions go to the first section that
/// shows them.
async fn fill(
    conn: &mut sqlx::PgConnection,
    ctx: &Ctx,
    mut decisions: Vec<crate::approvals::db::Waiting>,
    limit: i64,
) -> sqlx::Result<Vec<Filled>> {
    let mut all_sections = sections(ctx.user.roles);
    if !decisions.is_empty() && !ctx.user.roles.any_of(&[Role::Approver, Role::Finance]) {
        // Handed a step without being an approver: it still waits on them, on their desk.
        let section = Section {
            role: Role::Approver,
            title: "Waiting on my decision",
            empty: "",
        };
        all_sections.insert(0, section);
    }
    let mut filled = Vec::new();
    for section in all_sections {
        let lines = queue(conn, section.role, ctx.user.id, limit).await?;
        let mine = if matches!(section.role, Role::Approver | Role::Finance) {
            std::mem::take(&mut decisions)
        } else {
            Vec::new()
        };
        filled.push(Filled {
            section,
            lines,
            decisions: mine,
        });
    }
    Ok(filled)
}

/// Requests waiting on the admin: no account manager can act, or their SEM work rests on
/// someone who can no longer do it.
async fn waiting_on_admin(
    conn: &mut sqlx::PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<QueueLine>> {
    let mut lines = db::without_account_manager(conn, limit).await?;
    lines.extend(crate::operations::sem_handover::waiting_on_admin(conn, limit).await?);
    lines.extend(crate::checklists::db::waiting_on_a_role(conn, limit).await?);
    // Three lists in one, oldest first before the desk cuts it (each is oldest first).
    lines.sort_by_key(|l| (l.state_changed_at, l.id));
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::roles::RoleSet;

    #[test]
    fn every_role_has_its_own_section_title() {
        let titles: Vec<&str> = sections(Role::ALL.into_iter().collect())
            .iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(titles.len(), Role::ALL.len());
        let mut unique = titles.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), titles.len(), "{titles:?}");
    }

    #[test]
    fn a_user_sees_only_the_sections_of_roles_they_hold() {
        let roles: RoleSet = [Role::Finance, Role::Admin].into_iter().collect();
        let s = sections(roles);
        assert_eq!(
            s.iter().map(|s| s.role).collect::<Vec<_>>(),
            vec![Role::Finance, Role::Admin]
        );
        assert!(sections(RoleSet::EMPTY).is_empty());
    }
}
