//! The request's handlers: file, read, edit, withdraw, list; in their own files, asking and
//! answering questions, commenting, attaching the signed document. Each checks who asks,
//! parses, calls the rules and the statements in `db`, records, and answers.

pub mod attachments;
pub mod comments;
pub mod questions;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::change_requests::db::{self, Filed, RequestRow};
use crate::change_requests::form::{self, RequestForm};
use crate::change_requests::rules::{self, Escalation, State as RequestState};
use crate::change_requests::views::{
    FormPage, ListPage, ShowPage, TIMELINE_SHOWN, form_of, lists, page, page_with_history,
    show_page,
};
use crate::web::AppState;
use crate::web::ctx::{Ctx, commit_and_go};
use crate::web::error::{AppError, AppResult};
use crate::web::fields::FieldErrors;
use crate::web::pages::{Chrome, Keyset};

fn parse(
    page: &FormPage,
    fixed: Option<(Escalation, Option<i64>)>,
    today: chrono::NaiveDate,
) -> Result<form::Details, FieldErrors> {
    let reasons: Vec<i64> = page.reasons.iter().map(|reason| reason.id).collect();
    let tl: Vec<i64> = page.team_leads.iter().map(|person| person.id).collect();
    let dm: Vec<i64> = page
        .department_managers
        .iter()
        .map(|person| person.id)
        .collect();
    form::parse(
        &page.form,
        &form::Choices {
            today,
            reasons: &reasons,
            team_leads: &tl,
            department_managers: &dm,
            fixed_escalation: fixed,
        },
    )
}

/// The client, if `ctx` may file for it; otherwise why not.
async fn client_for_filing(
    conn: &mut PgConnection,
    ctx: &Ctx,
    client_id: i64,
) -> AppResult<crate::clients::db::ClientRow> {
    let client = crate::clients::db::find(conn, client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    rules::may_file(ctx.who(), client.account_manager_id)
        .map_err(|refusal| AppError::Refused(refusal.0.into()))?;
    Ok(client)
}

async fn overlap_warning(
    conn: &mut PgConnection,
    client_id: i64,
    today: chrono::NaiveDate,
) -> AppResult<Option<String>> {
    Ok(db::approved_pending(conn, client_id, today).await?.map(|(id, date)| {
        format!(
            "Approved change request #{id} for this client takes effect on {}: a new request overlaps it.",
            crate::time::day(date)
        )
    }))
}

#[tracing::instrument(level = "debug", skip_all, fields(client_id))]
pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(client_id): Path<i64>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let client = client_for_filing(&mut conn, &ctx, client_id).await?;
    if let Some(open) = db::open_for_client(&mut conn, client_id).await? {
        return Ok(crate::web::flash::redirect(
            &format!("/requests/{open}"),
            format!(
                "{} already has an open change request; here it is.",
                client.name
            ),
        ));
    }
    let form = RequestForm {
        current_budget: crate::money::cents_for_input(client.monthly_budget_cents),
        escalation: "retention".into(),
        ..Default::default()
    };
    let lists = lists(&mut conn, None).await?;
    let mut page = page(&state, &ctx, (client.id, client.name), None, form, lists);
    page.warning = overlap_warning(&mut conn, client_id, state.clock.today()).await?;
    Ok(page.into_response())
}

#[tracing::instrument(level = "debug", skip_all, fields(client_id))]
pub(super) async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(client_id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let client = client_for_filing(&mut tx, &ctx, client_id).await?;
    let lists = lists(&mut tx, None).await?;
    let mut page = page(
        &state,
        &ctx,
        (client.id, client.name.clone()),
        None,
        form,
        lists,
    );
    let details = match parse(&page, None, state.clock.today()) {
        Ok(d) => d,
        Err(errors) => {
            page.errors = errors;
            page.warning = overlap_warning(&mut tx, client_id, state.clock.today()).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let initial = rules::initial_state(details.escalation);
    let id = match db::insert(&mut tx, client_id, ctx.user.id, &details, initial).await? {
        Filed::Ok(id) => id,
        Filed::AlreadyOpen => {
            // Someone filed for this client a moment ago: show theirs, keep nothing half-made.
            drop(tx);
            return show_the_open_one(&state, client_id, &client.name).await;
        }
    };
    if details.escalation == Escalation::Retention {
        crate::retention::db::open(&mut tx, id).await?;
    }
    let record = json!({ "client_id": client_id, "kind": details.kind, "escalation": details.escalation, "state": initial });
    let actor = Actor::from_ctx(&ctx);
    audit::on_request(&mut tx, &actor, "change_request.filed", id, record).await?;
    // The escalation's emails go out with the filing or not at all.
    let by = &ctx.user.display_name;
    crate::change_requests::notify::escalated(
        &mut tx,
        &state.config,
        id,
        &client.name,
        &details,
        by,
    )
    .await?;
    let mut message = format!("Change request filed for {}.", client.name);
    if let Some(w) = overlap_warning(&mut tx, client_id, state.clock.today()).await? {
        message = format!("{message} Note: {w}");
    }
    commit_and_go(tx, &format!("/requests/{id}"), &message).await
}

/// Sends the person to the client's open request, saying why.
async fn show_the_open_one(
    state: &AppState,
    client_id: i64,
    client_name: &str,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let open = db::open_for_client(&mut conn, client_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = format!("{client_name} already has an open change request; here it is.");
    Ok(crate::web::flash::redirect(
        &format!("/requests/{open}"),
        message,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ShowQuery {
    #[serde(default)]
    history: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> AppResult<ShowPage> {
    let shown = (q.history != "all").then_some(TIMELINE_SHOWN);
    page_with_history(&state, &ctx, id, shown).await
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> AppResult<FormPage> {
    let mut conn = state.db.acquire().await?;
    let request = db::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    rules::may_edit(ctx.who(), request.facts()).map_err(|e| AppError::Refused(e.0.into()))?;
    let lists = lists(&mut conn, Some(request.reason_id)).await?;
    let mut page = page(
        &state,
        &ctx,
        (request.client_id, request.client_name.clone()),
        Some(id),
        form_of(&request),
        lists,
    );
    page.reinstates = request.reverses_id;
    Ok(page)
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> AppResult<Response> {
    let back = format!("/requests/{id}");
    let mut tx = state.db.begin().await?;
    let before = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if let Err(refusal) = rules::may_edit(ctx.who(), before.facts()) {
        return commit_and_go(tx, &back, &format!("Nothing was saved. {refusal}")).await;
    }
    let version = form.version;
    let lists = lists(&mut tx, Some(before.reason_id)).await?;
    let client = (before.client_id, before.client_name.clone());
    let mut page = page(&state, &ctx, client, Some(id), form, lists);
    page.reinstates = before.reverses_id;
    // The escalation was acted on when filed; editing keeps it.
    let kept = Some((before.escalation, before.escalated_to));
    let checked = parse(&page, kept, state.clock.today())
        .and_then(|d| form::check_edit(before.settled(), d.terms()).map(|()| d));
    let details = match checked {
        Ok(details) => details,
        Err(errors) => return Ok(again(page, errors)),
    };
    let Some(new_version) = db::update_details(&mut tx, id, version, &details).await? else {
        page.conflict = Some("Someone else changed this request while you were editing. What they saved is on the request's page; your changes are below. Save again to apply them.".into());
        page.form.version = before.version;
        return Ok(again(page, FieldErrors::default()));
    };
    let after = db::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let changes = changes(&before, &after);
    if changes.is_empty() {
        // Saved as it was: the version stays, so nobody editing meanwhile meets a conflict.
        tx.rollback().await?;
        let tx = state.db.begin().await?;
        return commit_and_go(tx, &back, "Nothing changed.").await;
    }
    // A signature is for the terms it was given: new budgets or a new date need a new one.
    let superseded = before.signed_terms_differ(&after)
        && crate::change_requests::attachments::supersede(&mut tx, id).await? > 0;
    let actor = Actor::from_ctx(&ctx);
    let now = state.clock.now();
    let voided =
        crate::signing::flow::void_if_terms_changed(&mut tx, &state.config, &after, &actor, now)
            .await?;
    let record = json!({
        "changes": changes.into_json(),
        "version": new_version,
        "signed_document_superseded": superseded,
    });
    audit::on_request(&mut tx, &actor, "change_request.edited", id, record).await?;
    let mut message = if superseded {
        "Change request saved. The signed addendum no longer matches the new terms: attach one the client signed for them before submitting.".to_string()
    } else {
        "Change request saved.".to_string()
    };
    if let Some(voided) = voided {
        message.push(' ');
        message.push_str(&voided);
    }
    commit_and_go(tx, &back, &message).await
}

/// The form again, as typed, with what needs another look.
fn again(mut page: FormPage, errors: FieldErrors) -> Response {
    page.errors = errors;
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// What an edit changed, field by field, for the audit record.
fn changes(before: &RequestRow, after: &RequestRow) -> audit::Changes {
    let mut changes = audit::Changes::default();
    changes
        .field("kind", before.kind, after.kind)
        .field("cancel_scope", before.cancel_scope, after.cancel_scope)
        .field(
            "effective_date",
            before.effective_date,
            after.effective_date,
        )
        .field("resume_date", before.resume_date, after.resume_date)
        .field(
            "current_budget_cents",
            before.current_budget_cents,
            after.current_budget_cents,
        )
        .field(
            "new_budget_cents",
            before.new_budget_cents,
            after.new_budget_cents,
        )
        .field("reason", &before.reason, &after.reason)
        .field("reason_text", &before.reason_text, &after.reason_text)
        .field("product_notes", &before.product_notes, &after.product_notes)
        .field("credit_cents", before.credit_cents, after.credit_cents)
        .field("credit_reason", &before.credit_reason, &after.credit_reason);
    changes
}

#[derive(Debug, Deserialize)]
pub(super) struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

#[tracing::instrument(level = "debug", skip_all, fields(request = id))]
pub(super) async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<WithdrawForm>,
) -> AppResult<Response> {
    let reason =
        match crate::web::text::required(&form.reason, 2000, "Say why the request is withdrawn.") {
            Ok(reason) => reason,
            Err(message) => {
                let mut page = show_page(&state, &ctx, id).await?;
                page.withdraw.text = form.reason;
                page.withdraw.error = message;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        };
    let mut tx = state.db.begin().await?;
    let request = db::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let message = match rules::may_withdraw(ctx.who(), request.facts()) {
        Err(refusal) => format!(
            "Nothing changed: the request is {}. {}",
            request.state_label().to_lowercase(),
            refusal.0
        ),
        Ok(()) => {
            db::transition(&mut tx, id, request.state, RequestState::Withdrawn).await?;
            if request.state == RequestState::InApproval {
                crate::approvals::chain::withdrawn_in_approval(&mut tx, &state, &request, &reason)
                    .await?;
            }
            db::set_withdrawn_reason(&mut tx, id, &reason).await?;
            let actor = Actor::from_ctx(&ctx);
            let reason_void = "the request was withdrawn";
            let voided = crate::signing::flow::void_and_tell(
                &mut tx,
                &state.config,
                &request,
                reason_void,
                &actor,
                state.clock.now(),
            )
            .await?;
            audit::on_request(
                &mut tx,
                &Actor::from_ctx(&ctx),
                "change_request.withdrawn",
                id,
                json!({ "reason": reason, "from": request.state }),
            )
            .await?;
            match voided {
                Some(v) => format!(
                    "Change request withdrawn. The link waiting for {}'s signature is voided, and they are told so.",
                    v.signer_name
                ),
                None => "Change request withdrawn.".to_string(),
            }
        }
    };
    commit_and_go(tx, &format!("/requests/{id}"), &message).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    state: Option<String>,
    before: Option<i64>,
    after: Option<i64>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> AppResult<ListPage> {
    let filter = q.state.as_deref().and_then(RequestState::from_key);
    let mut pager = Keyset::new(q.before, q.after, 50);
    pager.keep = format!("&state={}", filter.map(RequestState::key).unwrap_or(""));
    let mut conn = state.db.acquire().await?;
    let rows = db::page(&mut conn, filter, &pager).await?;
    Ok(ListPage {
        chrome: Chrome::new(&state, &ctx, "/requests"),
        requests: pager.trim(rows, |r| r.id),
        state: filter.map(RequestState::key).unwrap_or("").to_string(),
        states: RequestState::ALL,
        pager,
    })
}
