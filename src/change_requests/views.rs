//! The request's pages: the filing and editing form, the request's page built from each
//! domain's panel, the list.

use askama::Template;
use askama_web::WebTemplate;
use sqlx::PgConnection;

use super::db::{self, QueueLine, ReasonOption, RequestRow};
use super::form::RequestForm;
use super::rules::{self, CancelScope, Escalation, Kind, State as RequestState};
use super::timeline::Timeline;
use crate::auth::roles::Role;
#[allow(unused_imports)] // the signature panel's template names its states
use crate::signing::rules::State as SignatureState;
use crate::users::db::PersonOption;
use crate::web::AppState;
use crate::web::ctx::Ctx;
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::filters;
use crate::web::pages::{Chrome, Keyset};

/// The filing and editing form.
#[derive(Template, WebTemplate)]
#[template(path = "change_requests/form.html")]
pub(super) struct FormPage {
    chrome: Chrome,
    pub(super) client_id: i64,
    client_name: String,
    /// None when filing.
    request_id: Option<i64>,
    /// The request a reinstatement undoes: its terms are shown, not offered for editing.
    pub(super) reinstates: Option<i64>,
    pub(super) form: RequestForm,
    pub(super) errors: FieldErrors,
    pub(super) conflict: Option<String>,
    pub(super) warning: Option<String>,
    pub(super) reasons: Vec<ReasonOption>,
    pub(super) team_leads: Vec<PersonOption>,
    pub(super) department_managers: Vec<PersonOption>,
    kinds: [Kind; 3],
    escalations: [Escalation; 4],
}

impl FormPage {
    /// A reinstatement's terms, sent back as they are.
    fn fixed_terms(&self) -> [(&'static str, &str); 6] {
        let f = &self.form;
        [
            ("kind", &f.kind),
            ("cancel_scope", &f.cancel_scope),
            ("effective_date", &f.effective_date),
            ("resume_date", &f.resume_date),
            ("current_budget", &f.current_budget),
            ("new_budget", &f.new_budget),
        ]
    }

    /// A reinstatement's terms as the page shows them.
    fn fixed_summary(&self) -> Vec<(&'static str, String)> {
        let f = &self.form;
        let day = |s: &str| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map(crate::time::day)
                .unwrap_or_else(|_| s.to_string())
        };
        let kind = Kind::from_key(f.kind.trim());
        let mut rows = vec![(
            "What",
            kind.map_or(f.kind.clone(), |k| k.label().to_string()),
        )];
        match kind {
            Some(Kind::Cancellation) => rows.push((
                "What is cancelled",
                CancelScope::from_key(f.cancel_scope.trim())
                    .map_or(f.cancel_scope.clone(), |s| s.label().to_string()),
            )),
            Some(Kind::Addendum) => rows.push((
                "Monthly budget",
                format!("${} → ${}", f.current_budget.trim(), f.new_budget.trim()),
            )),
            _ => {}
        }
        rows.push(("Effective date", day(&f.effective_date)));
        if kind == Some(Kind::Pause) {
            let resume = if f.resume_date.trim().is_empty() {
                "when known".to_string()
            } else {
                day(&f.resume_date)
            };
            rows.push(("Resume date", resume));
        }
        rows
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let v = match field {
            "kind" => &self.form.kind,
            "cancel_scope" => &self.form.cancel_scope,
            "reason_id" => &self.form.reason_id,
            "escalation" => &self.form.escalation,
            "escalated_to" => &self.form.escalated_to,
            _ => return false,
        };
        v.trim() == value
    }
}

pub(super) struct Lists {
    reasons: Vec<ReasonOption>,
    team_leads: Vec<PersonOption>,
    department_managers: Vec<PersonOption>,
}

pub(super) async fn lists(conn: &mut PgConnection, keep_reason: Option<i64>) -> AppResult<Lists> {
    Ok(Lists {
        reasons: db::reasons(conn, keep_reason).await?,
        team_leads: crate::users::db::people_with_role(conn, Role::TeamLead.key()).await?,
        department_managers: crate::users::db::people_with_role(
            conn,
            Role::DepartmentManager.key(),
        )
        .await?,
    })
}

pub(super) fn page(
    state: &AppState,
    ctx: &Ctx,
    client: (i64, String),
    request_id: Option<i64>,
    form: RequestForm,
    lists: Lists,
) -> FormPage {
    FormPage {
        chrome: Chrome::new(state, ctx, "/requests"),
        client_id: client.0,
        client_name: client.1,
        request_id,
        reinstates: None,
        form,
        errors: FieldErrors::default(),
        conflict: None,
        warning: None,
        reasons: lists.reasons,
        team_leads: lists.team_leads,
        department_managers: lists.department_managers,
        kinds: Kind::ALL,
        escalations: Escalation::ALL,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "change_requests/show.html")]
pub struct ShowPage {
    chrome: Chrome,
    r: RequestRow,
    may_edit: bool,
    /// Each part of the page, owned by its domain (its struct beside its rules, its partial
    /// template in the domain's folder).
    pub approval: crate::approvals::views::ApprovalPanel,
    pub sem: crate::operations::views::SemTaskPanel,
    pub checklist: crate::checklists::views::ChecklistPanel,
    pub retention: crate::retention::views::RetentionPanel,
    pub questions: super::questions::QuestionsPanel,
    pub attachments: super::attachments::AttachmentsPanel,
    pub signature: crate::signing::views::SignaturePanel,
    pub comments: super::comments::CommentsPanel,
    pub reinstate: crate::operations::reinstate::ReinstatePanel,
    pub withdraw: WithdrawPanel,
    pub timeline: Timeline,
}

/// Withdrawing, for the request's owner, with the reason as typed when it needs another look.
#[derive(Debug, Default)]
pub struct WithdrawPanel {
    pub may: bool,
    pub text: String,
    pub error: String,
}

/// How many of the latest timeline entries a request's page shows; the rest are a click away.
pub(super) const TIMELINE_SHOWN: i64 = 100;

/// The request's page, with the latest part of its timeline.
pub async fn show_page(state: &AppState, ctx: &Ctx, id: i64) -> AppResult<ShowPage> {
    page_with_history(state, ctx, id, Some(TIMELINE_SHOWN)).await
}

/// The request's page with the latest `shown` timeline entries (all with `None`).
#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn page_with_history(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    shown: Option<i64>,
) -> AppResult<ShowPage> {
    let mut conn = state.db.acquire().await?;
    let (r, has) = db::find_for_page(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (viewer, today, now) = (ctx.who(), state.clock.today(), state.clock.now());
    let c = &mut *conn;
    use crate::{approvals, checklists, operations, retention, signing};
    Ok(ShowPage {
        chrome: Chrome::new(state, ctx, "/requests"),
        may_edit: rules::may_edit(viewer, r.facts()).is_ok(),
        timeline: Timeline::load(c, id, shown).await?,
        retention: retention::views::RetentionPanel::load(c, &r, viewer, today).await?,
        questions: super::questions::QuestionsPanel::load(c, &r, has.questions, viewer).await?,
        attachments: super::attachments::AttachmentsPanel::load(c, &r, has.attachments, viewer)
            .await?,
        signature: signing::views::SignaturePanel::load(c, &r, has.signature_requests, viewer, now)
            .await?,
        comments: super::comments::CommentsPanel::load(c, &r, has.comments, viewer).await?,
        approval: approvals::views::panel(c, viewer, &r, today).await?,
        sem: operations::views::SemTaskPanel::load(c, id, has.sem_task, viewer).await?,
        reinstate: operations::reinstate::ReinstatePanel::new(&r, has.reversal_open, viewer, today),
        checklist: checklists::views::ChecklistPanel::load(c, &r, has.checklist, viewer).await?,
        withdraw: WithdrawPanel {
            may: rules::may_withdraw(viewer, r.facts()).is_ok(),
            ..Default::default()
        },
        r,
    })
}

/// The form filled with the request as it is, for editing.
pub(super) fn form_of(r: &RequestRow) -> RequestForm {
    RequestForm {
        kind: r.kind.key().to_string(),
        cancel_scope: r
            .cancel_scope
            .map(CancelScope::key)
            .unwrap_or_default()
            .to_string(),
        effective_date: r.effective_date.to_string(),
        resume_date: r.resume_date.map(|d| d.to_string()).unwrap_or_default(),
        current_budget: r
            .current_budget_cents
            .map(crate::money::cents_for_input)
            .unwrap_or_default(),
        new_budget: r
            .new_budget_cents
            .map(crate::money::cents_for_input)
            .unwrap_or_default(),
        reason_id: r.reason_id.to_string(),
        reason_text: r.reason_text.clone(),
        product_notes: r.product_notes.clone(),
        credit: r
            .credit_cents
            .map(crate::money::cents_for_input)
            .unwrap_or_default(),
        credit_reason: r.credit_reason.clone().unwrap_or_default(),
        escalation: r.escalation.key().to_string(),
        escalated_to: r.escalated_to.map(|i| i.to_string()).unwrap_or_default(),
        confirm_date: None,
        version: r.version,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "change_requests/list.html")]
pub(super) struct ListPage {
    pub(super) chrome: Chrome,
    pub(super) requests: Vec<QueueLine>,
    pub(super) state: String,
    pub(super) states: [RequestState; 7],
    pub(super) pager: Keyset,
}
