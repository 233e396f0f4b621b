//! Where a check's figures go: `target/systest/<check>.md` (a CI artifact). Nothing here
//! writes under `docs/`; a person copies figures there when they mean to.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The file of `check`'s figures under `target`.
pub fn path(target: &Path, check: &str) -> PathBuf {
    target.join("systest").join(format!("{check}.md"))
}

/// Writes `body` as the figures of `check` (replacing the last run's) and says where.
pub fn write(target: &Path, check: &str, body: &str) -> anyhow::Result<PathBuf> {
    let path = path(target, check);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = format!("<!-- {check} figures, from `cargo xtask {check}` -->\n{body}");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("figures written to {} (copy them into docs/ when you mean to)", path.display());
    Ok(path)
}

/// A Markdown table: a header row, its rule, and one line a row.
pub fn table<const N: usize>(header: [&str; N], rows: impl IntoIterator<Item = [String; N]>) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let mut out = line(&header.map(str::to_owned));
    out.push_str(&format!("|{}\n", "---|".repeat(N)));
    for row in rows {
        out.push_str(&line(&row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_go_under_target_and_replace_the_last_run() {
        let target = std::env::temp_dir().join(format!("systest-figures-{}", std::process::id()));
        let written = write(&target, "crash-test", "first\n").unwrap();
        assert_eq!(written, target.join("systest/crash-test.md"));
        write(&target, "crash-test", "second\n").unwrap();
        let text = std::fs::read_to_string(&written).unwrap();
        assert!(text.ends_with("second\n") && !text.contains("first"), "{text}");
        std::fs::remove_dir_all(&target).unwrap();
    }

    #[test]
    fn a_table_has_its_rule_and_rows() {
        let table = table(["A", "B"], [["1".to_owned(), "2".to_owned()]]);
        assert_eq!(table, "| A | B |\n|---|---|\n| 1 | 2 |\n");
    }
}
