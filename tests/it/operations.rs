//! After approval, against the database: the change task's actions with their audit and
//! emails, the SEM pause task, completion, reminders sent exactly once, the planner's CSV and
//! calendar feed parsed back.

use chrono::{Duration, NaiveDate, Utc};
use offboarding_desk::auth::roles::Role;

use crate::support::fixtures::{Chain, chain, new_client};
use crate::support::{client, location};

pub(crate) struct Ops {
    pub c: Chain,
    pub ops_cookie: String,
    pub sem: i64,
    pub sem_cookie: String,
}

pub(crate) async fn ops() -> Ops {
    ops_from(chain().await).await
}

/// The Ops Lead and two SEM specialists added to `c`.
pub(crate) async fn ops_from(c: Chain) -> Ops {
    let ops = c.app.user("ops@agency.test", &[Role::OpsLead]).await;
    let sem = c.app.user("sem@agency.test", &[Role::SemSpecialist]).await;
    c.app.user("sem2@agency.test", &[Role::SemSpecialist]).await;
    sqlx::query("UPDATE clients SET sem_specialist_id = $1")
        .bind(sem)
        .execute(&c.app.db)
        .await
        .unwrap();
    Ops {
        ops_cookie: c.app.session_cookie(ops).await,
        sem_cookie: c.app.session_cookie(sem).await,
        sem,
        c,
    }
}

impl Ops {
    /// Files, submits and approves a request; returns (request id, change task id).
    pub async fn approved(&self, client_id: i64, extra: &[(&str, &str)]) -> (i64, i64) {
        let c = &self.c;
        let id = c.file_for(client_id, extra).await;
        c.submit(&c.am_cookie, id).await;
        for cookie in [&c.jeremy_cookie, &c.dustin_cookie] {
            let step = c.pending_step(id).await;
            c.decide(cookie, step, "approve", "").await;
        }
        assert_eq!(c.state(id).await, "approved");
        let task = sqlx::query_scalar("SELECT id FROM change_tasks WHERE change_request_id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
        (id, task)
    }

    pub async fn act(&self, task: i64, action: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.c
            .post(&self.ops_cookie, &format!("/tasks/{task}/{action}"), form)
            .await
    }

    /// A pause approved, forwarded, on the planner and recorded as paused from 30 days on;
    /// returns (request id, change task id).
    pub async fn paused(&self) -> (i64, i64) {
        let c = &self.c;
        let (original, task) = self
            .approved(c.client_id, &[("kind", "pause"), ("cancel_scope", "")])
            .await;
        self.act(
            task,
            "forward",
            &[("sem_specialist", &self.sem.to_string())],
        )
        .await;
        self.act(task, "planner", &[]).await;
        let effective = in_days(30);
        self.act(
            task,
            "status",
            &[("status", "paused"), ("effective_date", &effective)],
        )
        .await;
        (original, task)
    }

    async fn task_flash(&self, task: i64) -> String {
        crate::support::flash(
            &self
                .c
                .page(&self.ops_cookie, &format!("/tasks/{task}"))
                .await,
        )
    }
}

pub(crate) fn in_days(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

#[tokio::test]
async fn the_ops_lead_works_the_change_task_and_the_request_completes_when_all_is_done() {
    let o = ops().await;
    let c = &o.c;
    let resume = in_days(90);
    let (id, task) = o
        .approved(
            c.client_id,
            &[
                ("kind", "pause"),
                ("cancel_scope", ""),
                ("resume_date", &resume),
            ],
        )
        .await;
    // The Ops Lead's desk lists it.
    assert!(
        c.page(&o.ops_cookie, "/")
            .await
            .contains(&format!("/tasks/{task}"))
    );

    // Done too early: refused, with what remains.
    assert_eq!(o.act(task, "done", &[]).await.status(), 303);
    assert!(o.task_flash(task).await.contains("Not everything is done"));

    // Forward: the specialist is emailed the notes and a link, and gets the pause task.
    let res = o
        .act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    assert_eq!(res.status(), 303);
    let (to, text): (Vec<String>, String) = sqlx::query_as(
        "SELECT to_addrs, body_text FROM outbox_messages WHERE kind = 'change_task.forwarded'",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(to, vec!["sem@agency.test"]);
    assert!(text.contains("Pause Google Ads") && text.contains(&format!("/tasks/{task}")));
    let due: NaiveDate =
        sqlx::query_scalar("SELECT due_on FROM sem_tasks WHERE change_request_id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(due.to_string(), in_days(30));
    assert!(c.page(&o.sem_cookie, "/").await.contains("Ads to pause"));
    // A second forward changes nothing and says so.
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    assert!(o.task_flash(task).await.contains("already forwarded"));
    assert_eq!(c.app.audit_count("change_task.forwarded").await, 1);

    // The planner, prefilled; its three reminders are scheduled.
    assert_eq!(o.act(task, "planner", &[]).await.status(), 303);
    let (entry, kind, resume_date): (i64, String, Option<NaiveDate>) = sqlx::query_as(
        "SELECT id, kind, resume_date FROM planner_entries WHERE change_request_id = $1",
    )
    .bind(id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), resume_date.map(|d| d.to_string())),
        ("pause", Some(resume))
    );
    let jobs: Vec<String> = sqlx::query_scalar(
        "SELECT key FROM scheduled_jobs WHERE key LIKE $1 AND state = 'pending' ORDER BY run_at",
    )
    .bind(format!("reminder:{entry}:%"))
    .fetch_all(&c.app.db)
    .await
    .unwrap();
    assert_eq!(
        jobs,
        vec![
            format!("reminder:{entry}:7"),
            format!("reminder:{entry}:1"),
            format!("reminder:{entry}:0")
        ]
    );

    // The status, with bad input answered beside the field first. Its date and budget are the
    // request's, not typed again.
    let res = o.act(task, "status", &[("status", "bogus")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"status-error\""));
    let res = o.act(task, "status", &[("status", "paused")]).await;
    assert_eq!(res.status(), 303);
    let status: String = sqlx::query_scalar("SELECT status FROM clients WHERE id = $1")
        .bind(c.client_id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    assert_eq!(status, "paused");
    let caused: Option<i64> = sqlx::query_scalar(
        "SELECT change_request_id FROM client_status_history WHERE client_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(c.client_id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(caused, Some(id), "the history names the request");

    assert_eq!(o.act(task, "done", &[]).await.status(), 303);
    assert!(o.task_flash(task).await.contains("Change task done."));
    assert_eq!(
        c.state(id).await,
        "approved",
        "Accounting and SEM still to do"
    );

    // SEM ticks the pause task; only its specialist may.
    let sem_task: i64 = sqlx::query_scalar("SELECT id FROM sem_tasks WHERE change_request_id = $1")
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    let other = c.app.user("sem3@agency.test", &[Role::SemSpecialist]).await;
    let other_cookie = c.app.session_cookie(other).await;
    c.post(&other_cookie, &format!("/sem-tasks/{sem_task}/done"), &[])
        .await;
    assert_eq!(c.app.audit_count("sem_task.done").await, 0);
    let res = c
        .post(
            &o.sem_cookie,
            &format!("/sem-tasks/{sem_task}/done"),
            &[("note", "Paused all campaigns")],
        )
        .await;
    assert_eq!(location(&res), format!("/requests/{id}"));
    assert_eq!(c.state(id).await, "approved");

    // Its dates may still be moved on the planner while it is approved, not once completed.
    let planner = c.page(&o.ops_cookie, "/planner?state=all").await;
    assert!(
        planner.contains(&format!("id=\"move-{entry}\"")),
        "{planner}"
    );
    // Accounting's processing is the last part: the request completes.
    c.post(
        &c.accounting_cookie,
        &format!("/requests/{id}/processed"),
        &[],
    )
    .await;
    assert_eq!(c.state(id).await, "completed");
    assert_eq!(c.app.audit_count("change_request.completed").await, 1);
    // Completed requests leave the queues and stay findable.
    assert!(
        !c.page(&o.ops_cookie, "/")
            .await
            .contains(&format!("/tasks/{task}"))
    );
    assert!(!c.page(&o.sem_cookie, "/").await.contains("Ads to pause"));
    assert!(
        c.page(&c.am_cookie, "/requests?state=completed")
            .await
            .contains(&format!("/requests/{id}"))
    );
    // Its planner line stays, with no move offered; a move sent from a tab opened before
    // (with a good date or a bad one, from a view showing it or one it is no longer in: a
    // pause, the view shows cancellations) changes nothing and says why.
    let planner = c.page(&o.ops_cookie, "/planner?state=all").await;
    assert!(planner.contains(&format!("data-entry=\"{entry}\"")));
    assert!(!planner.contains(&format!("id=\"move-{entry}\"")));
    let dates = || async {
        sqlx::query_as::<_, (NaiveDate, Option<NaiveDate>)>(
            "SELECT effective_date, resume_date FROM change_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&c.app.db)
        .await
        .unwrap()
    };
    let before = dates().await;
    let views = ["state=all", "state=all&kind=cancellation"];
    for (typed, view) in [in_days(50), "31/12".to_string()]
        .into_iter()
        .flat_map(|typed| views.map(|view| (typed.clone(), view)))
    {
        let res = c
            .post(
                &o.ops_cookie,
                &format!("/planner/{entry}?{view}"),
                &[("effective_date", typed.as_str())],
            )
            .await;
        assert_eq!(res.status(), 303, "{typed} from {view}");
        let said = crate::support::flash(&c.page(&o.ops_cookie, &location(&res)).await);
        assert!(
            said.starts_with("Nothing changed: the request for "),
            "{said}"
        );
        assert!(said.ends_with(" is completed."), "{said}");
    }
    assert_eq!(dates().await, before);
}

#[tokio::test]
async fn each_reminder_goes_once_with_two_workers_moves_with_its_date_and_stops_when_done() {
    let o = ops().await;
    let c = &o.c;
    let (id, task) = o.approved(c.client_id, &[]).await;
    o.act(task, "forward", &[("sem_specialist", &o.sem.to_string())])
        .await;
    o.act(task, "planner", &[]).await;
    let entry: i64 = sqlx::query_scalar("SELECT id FROM planner_entries")
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    // Each worker is its own runner, as each app instance is.
    let (w1, w2) = (
        offboarding_desk::server::job_runner(&c.app.state.config),
        offboarding_desk::server::job_runner(&c.app.state.config),
    );
    let runner = |_: u8| offboarding_desk::server::job_runner(&c.app.state.config);
    let reminders = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT subject FROM outbox_messages WHERE kind = 'planner.reminder' ORDER BY id",
        )
        .fetch_all(&c.app.db)
        .await
        .unwrap()
    };

    // Move the date two weeks later: the 7-day reminder's time moves with it.
    let before: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT run_at FROM scheduled_jobs WHERE key = $1")
            .bind(format!("reminder:{entry}:7"))
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let moved = in_days(44);
    // Made from a view of the planner sorted and paged: back to that view, at its page.
    let res = c
        .post(
            &o.ops_cookie,
            &format!("/planner/{entry}?state=all&sort=client&dir=desc&before={entry}"),
            &[("effective_date", &moved)],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/planner?month=&kind=&sem=&state=all&sort=client&dir=desc&before={entry}")
    );
    let after: chrono::DateTime<Utc> =
        sqlx::query_scalar("SELECT run_at FROM scheduled_jobs WHERE key = $1")
            .bind(format!("reminder:{entry}:7"))
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(after - before, Duration::days(14));
    let due: NaiveDate =
        sqlx::query_scalar("SELECT due_on FROM sem_tasks WHERE change_request_id = $1")
            .bind(id)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(due.to_string(), moved, "the pause task moved too");
    // Bad dates are answered beside the field.
    // In the view it was made from (a past-and-future one, sorted by kind), with links to
    // the planner's own address, not to the form's.
    let res = c
        .post(
            &o.ops_cookie,
            &format!("/planner/{entry}?state=all&sort=kind&dir=desc"),
            &[("effective_date", "31/12")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("id=\"move-error-{entry}\"")));
    assert!(html.contains("value=\"31/12\""), "what was typed is kept");
    assert!(
        html.contains(&format!(
            "action=\"/planner/{entry}?month=&#38;kind=&#38;sem=&#38;state=all&#38;sort=kind&#38;dir=desc\""
        )),
        "{html}"
    );
    assert!(
        !html.contains("href=\"?"),
        "no link relative to the form's address"
    );
    // The filters keep the order chosen in the headings; a page whose edge entry is no longer
    // in the view says so and leads to the first page.
    let sorted = c
        .page(&o.ops_cookie, "/planner?state=all&sort=client&dir=desc")
        .await;
    assert!(sorted.contains("<input type=\"hidden\" name=\"sort\" value=\"client\">"));
    assert!(sorted.contains("<input type=\"hidden\" name=\"dir\" value=\"desc\">"));
    let gone = c
        .page(&o.ops_cookie, "/planner?state=all&before=999999")
        .await;
    assert!(gone.contains("no longer in this view"), "{gone}");
    assert!(gone.contains("id=\"planner-first\""));

    // The clock jumps past the old dates: nothing (they moved).
    let old_day = Utc::now() + Duration::days(31);
    let (a, b) = tokio::join!(
        w1.run_due(&c.app.db, old_day),
        w2.run_due(&c.app.db, old_day)
    );
    a.unwrap();
    b.unwrap();
    assert!(reminders().await.is_empty());

    // Past the 7-day one, with two workers at once: exactly one.
    let seven = after + Duration::minutes(1);
    let (a, b) = tokio::join!(w1.run_due(&c.app.db, seven), w2.run_due(&c.app.db, seven));
    a.unwrap();
    b.unwrap();
    let sent = reminders().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("effective in 7 days"), "{sent:?}");
    let to: Vec<String> =
        sqlx::query_scalar("SELECT to_addrs FROM outbox_messages WHERE kind = 'planner.reminder'")
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(
        to,
        vec!["sem2@agency.test", "sem@agency.test"],
        "the specialist and the SEM team"
    );

    // A restarted worker, far past every date: the other two, once each.
    let end = Utc::now() + Duration::days(60);
    runner(3).run_due(&c.app.db, end).await.unwrap();
    runner(4).run_due(&c.app.db, end).await.unwrap();
    let sent = reminders().await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[1].contains("tomorrow") && sent[2].contains("today"),
        "{sent:?}"
    );

    // A withdrawn request's reminders send nothing.
    let other_client = new_client(&c.app, c.am, "Summit Powersports").await;
    let (other, other_task) = o.approved(other_client, &[]).await;
    o.act(other_task, "planner", &[]).await;
    sqlx::query("UPDATE change_requests SET state = 'withdrawn' WHERE id = $1")
        .bind(other)
        .execute(&c.app.db)
        .await
        .unwrap();
    runner(5).run_due(&c.app.db, end).await.unwrap();
    assert_eq!(reminders().await.len(), 3);
}

#[tokio::test]
async fn the_planner_sheet_filters_and_exports_a_safe_csv_and_a_valid_calendar_feed() {
    let o = ops().await;
    let c = &o.c;
    let sneaky = new_client(&c.app, c.am, "=HYPERLINK(\"http://evil.test\",\"x\")").await;
    let (_, t1) = o.approved(c.client_id, &[]).await;
    let (_, t2) = o
        .approved(sneaky, &[("kind", "pause"), ("cancel_scope", "")])
        .await;
    for t in [t1, t2] {
        o.act(t, "planner", &[]).await;
    }
    let page = c.page(&c.am_cookie, "/planner").await;
    assert!(page.contains("Lakeside RV Center"));
    let page = c.page(&c.am_cookie, "/planner?kind=pause").await;
    assert!(!page.contains("Lakeside RV Center"), "filtered by kind");
    let entry: i64 = sqlx::query_scalar("SELECT id FROM planner_entries WHERE client_id = $1")
        .bind(sneaky)
        .fetch_one(&c.app.db)
        .await
        .unwrap();
    // Moving the pause to a resume date before its effective date: the message is about the
    // resume date, and that is the field marked.
    let res = c
        .post(
            &o.ops_cookie,
            &format!("/planner/{entry}?state=all"),
            &[
                ("effective_date", &in_days(40)),
                ("resume_date", &in_days(2)),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("The resume date cannot be before the effective date."));
    let field = |id: &str| {
        let at = html.find(&format!("id=\"{id}\"")).expect(&html);
        html[at..at + html[at..].find('>').unwrap()].to_string()
    };
    assert!(field(&format!("move-resume-{entry}")).contains("aria-invalid=\"true\""));
    assert!(!field(&format!("move-effective-{entry}")).contains("aria-invalid"));
    // The same mistake made from a view the entry is no longer in (it is a pause, the view
    // shows cancellations): its form is not on the page, so the message is above it.
    let res = c
        .post(
            &o.ops_cookie,
            &format!("/planner/{entry}?state=all&kind=cancellation"),
            &[
                ("effective_date", &in_days(40)),
                ("resume_date", &in_days(2)),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let flash = crate::support::flash(&res.text().await.unwrap());
    assert!(
        flash.starts_with(
            "The dates were not moved. The resume date cannot be before the effective date. The entry is not on this page"
        ),
        "{flash}"
    );
    // A pause's move says what became of its resume date: moved, or emptied (resume when
    // known).
    let moved = |resume: String| {
        let o = &o;
        async move {
            let res = c
                .post(
                    &o.ops_cookie,
                    &format!("/planner/{entry}?state=all"),
                    &[
                        ("effective_date", in_days(40).as_str()),
                        ("resume_date", resume.as_str()),
                    ],
                )
                .await;
            assert_eq!(res.status(), 303);
            crate::support::flash(&c.page(&o.ops_cookie, &location(&res)).await)
        }
    };
    let resume_on = Utc::now().date_naive() + Duration::days(70);
    let said = moved(resume_on.to_string()).await;
    let day = offboarding_desk::time::day(resume_on);
    assert!(said.contains(&format!(" and resumes {day};")), "{said}");
    let said = moved(String::new()).await;
    assert!(
        said.ends_with("now has no resume date (resume when known)."),
        "{said}"
    );
    let resume: Option<NaiveDate> =
        sqlx::query_scalar("SELECT resume_date FROM planner_entries WHERE id = $1")
            .bind(entry)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert_eq!(resume, None);
    // A month no one plans for is no filter, never a failure, on the page, the calendar and
    // the CSV.
    for path in [
        "/planner?month=0000-01",
        "/planner/calendar?month=%2B10000-01",
        "/planner.csv?month=-0001-01",
    ] {
        let res = c.app.get(&c.am_cookie, path).await;
        assert_eq!(res.status(), 200, "{path}");
    }
    let month = (Utc::now().date_naive() + Duration::days(30))
        .format("%Y-%m")
        .to_string();
    let calendar = c
        .page(&c.am_cookie, &format!("/planner/calendar?month={month}"))
        .await;
    assert!(calendar.contains("Lakeside RV Center"));

    // The CSV reads back with a CSV reader, the formula neutralised.
    let res = client()
        .get(c.app.url("/planner.csv?state=all&sort=client"))
        .header("cookie", &c.am_cookie)
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    let names: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert!(names.contains(&"Lakeside RV Center"));
    assert!(
        names.contains(&"'=HYPERLINK(\"http://evil.test\",\"x\")"),
        "{names:?}"
    );

    // The calendar feed: made once, read without a session, valid iCalendar, revocable.
    let page = c
        .post(&o.ops_cookie, "/planner/feed", &[])
        .await
        .text()
        .await
        .unwrap();
    let start = page.find("id=\"feed-url\"").expect("the address is shown");
    let value = &page[page[..start].rfind("value=\"").unwrap() + 7..];
    let url = value[..value.find('"').unwrap()].to_string();
    let path = url.trim_start_matches(&c.app.base).to_string();
    let res = client().get(c.app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let ics = res.text().await.unwrap();
    let parsed: icalendar::Calendar = ics.parse().expect("valid iCalendar");
    let events: Vec<_> = parsed
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 2);
    use icalendar::Component;
    assert!(
        events
            .iter()
            .any(|e| e.get_summary() == Some("Cancellation: Lakeside RV Center"))
    );
    // A wrong secret finds nothing; a revoked one no longer works.
    let res = client()
        .get(c.app.url("/calendar/0000.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    c.post(&o.ops_cookie, "/planner/feed/revoke", &[]).await;
    let res = client().get(c.app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(c.app.audit_count("calendar_feed.revoked").await, 1);
}

#[tokio::test]
async fn a_reinstatement_goes_through_the_chain_and_undoes_the_original_on_the_record() {
    let o = ops().await;
    let c = &o.c;
    let (original, _) = o.paused().await;
    // Paused on the record now, from the day the request says.
    let client = c
        .page(&o.ops_cookie, &format!("/clients/{}", c.client_id))
        .await;
    assert!(client.contains("id=\"client-status-from\""), "{client}");
    let entry: i64 = sqlx::query_scalar("SELECT id FROM planner_entries")
        .fetch_one(&c.app.db)
        .await
        .unwrap();

    // Only the filer asks, with a reason.
    let res = c
        .post(
            &o.ops_cookie,
            &format!("/requests/{original}/reinstate"),
            &[("reason", "x")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        c.app
            .audit_count("change_request.reinstatement_filed")
            .await,
        0
    );
    let res = c
        .post(
            &c.am_cookie,
            &format!("/requests/{original}/reinstate"),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("id=\"reinstate-error\""));
    let reversal = c
        .reinstate(original, "The dealer found budget after all")
        .await;
    assert_ne!(reversal, original);
    // Nothing is undone until it is approved.
    assert_eq!(c.state(original).await, "approved");
    // Its form shows the original's terms rather than offering them for editing.
    let form = c
        .page(&c.am_cookie, &format!("/requests/{reversal}/edit"))
        .await;
    assert!(form.contains("<h1>Edit reinstatement: "), "{form}");
    assert!(form.contains("id=\"reinstatement-terms\""), "{form}");
    assert!(
        form.contains("<dt>What</dt><dd>Contract pause</dd>")
            && form.contains("<dt>Effective date</dt>"),
        "the terms are shown: {form}"
    );
    assert!(
        form.contains("<input type=\"hidden\" name=\"kind\" value=\"pause\">"),
        "{form}"
    );
    assert!(!form.contains("type=\"radio\" name=\"kind\""), "{form}");
    assert!(!form.contains("id=\"effective_date\""), "{form}");
    // Sent back as it stands with another note, it saves (its terms as they were, the
    // original's date not asked about again, however far it is).
    let hidden = |name: &str| {
        let at = format!("<input type=\"hidden\" name=\"{name}\" value=\"");
        let start = form.find(&at).unwrap_or_else(|| panic!("no {name}")) + at.len();
        form[start..].split('"').next().unwrap().to_string()
    };
    let (reason, version): (i64, i32) =
        sqlx::query_as("SELECT reason_id, version FROM change_requests WHERE id = $1")
            .bind(reversal)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    let mut fields: Vec<(String, String)> = [
        "kind",
        "cancel_scope",
        "effective_date",
        "resume_date",
        "current_budget",
        "new_budget",
        "confirm_date",
    ]
    .iter()
    .map(|n| (n.to_string(), hidden(n)))
    .collect();
    fields.extend([
        ("reason_id".to_string(), reason.to_string()),
        ("escalation".to_string(), "none".to_string()),
        (
            "product_notes".to_string(),
            "Turn the ads back on".to_string(),
        ),
        ("version".to_string(), version.to_string()),
    ]);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = c
        .post(&c.am_cookie, &format!("/requests/{reversal}"), &pairs)
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(
        c.flash(&c.am_cookie, reversal).await,
        "Change request saved."
    );
    // The original points to it meanwhile.
    let page = c
        .page(&o.ops_cookie, &format!("/requests/{original}"))
        .await;
    assert!(
        page.contains("id=\"reinstatement-pending\"")
            && page.contains(&format!(
                "<a href=\"/requests/{reversal}\">request #{reversal}</a> undoes this one"
            )),
        "{page}"
    );

    c.submit(&c.am_cookie, reversal).await;
    for cookie in [&c.jeremy_cookie, &c.dustin_cookie] {
        let step = c.pending_step(reversal).await;
        c.decide(cookie, step, "approve", "").await;
    }
    assert_eq!(c.state(reversal).await, "approved");
    // Accounting's desk reads it as what it is, not as the pause it undoes.
    let desk = c.page(&c.accounting_cookie, "/").await;
    assert!(
        desk.contains(&format!("href=\"/requests/{reversal}\""))
            && desk.contains("Reinstatement (undoes a contract pause)"),
        "{desk}"
    );
    // The original is closed as reinstated; its planner entry, reminders and pause task end;
    // the client is active again; all on the record.
    assert_eq!(c.state(original).await, "withdrawn");
    let removed: bool =
        sqlx::query_scalar("SELECT removed_at IS NOT NULL FROM planner_entries WHERE id = $1")
            .bind(entry)
            .fetch_one(&c.app.db)
            .await
            .unwrap();
    assert!(removed);
    // A move sent from a planner tab opened before, good date or bad, says the request is
    // closed (the line is off the planner, so no filter finds it).
    for typed in [in_days(50), "31/12".to_string()] {
        let res = c
            .post(
                &o.ops_cookie,
                &format!("/planner/{entry}?state=all"),
                &[("effective_date", typed.as_str())],
            )
            .await;
        assert_eq!(res.status(), 303, "{typed}");
        let said = crate::support::flash(&c.page(&o.ops_cookie, &location(&res)).await);
        assert!(said.ends_with(" is withdrawn."), "{typed}: {said}");
    }
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM scheduled_jobs WHERE key LIKE $1 AND state = 'pending'",
    )
    .bind(format!("reminder:{entry}:%"))
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!(pending, 0);
    let cancelled: bool = sqlx::query_scalar(
        "SELECT cancelled_at IS NOT NULL FROM sem_tasks WHERE change_request_id = $1",
    )
    .bind(original)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert!(cancelled);
    let (status, caused): (String, Option<i64>) = sqlx::query_as(
        "SELECT c.status, h.change_request_id FROM clients c
           JOIN client_status_history h ON h.client_id = c.id
          WHERE c.id = $1 ORDER BY h.id DESC LIMIT 1",
    )
    .bind(c.client_id)
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert_eq!((status.as_str(), caused), ("active", Some(reversal)));
    assert_eq!(c.app.audit_count("change_request.reinstated").await, 1);
    let page = c.page(&c.am_cookie, &format!("/requests/{original}")).await;
    assert!(page.contains("id=\"reinstated\""), "{page}");
    assert!(!page.contains("id=\"reinstatement-pending\""), "{page}");
    // The reinstatement itself says it is done, not "once approved".
    let done = c.page(&c.am_cookie, &format!("/requests/{reversal}")).await;
    assert!(
        done.contains(&format!(
            "This request reinstated the client: it undid <a href=\"/requests/{original}\">"
        )),
        "{done}"
    );
    // Its task to pause the ads reads as cancelled, not as due.
    assert!(page.contains("id=\"sem-task-cancelled\""), "{page}");
    assert!(!page.contains("pauses the ads by"), "{page}");
    // The distribution list hears of it.
    let subject: String = sqlx::query_scalar(
        "SELECT subject FROM outbox_messages WHERE kind = 'change_request.approved' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&c.app.db)
    .await
    .unwrap();
    assert!(
        subject.contains(&format!("reinstated (request #{original} undone)")),
        "{subject}"
    );
    // And it cannot be reinstated twice.
    c.post(
        &c.am_cookie,
        &format!("/requests/{original}/reinstate"),
        &[("reason", "again")],
    )
    .await;
    assert_eq!(
        c.app
            .audit_count("change_request.reinstatement_filed")
            .await,
        1
    );
}

/// A reinstatement's last approval meeting a change that takes the client's requests in id
/// order and then the client (as a hand-over does): the approval takes the original request
/// first too, so one waits for the other and both land. Before, the approval held the
/// reinstatement, then the client, then waited on the original, which the other held while
/// it waited on the reinstatement: PostgreSQL failed one of them.
#[tokio::test]
async fn a_reinstatements_last_approval_meeting_a_hand_over_lets_both_land() {
    let o = ops().await;
    let c = &o.c;
    let (original, _) = o.paused().await;
    let reversal = c
        .reinstate(original, "The dealer found budget after all")
        .await;
    c.submit(&c.am_cookie, reversal).await;
    let first = c.pending_step(reversal).await;
    c.decide(&c.jeremy_cookie, first, "approve", "").await;
    let last = c.pending_step(reversal).await;

    // The other change: the client's requests in id order, then the client.
    let db = &c.app.db;
    let mut other = db.begin().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    sqlx::query("SELECT 1 FROM change_requests WHERE id = $1 FOR UPDATE")
        .bind(original)
        .execute(&mut *other)
        .await
        .unwrap();
    let approval = c.app.post_in_background(
        &c.dustin_cookie,
        &format!("/approvals/{last}/approve"),
        &[("comment", "")],
    );
    crate::work_items::someone_waits_on_a_lock(db, pid).await;
    for lock in [
        "SELECT 1 FROM change_requests WHERE id = $1 FOR UPDATE",
        "SELECT 1 FROM clients WHERE id = (SELECT client_id FROM change_requests WHERE id = $1) FOR UPDATE",
    ] {
        sqlx::query(lock)
            .bind(reversal)
            .execute(&mut *other)
            .await
            .expect("the other change does not wait on the approval");
    }
    other.commit().await.unwrap();
    assert_eq!(approval.await.unwrap(), 303, "the approval lands too");
    assert_eq!(c.state(reversal).await, "approved");
    assert_eq!(c.state(original).await, "withdrawn");
}
