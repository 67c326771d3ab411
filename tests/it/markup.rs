//! What every template must hold, read from the templates themselves.

use std::path::{Path, PathBuf};

fn templates(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            templates(&path, out);
        } else if path.extension().is_some_and(|e| e == "html") {
            out.push(path);
        }
    }
}

/// A screen reader announces a column's header with each cell only when the header says it
/// heads a column: every `<th>` in a table head carries `scope="col"`.
#[test]
fn every_column_header_says_it_heads_a_column() {
    let mut files = Vec::new();
    templates(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
        &mut files,
    );
    assert!(
        files.len() > 20,
        "the templates were found: {}",
        files.len()
    );
    let mut missing = Vec::new();
    let mut heads = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for head in text.split("<thead>").skip(1) {
            let head = head.split("</thead>").next().unwrap_or("");
            heads += 1;
            for th in head.split("<th").skip(1) {
                if !(th.starts_with(' ') || th.starts_with('>')) {
                    continue; // <thead>, not a header cell
                }
                let tag = th.split('>').next().unwrap_or("");
                if !tag.contains("scope=\"col\"") {
                    missing.push(format!("{}: <th{tag}>", file.display()));
                }
            }
        }
    }
    assert!(heads > 20, "table heads were found: {heads}");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
