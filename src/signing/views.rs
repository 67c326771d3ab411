//! The signature part of a request's page: what was sent to whom and what came of it, and the
//! form that prepares and sends the addendum.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::flow::{self, SignatureRow, SignerForm};
use crate::auth::roles::Who;
use crate::change_requests::db::RequestRow;
use crate::change_requests::rules;
use crate::web::fields::FieldErrors;

#[derive(Debug, Default)]
pub struct SignaturePanel {
    /// Something to sign, or something sent for signature before.
    pub shown: bool,
    /// An addendum with both budgets: something to sign (a request that stopped being one
    /// shows what was sent, and no form).
    pub to_sign: bool,
    /// Newest first.
    pub requests: Vec<SignatureRow>,
    /// The one waiting on the signer, if any (the first of `requests`).
    pub waiting: bool,
    /// The account manager (or Retention on one they converted) may send, resend and void.
    pub may_send: bool,
    /// A signed document (sealed here or uploaded) matching the terms is attached: nothing is
    /// left to sign.
    pub signed_attached: bool,
    pub form: SignerForm,
    pub errors: FieldErrors,
    pub now: Option<DateTime<Utc>>,
}

impl SignaturePanel {
    /// `any`: whether the request has signature requests (the page's probe read it); none, no
    /// statement.
    pub async fn load(
        conn: &mut PgConnection,
        r: &RequestRow,
        any: bool,
        viewer: Who,
        now: DateTime<Utc>,
    ) -> sqlx::Result<Self> {
        let to_sign = flow::signed_terms(r).is_some();
        if !to_sign && !any {
            return Ok(SignaturePanel::default());
        }
        let requests = if any {
            flow::for_request(conn, r.id).await?
        } else {
            Vec::new()
        };
        let waiting = requests.first().is_some_and(|s| s.waiting(now));
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Ok(SignaturePanel {
            shown: true,
            to_sign,
            waiting,
            may_send: to_sign && rules::may_attach(viewer, r.facts(), r.kind).is_ok(),
            signed_attached: r.attachment_count > 0,
            form: SignerForm {
                signer_name: text(&r.client_signer_name),
                signer_title: text(&r.client_signer_title),
                signer_email: text(&r.client_signer_email),
            },
            requests,
            errors: FieldErrors::default(),
            now: Some(now),
        })
    }

    pub fn state_of(&self, s: &SignatureRow) -> &'static str {
        s.shown_state(self.now.unwrap_or_else(Utc::now))
    }
}

/// The client's signing contact on the client's page: shown to all, changed by its account
/// manager and the client editors.
#[derive(Debug, Default)]
pub struct ContactForm {
    pub may_change: bool,
    pub form: SignerForm,
    pub errors: FieldErrors,
}

impl ContactForm {
    pub fn of(client: &crate::clients::db::ClientRow, may_change: bool) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        ContactForm {
            may_change,
            form: SignerForm {
                signer_name: text(&client.signer_name),
                signer_title: text(&client.signer_title),
                signer_email: text(&client.signer_email),
            },
            errors: FieldErrors::default(),
        }
    }

    /// Known: a name and an address.
    pub fn known(&self) -> bool {
        !self.form.signer_email.is_empty()
    }
}
