//! Parsing what someone typed about a client (in the form or in an imported CSV row) into
//! values the rest of the code can trust.

use serde::Deserialize;

use super::status::Status;
use crate::money;
use crate::web::fields::FieldErrors;

/// The client form as submitted.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ClientForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub crm_account_id: String,
    #[serde(default)]
    pub account_manager_id: String,
    #[serde(default)]
    pub sem_specialist_id: String,
    #[serde(default)]
    pub monthly_budget: String,
    #[serde(default)]
    pub ad_products: Vec<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub version: i32,
}

impl ClientForm {
    pub fn has_product(&self, key: &str) -> bool {
        self.ad_products.iter().any(|p| p == key)
    }
}

/// A valid client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientInput {
    pub name: String,
    pub crm_account_id: String,
    pub account_manager_id: Option<i64>,
    pub sem_specialist_id: Option<i64>,
    pub monthly_budget_cents: i64,
    pub ad_products: Vec<String>,
    pub status: Status,
}

/// What the form may refer to: the people who can be chosen and the products that exist.
pub struct Choices<'a> {
    pub account_managers: &'a [i64],
    pub sem_specialists: &'a [i64],
    pub products: &'a [String],
}

fn person(raw: &str, allowed: &[i64]) -> Result<Option<i64>, ()> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i64>() {
        Ok(id) if allowed.contains(&id) => Ok(Some(id)),
        _ => Err(()),
    }
}

/// Checks a submitted client against `choices`.
pub fn parse(form: &ClientForm, choices: &Choices<'_>) -> Result<ClientInput, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name =
        crate::web::text::label(&form.name, 200, "Enter the client's name.").unwrap_or_else(|m| {
            errors.add("name", m);
            String::new()
        });
    let crm = form.crm_account_id.trim().to_string();
    if crm.is_empty() {
        errors.add("crm_account_id", "Enter the CRM account id.");
    } else if crm.chars().count() > 64 || crm.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.add(
            "crm_account_id",
            "An account id has at most 64 characters and no spaces.",
        );
    }
    let am = person(&form.account_manager_id, choices.account_managers)
        .map_err(|_| {
            errors.add(
                "account_manager_id",
                "Choose an account manager from the list.",
            )
        })
        .ok()
        .flatten();
    let sem = person(&form.sem_specialist_id, choices.sem_specialists)
        .map_err(|_| {
            errors.add(
                "sem_specialist_id",
                "Choose an SEM specialist from the list.",
            )
        })
        .ok()
        .flatten();
    let budget = if form.monthly_budget.trim().is_empty() {
        Ok(0)
    } else {
        money::parse_dollars(&form.monthly_budget)
    };
    let budget = budget
        .map_err(|p| errors.add("monthly_budget", p.to_string()))
        .unwrap_or(0);
    let mut products: Vec<String> = Vec::new();
    for p in &form.ad_products {
        if !choices.products.contains(p) {
            errors.add(
                "ad_products",
                "One of the ad products chosen does not exist.",
            );
        } else if !products.contains(p) {
            products.push(p.clone());
        }
    }
    products.sort_by_key(|p| choices.products.iter().position(|c| c == p));
    let status = match form.status.trim() {
        "" => Some(Status::Active),
        key => Status::from_key(key),
    };
    if status.is_none() {
        errors.add("status", "Choose a status from the list.");
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ClientInput {
        name,
        crm_account_id: crm,
        account_manager_id: am,
        sem_specialist_id: sem,
        monthly_budget_cents: budget,
        ad_products: products,
        status: status.expect("checked above"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices() -> (Vec<i64>, Vec<i64>, Vec<String>) {
        (
            vec![1, 2],
            vec![3],
            vec!["google_ads".into(), "facebook".into()],
        )
    }

    fn form() -> ClientForm {
        ClientForm {
            name: " Lakeside RV Center ".into(),
            crm_account_id: "CRM-1".into(),
            account_manager_id: "1".into(),
            sem_specialist_id: "3".into(),
            monthly_budget: "$4,500.00".into(),
            ad_products: vec!["facebook".into(), "google_ads".into(), "facebook".into()],
            status: "".into(),
            version: 0,
        }
    }

    #[test]
    fn a_good_client_parses_with_products_in_catalogue_order() {
        let (am, sem, products) = choices();
        let c = parse(
            &form(),
            &Choices {
                account_managers: &am,
                sem_specialists: &sem,
                products: &products,
            },
        )
        .unwrap();
        assert_eq!(c.name, "Lakeside RV Center");
        assert_eq!(c.monthly_budget_cents, 450_000);
        assert_eq!(c.ad_products, vec!["google_ads", "facebook"]);
        assert_eq!(
            (c.account_manager_id, c.sem_specialist_id),
            (Some(1), Some(3))
        );
        assert_eq!(c.status, Status::Active);
    }

    #[test]
    fn each_bad_field_gets_a_message() {
        let (am, sem, products) = choices();
        let bad = ClientForm {
            name: "".into(),
            crm_account_id: "CRM 1".into(),
            account_manager_id: "3".into(),
            sem_specialist_id: "1".into(),
            monthly_budget: "-5".into(),
            ad_products: vec!["myspace".into()],
            status: "gone".into(),
            version: 0,
        };
        let errors = parse(
            &bad,
            &Choices {
                account_managers: &am,
                sem_specialists: &sem,
                products: &products,
            },
        )
        .unwrap_err();
        for field in [
            "name",
            "crm_account_id",
            "account_manager_id",
            "sem_specialist_id",
            "monthly_budget",
            "ad_products",
            "status",
        ] {
            assert!(errors.has(field), "{field}");
        }
    }

    #[test]
    fn people_may_be_left_unassigned_and_a_blank_budget_is_zero() {
        let (am, sem, products) = choices();
        let f = ClientForm {
            account_manager_id: "".into(),
            sem_specialist_id: " ".into(),
            monthly_budget: "".into(),
            ..form()
        };
        let c = parse(
            &f,
            &Choices {
                account_managers: &am,
                sem_specialists: &sem,
                products: &products,
            },
        )
        .unwrap();
        assert_eq!(
            (
                c.account_manager_id,
                c.sem_specialist_id,
                c.monthly_budget_cents
            ),
            (None, None, 0)
        );
    }
}
