//! Money as integer cents: entered and shown as dollars and cents, never a float.

/// `123456` → `"$1,234.56"`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let dollars = (abs / 100).to_string();
    let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_shown_as_grouped_dollars_and_cents() {
        assert_eq!(format_cents(0), "$0.00");
        assert_eq!(format_cents(1), "$0.01");
        assert_eq!(format_cents(99_999), "$999.99");
        assert_eq!(format_cents(100_000), "$1,000.00");
        assert_eq!(format_cents(123_456_789), "$1,234,567.89");
        assert_eq!(format_cents(-450_000), "-$4,500.00");
        assert_eq!(format_cents(i64::MIN), "-$92,233,720,368,547,758.08");
    }
}
