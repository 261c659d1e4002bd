//! Static security checks on the source (no services needed).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Statement-taking methods of tokio-postgres / deadpool.
const SQL_CALLS: &[&str] = &[
    ".query(",
    ".query_one(",
    ".query_opt(",
    ".query_raw(",
    ".execute(",
    ".execute_raw(",
    ".prepare(",
    ".prepare_cached(",
    ".prepare_typed(",
    ".batch_execute(",
    ".simple_query(",
    ".copy_in(",
    ".copy_out(",
];

/// SQL built at run time, reviewed: `CREATE DATABASE` and `DROP DATABASE` take no bind
/// parameters, and the name is quoted as an identifier (quote_identifier).
const REVIEWED: &[(&str, &str)] = &[("src/db/mod.rs", "sql")];

/// Every statement the program sends is a string literal (values travel as
/// bind parameters), or a statement prepared from one.
#[test]
fn sql_is_only_literal_text_with_bound_parameters() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut calls = 0;
    let mut bad = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for call in SQL_CALLS {
            for (at, _) in text.match_indices(call) {
                calls += 1;
                let arg = text[at + call.len()..].trim_start();
                let arg = arg.strip_prefix('&').unwrap_or(arg);
                if arg.starts_with('"') || arg.starts_with("r\"") || arg.starts_with("r#\"") {
                    continue;
                }
                let ident: String = arg
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let literal = text.contains(&format!("let {ident} = \""))
                    || text
                        .match_indices(&format!("for {ident} in ["))
                        .any(|(i, _)| text[i + ident.len() + 9..].trim_start().starts_with('"'));
                let prepared = text
                    .match_indices(&format!("let {ident} = "))
                    .any(|(i, _)| {
                        let rest = &text[i..text.len().min(i + 200)];
                        rest.contains(".prepare")
                    });
                let reviewed = REVIEWED.contains(&(rel.as_str(), ident.as_str()));
                if ident.is_empty() || !(literal || prepared || reviewed) {
                    let line = text[..at].lines().count();
                    bad.push(format!("{rel}:{line}: {call}{}", &arg[..arg.len().min(40)]));
                }
            }
        }
        // No SQL assembled with format! (values would be spliced in).
        for (at, _) in text.match_indices("format!(") {
            let snippet: String = text[at..].chars().take(80).collect();
            let upper = snippet.to_uppercase();
            let sql = [
                "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "DROP ", "ALTER ",
            ]
            .iter()
            .any(|k| upper.contains(k));
            let ddl = snippet.contains("CREATE DATABASE {}")
                || snippet.contains("DROP DATABASE IF EXISTS {}");
            if sql && !(rel == "src/db/mod.rs" && ddl) {
                let line = text[..at].lines().count();
                bad.push(format!("{rel}:{line}: {snippet}"));
            }
        }
    }
    assert!(
        calls > 20,
        "found only {calls} statement calls: is the scan broken?"
    );
    assert!(
        bad.is_empty(),
        "SQL not from literal text:\n{}",
        bad.join("\n")
    );
}

/// Secrets never travel on the command line (visible to every user in the
/// process list): the URLs and the pepper are not flags.
#[test]
fn secrets_are_not_flags() {
    for command in ["worker", "migrate", "dlq"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dmumatch"))
            .args([command, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for flag in ["--amqp-url", "--database-url", "--erasure-pepper"] {
            assert!(!help.contains(flag), "{command} offers {flag}");
        }
        assert!(
            help.contains("AMQP_URL_FILE"),
            "{command} --help names the secret files"
        );
    }
}
