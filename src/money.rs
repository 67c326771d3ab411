//! Money as integer cents: entered and shown as dollars and cents, never a float.

/// `123456` → `"$1,234.56"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}.{:02}", grouped(abs / 100), abs % 100)
}

/// `123456` → `"$1,235"`: to the nearest dollar (half a dollar up), for a headline figure whose
/// exact value is in a table beside it.
pub fn format_whole_dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}", grouped(abs / 100 + u64::from(abs % 100 >= 50)))
}

/// `1234567` → `"1,234,567"`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why typed money cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyProblem {
    #[error("Enter an amount in dollars and cents, like 1,250.00.")]
    NotAnAmount,
    #[error("The amount cannot be negative.")]
    Negative,
    #[error("Cents have at most two digits.")]
    TooPrecise,
    #[error("That amount is too large.")]
    TooLarge,
}

/// Largest amount accepted: $100,000,000.00, far beyond any budget or credit here.
pub const MAX_CENTS: i64 = 10_000_000_000;

/// Parses dollars and cents as people type them (`1250`, `1,250.5`, `$1,250.00`) into cents,
/// exactly: no floating point anywhere.
pub fn parse_dollars(raw: &str) -> Result<i64, MoneyProblem> {
    let s = raw.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s),
    };
    let s = s.strip_prefix('$').unwrap_or(s).trim();
    if s.is_empty() {
        return Err(MoneyProblem::NotAnAmount);
    }
    let (whole, fraction) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    // Thousands separators only between groups of three digits.
    let groups: Vec<&str> = whole.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let digits: String = groups.concat();
    if !grouped_ok
        || (digits.is_empty() && fraction.is_empty())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(MoneyProblem::NotAnAmount);
    }
    if fraction.len() > 2 {
        return Err(MoneyProblem::TooPrecise);
    }
    if digits.len() > 12 {
        return Err(MoneyProblem::TooLarge);
    }
    let dollars: i64 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| MoneyProblem::TooLarge)?
    };
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().unwrap_or(0) * 10,
        _ => fraction.parse::<i64>().unwrap_or(0),
    };
    let total = dollars * 100 + cents;
    if negative && total != 0 {
        return Err(MoneyProblem::Negative);
    }
    if total > MAX_CENTS {
        return Err(MoneyProblem::TooLarge);
    }
    Ok(total)
}

/// Cents as a form shows them for editing: `123456` → `"1234.56"`.
pub fn cents_for_input(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_are_parsed_exactly_as_people_type_them() {
        for (typed, cents) in [
            ("0", 0),
            ("1250", 125_000),
            ("1,250", 125_000),
            ("1,250.5", 125_050),
            ("$1,250.05", 125_005),
            (" $ 4500.00 ", 450_000),
            (".99", 99),
            ("0.01", 1),
            ("12,345,678.90", 1_234_567_890),
            ("-0", 0),
            ("100000000", MAX_CENTS),
        ] {
            assert_eq!(parse_dollars(typed), Ok(cents), "{typed:?}");
        }
    }

    #[test]
    fn amounts_that_are_not_money_are_refused_with_a_reason() {
        for typed in [
            "", " ", "$", "abc", "12a", "1,25", "1,2500", ",100", "1.2.3", "1e3", "Infinity",
            "NaN", "12 34", ".",
        ] {
            assert_eq!(
                parse_dollars(typed),
                Err(MoneyProblem::NotAnAmount),
                "{typed:?}"
            );
        }
        assert_eq!(parse_dollars("-5"), Err(MoneyProblem::Negative));
        assert_eq!(parse_dollars("-$5.00"), Err(MoneyProblem::Negative));
        assert_eq!(parse_dollars("1.005"), Err(MoneyProblem::TooPrecise));
        assert_eq!(parse_dollars("100000000.01"), Err(MoneyProblem::TooLarge));
        assert_eq!(parse_dollars("9999999999999"), Err(MoneyProblem::TooLarge));
    }

    #[test]
    fn cents_round_trip_through_the_edit_form() {
        for cents in [0, 1, 99, 100, 125_005, MAX_CENTS] {
            assert_eq!(parse_dollars(&cents_for_input(cents)), Ok(cents));
        }
    }

    #[test]
    fn cents_are_shown_as_grouped_dollars_and_cents() {
        assert_eq!(format_cents(0), "$0.00");
        assert_eq!(format_cents(1), "$0.01");
        assert_eq!(format_cents(99_999), "$999.99");
        assert_eq!(format_cents(100_000), "$1,000.00");
        assert_eq!(format_cents(123_456_789), "$1,234,567.89");
        assert_eq!(format_cents(-450_000), "-$4,500.00");
        assert_eq!(format_cents(i64::MIN), "-$92,233,720,368,547,758.08");
        assert_eq!(format_whole_dollars(0), "$0");
        assert_eq!(format_whole_dollars(49), "$0");
        assert_eq!(format_whole_dollars(50), "$1");
        assert_eq!(format_whole_dollars(12_496_049), "$124,960");
        assert_eq!(format_whole_dollars(99_999_950), "$1,000,000");
        assert_eq!(format_whole_dollars(-450_050), "-$4,501");
        assert_eq!(format_whole_dollars(i64::MIN), "-$92,233,720,368,547,758");
    }
}
