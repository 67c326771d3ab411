//! Downloads: a table as a CSV file the person's spreadsheet opens safely.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{AppError, AppResult};

/// A cell made safe to open in a spreadsheet: text that a spreadsheet would read as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`. A plain
/// negative number (`-12.5`: a minus, digits, at most one point) stays a number.
pub fn spreadsheet_safe(cell: &str) -> String {
    match cell.chars().next() {
        Some('-') if is_negative_number(cell) => cell.to_string(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn is_negative_number(cell: &str) -> bool {
    let Some(digits) = cell.strip_prefix('-') else {
        return false;
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.chars().all(|c| c.is_ascii_digit())
        && !(digits.ends_with('.'))
}

/// `rows` (the header first) as a CSV attachment named `filename`, every cell spreadsheet-safe.
pub fn csv(filename: &str, rows: impl IntoIterator<Item = Vec<String>>) -> AppResult<Response> {
    let fail = |e: csv::Error| AppError::Internal(anyhow::anyhow!(e.to_string()));
    let mut out = csv::Writer::from_writer(Vec::new());
    for row in rows {
        out.write_record(row.iter().map(|c| spreadsheet_safe(c)))
            .map_err(fail)?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e.to_string())))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_plain_text_left_alone() {
        for (cell, safe) in [
            (
                "=HYPERLINK(\"http://evil\")",
                "'=HYPERLINK(\"http://evil\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("-2", "-2"),
            ("-12.5", "-12.5"),
            ("-1.", "'-1."),
            ("-.5", "'-.5"),
            ("-1e5", "'-1e5"),
            ("-1.2.3", "'-1.2.3"),
            ("-", "'-"),
            ("-1-1", "'-1-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Lakeside RV Center", "Lakeside RV Center"),
            ("", ""),
            ("2026-12-10", "2026-12-10"),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe);
        }
    }
}
