//! Each default in one place: the code's `Default` impls. These refuse a value written in both
//! the code and `config/default.toml`, a profile file repeating a default, a change of the
//! built-in profiles' effective values, and a README default that is not the code's.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// The README, whose configuration table lists every setting's default for operators.
const README: &str = include_str!("../../../../../README.md");

/// The effective built-in settings of each profile, serialized by the code before the defaults
/// moved out of `config/default.toml`: moving them changed no value.
const SNAPSHOTS: [(Profile, &str); 2] = [
    (Profile::Dev, include_str!("../snapshots/dev.toml")),
    (Profile::Production, include_str!("../snapshots/production.toml")),
];

/// Every value that is not a table, by its dotted key (`sms.retry_for`).
fn leaves(value: toml::Value) -> BTreeMap<String, toml::Value> {
    fn walk(prefix: &str, value: toml::Value, out: &mut BTreeMap<String, toml::Value>) {
        match value {
            toml::Value::Table(table) => {
                for (name, inner) in table {
                    let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
                    walk(&key, inner, out);
                }
            }
            leaf => {
                out.insert(prefix.to_owned(), leaf);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

fn code_defaults() -> BTreeMap<String, toml::Value> {
    leaves(toml::Value::try_from(Settings::default()).unwrap())
}

fn built_in(profile: Profile) -> BTreeMap<String, toml::Value> {
    leaves(toml::Value::try_from(Settings::built_in_profile(profile).unwrap()).unwrap())
}

#[test]
fn each_default_is_written_once_in_the_code() {
    let code = code_defaults();
    for (name, text) in BUILT_IN {
        let file = leaves(toml::from_str(text).unwrap());
        for (key, value) in file {
            if name == "default" {
                assert!(
                    !code.contains_key(&key),
                    "config/default.toml sets {key}, whose default is in the code ({}): name it in a comment \
                     instead, or remove the code's value",
                    code[&key]
                );
            } else {
                assert_ne!(code.get(&key), Some(&value), "config/{name}.toml sets {key} to its default: remove it");
            }
        }
    }
    // The file holds what the code has no value for: the shipped texts.
    assert!(Settings::default().sms.events.is_empty());
    assert!(!Settings::built_in().unwrap().sms.events.is_empty());
}

#[test]
fn the_built_in_profiles_keep_their_effective_values() {
    for (profile, snapshot) in SNAPSHOTS {
        let expected = leaves(toml::from_str(snapshot).unwrap());
        let actual = built_in(profile);
        for key in expected.keys().chain(actual.keys()).collect::<BTreeSet<_>>() {
            assert_eq!(actual.get(key), expected.get(key), "{} profile: {key}", profile.name());
        }
    }
}

/// Settings that are not serialized while unset, so the defaults do not name them.
const UNSET_UNLESS_SET: [&str; 1] = ["webhooks.allow_private_targets"];

/// A README default as the code renders it: strings bare, others as in TOML.
fn rendered(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Checks one cell of the Default column (`` `30` ``, `` `8` (`16` in production) ``,
/// `empty (...)`, `none`, `unset (...)`) against a profile's value; `None` when the cell says
/// nothing about that profile.
fn check_cell(cell: &str, key: &str, profile: Profile, value: Option<&toml::Value>) -> Option<Result<(), String>> {
    let cell = cell.trim();
    let production = cell.split("(`").nth(1).and_then(|rest| rest.strip_suffix("` in production)"));
    let stated = match (profile, production) {
        (Profile::Production, Some(production)) => Some(production.to_owned()),
        (Profile::Production, None) if cell.contains("production") => return None,
        _ if cell.starts_with('`') => cell.split('`').nth(1).map(|v| v.trim_matches('"').to_owned()),
        _ => None,
    };
    let value = value.map(rendered);
    let ok = match (stated, cell.split_whitespace().next().unwrap_or_default()) {
        (Some(stated), _) => value.as_deref() == Some(stated.as_str()),
        (None, "empty") => value.as_deref() == Some(""),
        (None, "none") => value.as_deref() == Some("[]"),
        (None, "unset" | "unset:") => value.is_none(),
        (None, _) => {
            return Some(Err(format!(
                "README: the default of {key} ({cell:?}) must start with a value in backticks, `empty`, `none` or `unset`"
            )));
        }
    };
    Some(if ok {
        Ok(())
    } else {
        Err(format!("README: {key} in the {} profile is {value:?}, the table says {cell:?}", profile.name()))
    })
}

#[test]
fn the_readme_lists_every_setting_with_the_code_default() {
    let section = README.split("\n## Configuration\n").nth(1).unwrap().split("\n## ").next().unwrap();
    let profiles = [(Profile::Dev, built_in(Profile::Dev)), (Profile::Production, built_in(Profile::Production))];
    let known = known_keys();
    let mut listed = BTreeSet::new();
    let mut errors = Vec::new();
    for row in section.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let keys: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
        if keys[0].starts_with("sms.events.") {
            continue; // the texts: a file's, not the code's
        }
        let defaults: Vec<&str> = if keys.len() > 1 { cells[2].split(" / ").collect() } else { vec![cells[2]] };
        assert_eq!(keys.len(), defaults.len(), "README row {row}");
        for (key, cell) in keys.into_iter().zip(defaults) {
            if !known.iter().any(|k| k == key) && !UNSET_UNLESS_SET.contains(&key) {
                errors.push(format!("README: {key} is not a setting"));
            }
            if !listed.insert(key.to_owned()) {
                errors.push(format!("README: {key} is listed twice"));
            }
            for (profile, values) in &profiles {
                if let Some(Err(error)) = check_cell(cell, key, *profile, values.get(key)) {
                    errors.push(error);
                }
            }
        }
    }
    // `profile` is the table's "(profile)" row: it comes from `ORDERDESK_PROFILE` only.
    for key in code_defaults().keys().filter(|key| !listed.contains(*key) && *key != "profile") {
        errors.push(format!("README: the configuration table does not list {key}"));
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
