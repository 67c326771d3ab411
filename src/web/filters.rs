//! The templates' own filters: days and instants written one way on every page. A module that
//! defines a template using them brings them in with `use crate::web::filters;` (askama looks
//! for custom filters in a `filters` module beside the template).

use chrono::{DateTime, NaiveDate, Utc};

/// A value that is a day or an instant, however many references deep askama hands it over.
pub trait When<T: Copy> {
    fn value(&self) -> T;
}

impl When<NaiveDate> for NaiveDate {
    fn value(&self) -> NaiveDate {
        *self
    }
}

impl When<DateTime<Utc>> for DateTime<Utc> {
    fn value(&self) -> DateTime<Utc> {
        *self
    }
}

impl<T: Copy, W: When<T> + ?Sized> When<T> for &W {
    fn value(&self) -> T {
        (**self).value()
    }
}

/// `{{ r.effective_date|day }}`: "Dec 13, 2026".
#[askama::filter_fn]
pub fn day(d: impl When<NaiveDate>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::time::day(d.value()))
}

/// `{{ c.at|at }}`: "today 11:50 am", "Nov 28, 3:15 pm", in the agency's zone.
#[askama::filter_fn]
pub fn at(at: impl When<DateTime<Utc>>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::time::local(at.value()))
}

#[cfg(test)]
mod tests {
    use askama::Template;
    use chrono::TimeZone;

    use super::*;
    use crate::web::filters;

    #[derive(Template)]
    #[template(source = "{{ d|day }} / {{ t|at }}", ext = "txt")]
    struct Both {
        d: NaiveDate,
        t: DateTime<Utc>,
    }

    #[test]
    fn days_and_instants_are_written_as_every_page_writes_them() {
        let page = Both {
            d: NaiveDate::from_ymd_opt(2026, 12, 13).unwrap(),
            t: Utc.with_ymd_and_hms(2026, 12, 1, 11, 50, 0).unwrap(),
        };
        let expected = format!("Dec 13, 2026 / {}", crate::time::local(page.t));
        assert_eq!(page.render().unwrap(), expected);
    }
}
