//! The client's signed addendum, attached to the request: checked by its content (PDF, PNG or
//! JPEG), at most 10 MB, kept in the database, and served only as a download to those who may
//! read the request.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::db;
use super::rules;
use crate::auth::roles::Who;

/// Largest document accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// What the upload route lets through before the handler sees it: the document and the form
/// around it. Anything bigger is refused with the same message as an oversized document.
pub const BODY_LIMIT: usize = MAX_BYTES + 64 * 1024;

/// The kinds of document accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
}

impl FileType {
    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Pdf => "application/pdf",
            FileType::Png => "image/png",
            FileType::Jpeg => "image/jpeg",
        }
    }

    pub fn from_content_type(s: &str) -> Option<FileType> {
        [FileType::Pdf, FileType::Png, FileType::Jpeg]
            .into_iter()
            .find(|t| t.content_type() == s)
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Pdf => "pdf",
            FileType::Png => "png",
            FileType::Jpeg => "jpg",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FileType::Pdf => "PDF",
            FileType::Png => "PNG image",
            FileType::Jpeg => "JPEG image",
        }
    }
}

/// What the file is, by its first bytes; the name and the browser's claim are not asked.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    if bytes.starts_with(b"%PDF-") {
        Some(FileType::Pdf)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileType::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileType::Jpeg)
    } else {
        None
    }
}

/// The uploader's file name, made harmless: no folders, no control or quoting characters, at
/// most 120 characters, and ending in the extension its content deserves.
pub fn clean_name(original: &str, kind: FileType) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '<' | '>' | '*' | '?' | '|' | ':'))
        .collect();
    let (stem, ext) = match cleaned.rfind('.') {
        Some(i) => (&cleaned[..i], &cleaned[i + 1..]),
        None => (cleaned.as_str(), ""),
    };
    let ext_fits = match kind {
        FileType::Jpeg => ext.eq_ignore_ascii_case("jpg") || ext.eq_ignore_ascii_case("jpeg"),
        _ => ext.eq_ignore_ascii_case(kind.extension()),
    };
    let stem: String = stem
        .trim_start_matches('.')
        .trim()
        .chars()
        .take(115)
        .collect();
    let stem = if stem.is_empty() {
        "signed-addendum"
    } else {
        stem.as_str()
    };
    let ext = if ext_fits { ext } else { kind.extension() };
    format!("{stem}.{ext}")
}

/// `Content-Disposition` for a download: an ASCII fallback name and the exact one (RFC 6266).
pub fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii.replace('\\', "_"),
        crate::web::ctx::encode_component(name)
    )
}

/// An attachment as the request's page lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i32,
    pub uploaded_by_name: String,
    pub uploaded_at: DateTime<Utc>,
    /// When the request's terms changed after it was signed: kept, but no longer counts.
    pub superseded_at: Option<DateTime<Utc>>,
    /// The signer's name, when the desk sealed it after they signed online (not uploaded).
    pub signed_online_by: Option<String>,
}

impl AttachmentRow {
    pub fn size(&self) -> String {
        human_size(self.size_bytes as i64)
    }

    pub fn type_label(&self) -> &'static str {
        FileType::from_content_type(&self.content_type)
            .map(FileType::label)
            .unwrap_or("")
    }
}

pub fn human_size(bytes: i64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{} KB", (bytes + 1023) / 1024)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// The signed addendum part of a request's page, with the upload's message when the file was
/// refused.
#[derive(Debug, Default)]
pub struct AttachmentsPanel {
    pub attachments: Vec<AttachmentRow>,
    pub may_attach: bool,
    pub error: String,
}

impl AttachmentsPanel {
    /// `any`: whether the request has attachments, superseded ones included (the page's probe
    /// read it); none, no statement.
    pub async fn load(
        conn: &mut PgConnection,
        request: &db::RequestRow,
        any: bool,
        viewer: Who,
    ) -> sqlx::Result<Self> {
        Ok(AttachmentsPanel {
            attachments: if any {
                for_request(conn, request.id).await?
            } else {
                Vec::new()
            },
            may_attach: rules::may_attach(viewer, request.facts(), request.kind).is_ok(),
            error: String::new(),
        })
    }
}

pub async fn for_request(
    conn: &mut PgConnection,
    request_id: i64,
) -> sqlx::Result<Vec<AttachmentRow>> {
    sqlx::query_as(
        "SELECT a.id, a.original_name, a.content_type, a.size_bytes,
                u.display_name AS uploaded_by_name, a.uploaded_at, a.superseded_at,
                (SELECT s.signed_name FROM signature_requests s
                  WHERE s.change_request_id = a.change_request_id AND s.attachment_id = a.id
                  ORDER BY s.id LIMIT 1) AS signed_online_by
           FROM request_attachments a JOIN users u ON u.id = a.uploaded_by
          WHERE a.change_request_id = $1
          ORDER BY a.id",
    )
    .bind(request_id)
    .fetch_all(conn)
    .await
}

/// The request's signed documents no longer match its terms (its budgets or date changed):
/// they stay on the record, but none counts as signed until a new one is attached. Says how
/// many were current.
pub async fn supersede(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE request_attachments SET superseded_at = now()
          WHERE change_request_id = $1 AND superseded_at IS NULL",
    )
    .bind(request_id)
    .execute(conn)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_three_kinds_by_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(FileType::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some(FileType::Jpeg)
        );
    }

    #[test]
    fn refuses_everything_else_whatever_it_is_called() {
        for bytes in [
            &b""[..],
            b"%PD",
            b"PK\x03\x04 a docx or zip",
            b"<html><script>alert(1)</script>",
            b"MZ\x90\0 an exe",
            b"GIF89a",
            b" %PDF-1.7 with a leading space",
            b"\x89PNG but not the rest",
            &[0xFF, 0xD8],
        ] {
            assert_eq!(sniff(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn names_lose_folders_and_dangerous_characters_and_gain_the_right_extension() {
        assert_eq!(clean_name("Signed.pdf", FileType::Pdf), "Signed.pdf");
        assert_eq!(clean_name("scan.JPEG", FileType::Jpeg), "scan.JPEG");
        assert_eq!(clean_name("scan.jpg", FileType::Jpeg), "scan.jpg");
        assert_eq!(
            clean_name("C:\\Users\\me\\addendum.pdf", FileType::Pdf),
            "addendum.pdf"
        );
        assert_eq!(clean_name("../../etc/passwd", FileType::Pdf), "passwd.pdf");
        assert_eq!(clean_name("invoice.exe", FileType::Png), "invoice.png");
        assert_eq!(clean_name("a\"b;c\r\n.pdf", FileType::Pdf), "abc.pdf");
        assert_eq!(clean_name("", FileType::Pdf), "signed-addendum.pdf");
        assert_eq!(clean_name(".pdf", FileType::Pdf), "signed-addendum.pdf");
        assert_eq!(clean_name("...", FileType::Jpeg), "signed-addendum.jpg");
        assert_eq!(clean_name("contract", FileType::Pdf), "contract.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        let cleaned = clean_name(&long, FileType::Pdf);
        assert!(cleaned.chars().count() <= 124, "{cleaned}");
        assert!(cleaned.ends_with(".pdf"));
    }

    #[test]
    fn the_download_name_survives_any_characters() {
        assert_eq!(
            disposition("Signed addendum.pdf"),
            "attachment; filename=\"Signed addendum.pdf\"; filename*=UTF-8''Signed%20addendum.pdf"
        );
        let d = disposition("Zoë\\x.pdf");
        assert!(d.starts_with("attachment; filename=\"Zo__x.pdf\""), "{d}");
        assert!(d.contains("filename*=UTF-8''Zo%C3%AB%5Cx.pdf"), "{d}");
    }

    #[test]
    fn sizes_read_like_a_person_writes_them() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(2048), "2 KB");
        assert_eq!(human_size(3 * 1024 * 1024 + 1024 * 512), "3.5 MB");
    }
}
