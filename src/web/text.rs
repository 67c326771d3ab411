//! Text as people type it, checked before it goes anywhere: one-line fields refuse line breaks
//! and control characters (a client name ends up in an email's subject), longer texts keep
//! their line breaks and tabs but refuse the other control characters (PostgreSQL refuses a NUL
//! byte outright), and search boxes drop what they cannot use. Each check answers with the
//! sentence shown beside the field.

/// A one-line field: trimmed, at most `max` characters, no control characters (tabs and line
/// breaks included).
pub fn line(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    readable(s)?;
    if s.chars().any(char::is_control) {
        return Err(if s.contains(['\r', '\n']) {
            "Keep this to one line: remove the line break.".to_string()
        } else {
            "Remove the control character (such as a NUL byte or a tab) from this field."
                .to_string()
        });
    }
    if s.chars().any(invisible) {
        return Err(
            "Remove the invisible character (such as a right-to-left override or a \
                    zero-width space) from this field."
                .to_string(),
        );
    }
    within(s, max)
}

/// A character that shows nothing yet changes what a line seems to say: the bidirectional
/// embeddings, overrides, isolates and marks (a name that reads backwards) and the zero-width
/// spaces and joiners that split a word invisibly. The joiners scripts need between letters
/// (U+200C, U+200D) are kept.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{180E}' | '\u{061C}')
}

/// A text of several lines: trimmed, line breaks as `\n`, at most `max` characters; tabs and
/// line breaks are kept, every other control character refused.
pub fn paragraph(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim().replace("\r\n", "\n").replace('\r', "\n");
    readable(&s)?;
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("Remove the control character (such as a NUL byte) from the text.".to_string());
    }
    within(&s, max)
}

/// A text that must be given (a reason, a comment): as [`paragraph`], and `missing` when
/// empty.
pub fn required(raw: &str, max: usize, missing: &str) -> Result<String, String> {
    let s = paragraph(raw, max)?;
    if s.is_empty() {
        Err(missing.to_string())
    } else {
        Ok(s)
    }
}

/// Refuses text with a byte that was not text where it was sent (decoded as U+FFFD): what is
/// saved is what the person typed, or nothing.
pub fn readable(s: &str) -> Result<(), String> {
    if s.contains(char::REPLACEMENT_CHARACTER) {
        return Err(
            "This field has a character that could not be read (an invalid byte): retype it."
                .to_string(),
        );
    }
    Ok(())
}

fn within(s: &str, max: usize) -> Result<String, String> {
    if s.chars().count() > max {
        Err(format!("At most {max} characters."))
    } else {
        Ok(s.to_string())
    }
}

/// A short label (a step's name, a reason, a checklist item): as [`line`], with runs of spaces
/// made one, and `missing` when empty.
pub fn label(raw: &str, max: usize, missing: &str) -> Result<String, String> {
    let s = line(raw, usize::MAX)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.is_empty() {
        return Err(missing.to_string());
    }
    within(&s, max)
}

/// What a search box is searched for: control characters dropped, trimmed, at most 200
/// characters. Nothing typed there can fail a search.
pub fn search(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_refuses_invisible_characters_that_change_how_it_reads() {
        for bad in [
            "Jane\u{202E}Doe",
            "Dora\u{200B}Dealer",
            "\u{2067}x",
            "a\u{FEFF}",
            "a\u{200F}b",
        ] {
            let refused = line(bad, 100).unwrap_err();
            assert!(
                refused.contains("invisible character"),
                "{bad:?}: {refused}"
            );
            assert!(label(bad, 100, "missing").is_err(), "{bad:?}");
        }
        // Joiners between letters (Persian, Hindi) and emoji are kept.
        assert!(line("\u{0645}\u{200C}\u{06CC}", 100).is_ok());
        assert!(line("\u{0915}\u{094D}\u{200D}\u{0937}", 100).is_ok());
    }

    #[test]
    fn a_line_is_trimmed_and_refuses_every_control_character() {
        assert_eq!(line("  Lakeside RV  ", 100), Ok("Lakeside RV".to_string()));
        assert_eq!(line("", 100), Ok(String::new()));
        for bad in [
            "a\nb",
            "a\r\nBcc: x@evil.test",
            "a\rb",
            "a\u{0}b",
            "a\tb",
            "a\u{7f}b",
            "a\u{85}b",
        ] {
            assert!(line(bad, 100).is_err(), "{bad:?}");
        }
        assert!(line("a\nb", 100).unwrap_err().contains("one line"));
        assert!(line("a\u{0}b", 100).unwrap_err().contains("NUL"));
        assert_eq!(
            line(&"é".repeat(100), 100).map(|s| s.chars().count()),
            Ok(100)
        );
        assert_eq!(
            line(&"é".repeat(101), 100),
            Err("At most 100 characters.".into())
        );
    }

    #[test]
    fn a_paragraph_keeps_line_breaks_and_tabs_and_refuses_the_rest() {
        assert_eq!(
            paragraph(" one\r\ntwo\rthree\n\tfour ", 100),
            Ok("one\ntwo\nthree\n\tfour".to_string())
        );
        for bad in ["a\u{0}b", "a\u{1b}[31mb", "a\u{7f}", "\u{8}"] {
            assert!(paragraph(bad, 100).is_err(), "{bad:?}");
        }
        assert!(paragraph(&"x".repeat(2001), 2000).is_err());
    }

    #[test]
    fn a_required_text_says_what_is_missing() {
        assert_eq!(required("  ", 10, "Say why."), Err("Say why.".into()));
        assert_eq!(required(" ok ", 10, "Say why."), Ok("ok".into()));
        assert!(
            required("a\u{0}", 10, "Say why.")
                .unwrap_err()
                .contains("NUL")
        );
    }

    #[test]
    fn a_label_is_one_line_with_single_spaces() {
        assert_eq!(
            label("  Finance   review ", 80, "Name it."),
            Ok("Finance review".into())
        );
        assert_eq!(label("   ", 80, "Name it."), Err("Name it.".into()));
        assert!(label("a\nb", 80, "Name it.").is_err());
        assert!(label("a\u{0}b", 80, "Name it.").is_err());
        // A byte that was not text, decoded as U+FFFD, is not saved as if typed.
        assert!(label("Pat\u{FFFD}Boss", 80, "Name it.").is_err());
        assert!(
            paragraph("a\u{FFFD}", 80)
                .unwrap_err()
                .contains("could not be read")
        );
        assert_eq!(
            label("abcd", 3, "Name it."),
            Err("At most 3 characters.".into())
        );
    }

    #[test]
    fn a_search_drops_what_it_cannot_use() {
        assert_eq!(search(" a\u{0}b\n "), "ab");
        assert_eq!(search(&"x".repeat(500)).len(), 200);
        assert_eq!(search("Lakeside"), "Lakeside");
    }
}
