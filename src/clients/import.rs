//! Importing a client list exported from the CRM as CSV. The file is kept when uploaded; a
//! preview plans every row (create, update, unchanged or refused, and why); confirming applies
//! the plan of the valid rows in one transaction, so nothing is imported half-way.

use std::collections::{HashMap, HashSet};

use crate::clients::status::Status;
use crate::money;

/// One row as read from the file (1-based line number in the file, header is line 1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvRow {
    pub line: usize,
    pub name: String,
    pub crm_account_id: String,
    pub account_manager: String,
    pub sem_specialist: String,
    pub monthly_budget: String,
    pub ad_products: String,
    pub status: String,
}

/// Columns the file may have, under the names CRM exports use.
const COLUMNS: &[(&str, &[&str])] = &[
    (
        "name",
        &[
            "name",
            "client",
            "client name",
            "account name",
            "dealer",
            "dealer name",
        ],
    ),
    (
        "crm_account_id",
        &[
            "account id",
            "crm account id",
            "crm id",
            "account number",
            "id",
        ],
    ),
    (
        "account_manager",
        &["account manager", "account manager email", "am", "am email"],
    ),
    (
        "sem_specialist",
        &["sem specialist", "sem specialist email", "sem", "sem email"],
    ),
    (
        "monthly_budget",
        &["monthly budget", "budget", "monthly ad budget"],
    ),
    ("ad_products", &["ad products", "products"]),
    ("status", &["status", "account status"]),
];

fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads the file. Fails as a whole when it is not CSV or lacks the name or account id column.
pub fn read(content: &str) -> Result<Vec<CsvRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(content.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("The file is not readable as CSV: {e}"))?
        .clone();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = normalise_header(h);
        if let Some((field, _)) = COLUMNS
            .iter()
            .find(|(_, names)| names.contains(&h.as_str()))
        {
            index.entry(field).or_insert(i);
        }
    }
    for (field, label) in [("name", "client name"), ("crm_account_id", "account id")] {
        if !index.contains_key(field) {
            return Err(format!(
                "The file has no {label} column. Expected a header row naming the columns, such as: \
                 name, account id, account manager, sem specialist, monthly budget, ad products, status."
            ));
        }
    }
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("Line {} is not valid CSV: {e}", n + 2))?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |field: &str| {
            index
                .get(field)
                .and_then(|i| record.get(*i))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        rows.push(CsvRow {
            line: n + 2,
            name: cell("name"),
            crm_account_id: cell("crm_account_id"),
            account_manager: cell("account_manager"),
            sem_specialist: cell("sem_specialist"),
            monthly_budget: cell("monthly_budget"),
            ad_products: cell("ad_products"),
            status: cell("status"),
        });
    }
    Ok(rows)
}

/// A client as it stands, for comparing with a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Current {
    pub id: i64,
    pub name: String,
    pub account_manager_id: Option<i64>,
    pub sem_specialist_id: Option<i64>,
    pub monthly_budget_cents: i64,
    pub ad_products: Vec<String>,
    pub status: Status,
}

/// What the file may refer to.
pub struct Known<'a> {
    /// Lower-cased email → user id, for active account managers.
    pub account_managers: &'a HashMap<String, i64>,
    /// Lower-cased email → user id, for active SEM specialists.
    pub sem_specialists: &'a HashMap<String, i64>,
    /// (key, label) of each ad product.
    pub products: &'a [(String, String)],
    /// Existing clients by account id.
    pub clients: &'a HashMap<String, Current>,
}

/// The values a row would give a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Values {
    pub name: String,
    pub crm_account_id: String,
    pub account_manager_id: Option<i64>,
    pub sem_specialist_id: Option<i64>,
    pub monthly_budget_cents: i64,
    pub ad_products: Vec<String>,
    pub status: Status,
}

/// What happens to one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Create(Values),
    Update {
        id: i64,
        values: Values,
        changed: Vec<&'static str>,
    },
    Unchanged {
        id: i64,
    },
    Refused(Vec<String>),
}

/// A row and its fate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub row: CsvRow,
    pub action: Action,
}

impl Planned {
    pub fn kind(&self) -> &'static str {
        match self.action {
            Action::Create(_) => "create",
            Action::Update { .. } => "update",
            Action::Unchanged { .. } => "unchanged",
            Action::Refused(_) => "refused",
        }
    }

    pub fn detail(&self) -> String {
        match &self.action {
            Action::Create(_) => "New client".into(),
            Action::Update { changed, .. } => format!("Changes: {}", changed.join(", ")),
            Action::Unchanged { .. } => "Already up to date".into(),
            Action::Refused(reasons) => reasons.join(" "),
        }
    }
}

/// Plans every row. Blank cells in an update keep what the client has.
pub fn plan(rows: &[CsvRow], known: &Known<'_>) -> Vec<Planned> {
    let mut seen: HashSet<String> = HashSet::new();
    rows.iter()
        .map(|row| Planned {
            row: row.clone(),
            action: plan_row(row, known, &mut seen),
        })
        .collect()
}

fn plan_row(row: &CsvRow, known: &Known<'_>, seen: &mut HashSet<String>) -> Action {
    let mut reasons = Vec::new();
    let crm = row.crm_account_id.clone();
    if crm.is_empty() {
        reasons.push("The account id is missing.".to_string());
    } else if crm.chars().count() > 64 || crm.chars().any(|c| c.is_whitespace() || c.is_control()) {
        reasons.push("The account id has spaces or is longer than 64 characters.".to_string());
    } else if !seen.insert(crm.to_lowercase()) {
        reasons.push(format!("Account id {crm} appears earlier in the file."));
    }
    let current = known.clients.get(&crm);
    if row.name.is_empty() && current.is_none() {
        reasons.push("The client name is missing.".to_string());
    } else if row.name.chars().count() > 200 {
        reasons.push("The client name is longer than 200 characters.".to_string());
    } else if row.name.chars().any(char::is_control) {
        reasons.push(
            "The client name has a line break or control character; keep it to one line."
                .to_string(),
        );
    }
    let person = |cell: &str, map: &HashMap<String, i64>, what: &str, reasons: &mut Vec<String>| {
        if cell.is_empty() {
            return None;
        }
        match map.get(&cell.to_lowercase()) {
            Some(id) => Some(*id),
            None => {
                reasons.push(format!("{cell} is not an active {what} here."));
                None
            }
        }
    };
    let am = person(
        &row.account_manager,
        known.account_managers,
        "account manager",
        &mut reasons,
    );
    let sem = person(
        &row.sem_specialist,
        known.sem_specialists,
        "SEM specialist",
        &mut reasons,
    );
    let budget = if row.monthly_budget.is_empty() {
        None
    } else {
        match money::parse_dollars(&row.monthly_budget) {
            Ok(c) => Some(c),
            Err(p) => {
                reasons.push(format!("Monthly budget {}: {p}", row.monthly_budget));
                None
            }
        }
    };
    let products = if row.ad_products.is_empty() {
        None
    } else {
        let mut keys = Vec::new();
        for item in row
            .ad_products
            .split([';', ',', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match known
                .products
                .iter()
                .find(|(k, l)| k.eq_ignore_ascii_case(item) || l.eq_ignore_ascii_case(item))
            {
                Some((k, _)) if !keys.contains(k) => keys.push(k.clone()),
                Some(_) => {}
                None => reasons.push(format!("{item} is not an ad product here.")),
            }
        }
        keys.sort_by_key(|k| known.products.iter().position(|(p, _)| p == k));
        Some(keys)
    };
    let status = if row.status.is_empty() {
        None
    } else {
        match Status::from_typed(&row.status) {
            Some(s) => Some(s),
            None => {
                reasons.push(format!("{} is not a client status.", row.status));
                None
            }
        }
    };
    if !reasons.is_empty() {
        return Action::Refused(reasons);
    }
    match current {
        None => Action::Create(Values {
            name: row.name.clone(),
            crm_account_id: crm,
            account_manager_id: am,
            sem_specialist_id: sem,
            monthly_budget_cents: budget.unwrap_or(0),
            ad_products: products.unwrap_or_default(),
            status: status.unwrap_or(Status::Active),
        }),
        Some(c) => {
            let values = Values {
                name: if row.name.is_empty() {
                    c.name.clone()
                } else {
                    row.name.clone()
                },
                crm_account_id: crm,
                account_manager_id: am.or(c.account_manager_id),
                sem_specialist_id: sem.or(c.sem_specialist_id),
                monthly_budget_cents: budget.unwrap_or(c.monthly_budget_cents),
                ad_products: products.unwrap_or_else(|| c.ad_products.clone()),
                status: status.unwrap_or(c.status),
            };
            let mut changed = Vec::new();
            if values.name != c.name {
                changed.push("name");
            }
            if values.account_manager_id != c.account_manager_id {
                changed.push("account manager");
            }
            if values.sem_specialist_id != c.sem_specialist_id {
                changed.push("SEM specialist");
            }
            if values.monthly_budget_cents != c.monthly_budget_cents {
                changed.push("monthly budget");
            }
            if values.ad_products != c.ad_products {
                changed.push("ad products");
            }
            if values.status != c.status {
                changed.push("status");
            }
            if changed.is_empty() {
                Action::Unchanged { id: c.id }
            } else {
                Action::Update {
                    id: c.id,
                    values,
                    changed,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        am: HashMap<String, i64>,
        sem: HashMap<String, i64>,
        products: Vec<(String, String)>,
        clients: HashMap<String, Current>,
    }

    fn world() -> World {
        let mut clients = HashMap::new();
        clients.insert(
            "CRM-1".to_string(),
            Current {
                id: 7,
                name: "Lakeside RV Center".into(),
                account_manager_id: Some(1),
                sem_specialist_id: Some(3),
                monthly_budget_cents: 450_000,
                ad_products: vec!["google_ads".into()],
                status: Status::Active,
            },
        );
        World {
            am: [("am@agency.test".to_string(), 1)].into(),
            sem: [("sem@agency.test".to_string(), 3)].into(),
            products: vec![
                ("google_ads".into(), "Google Ads".into()),
                ("facebook".into(), "Facebook".into()),
            ],
            clients,
        }
    }

    fn run(csv: &str) -> Vec<Planned> {
        let w = world();
        let rows = read(csv).unwrap();
        plan(
            &rows,
            &Known {
                account_managers: &w.am,
                sem_specialists: &w.sem,
                products: &w.products,
                clients: &w.clients,
            },
        )
    }

    #[test]
    fn headers_are_matched_by_their_usual_names_in_any_case_and_order() {
        let rows =
            read("\u{feff}Budget,Client Name,CRM_Account_ID\n\"1,000\",Summit,CRM-2\n\n").unwrap();
        assert_eq!(rows.len(), 1, "blank lines are skipped");
        assert_eq!(
            (
                rows[0].name.as_str(),
                rows[0].crm_account_id.as_str(),
                rows[0].monthly_budget.as_str()
            ),
            ("Summit", "CRM-2", "1,000")
        );
        assert_eq!(rows[0].line, 2);
        assert!(
            read("client,budget\nSummit,5")
                .unwrap_err()
                .contains("account id")
        );
        assert!(
            read("account id,budget\nCRM-1,5")
                .unwrap_err()
                .contains("client name")
        );
    }

    #[test]
    fn new_existing_unchanged_and_bad_rows_are_each_planned_with_a_reason() {
        let planned = run(
            "name,account id,account manager,sem specialist,monthly budget,ad products,status\n\
             Summit Powersports,CRM-2,AM@agency.test,sem@agency.test,\"$2,750.00\",Google Ads; facebook,\n\
             Lakeside RV Center,CRM-1,,,4500,,Paused\n\
             Lakeside RV Center,CRM-1,,,,,\n\
             ,CRM-3,nobody@agency.test,am@agency.test,12.345,MySpace,gone\n\
             Prairie Ag,CRM-1 2,,,,,\n",
        );
        let kinds: Vec<&str> = planned.iter().map(Planned::kind).collect();
        assert_eq!(
            kinds,
            vec!["create", "update", "refused", "refused", "refused"]
        );
        let Action::Create(v) = &planned[0].action else {
            unreachable!()
        };
        assert_eq!(
            (
                v.account_manager_id,
                v.sem_specialist_id,
                v.monthly_budget_cents
            ),
            (Some(1), Some(3), 275_000)
        );
        assert_eq!(v.ad_products, vec!["google_ads", "facebook"]);
        let Action::Update {
            changed, values, ..
        } = &planned[1].action
        else {
            unreachable!()
        };
        assert_eq!(changed, &vec!["status"]);
        assert_eq!(
            values.account_manager_id,
            Some(1),
            "a blank cell keeps what the client has"
        );
        assert!(planned[2].detail().contains("appears earlier"));
        let reasons = planned[3].detail();
        for expected in [
            "name is missing",
            "nobody@agency.test is not an active account manager",
            "am@agency.test is not an active SEM specialist",
            "12.345",
            "MySpace is not an ad product",
            "gone is not a client status",
        ] {
            assert!(reasons.contains(expected), "{expected} in {reasons}");
        }
        assert!(planned[4].detail().contains("spaces"));
    }

    #[test]
    fn a_row_matching_the_client_exactly_is_unchanged() {
        let planned = run(
            "name,account id,monthly budget,ad products,status\nLakeside RV Center,CRM-1,4500,Google Ads,active\n",
        );
        assert_eq!(planned[0].action, Action::Unchanged { id: 7 });
    }
}
