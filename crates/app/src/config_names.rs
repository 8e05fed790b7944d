//! The names of settings, as an operator writes them: which `EPORTAL_*` variables and TOML keys
//! exist (derived from [`Config`]'s own defaults, so a new field is known the moment it is
//! added), the nearest known name for a misspelt one, how a setting is named in an error
//! (`EPORTAL_LIMITS__MAX_IN_FLIGHT`, or `limits.max_in_flight in eportal.toml` when the file
//! set it), and listen addresses given as `host:port`.
//!
//! This module must never let a misspelt setting pass in silence: an ignored setting is a
//! limit an operator believes is in force and is not.

use crate::config::Config;
use figment::value::{Dict, Value};
use figment::{Figment, Provider};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

/// Variables that start with `EPORTAL_` but are not fields of [`Config`]: the file to read,
/// and those read by the development scripts and test harnesses that run the binary.
const OTHER_VARIABLES: &[&str] = &[
    "EPORTAL_CONFIG",
    "EPORTAL_BIN",
    "EPORTAL_VOLUME_STUDENTS",
    "EPORTAL_SQLITE_CRASH_CHILD",
    "EPORTAL_LOCALFS_CRASH_CHILD_DIR",
];

/// Families of variables read outside [`Config`]: fault injection in debug builds, and the
/// test suites' engine addresses.
const OTHER_PREFIXES: &[&str] = &["EPORTAL_FAULT_", "EPORTAL_TEST_"];

/// Every setting's dotted key (`limits.max_in_flight`), and the keys of maps that take any
/// name below them.
pub struct KnownKeys {
    leaves: BTreeSet<String>,
    open: Vec<String>,
}

impl KnownKeys {
    /// The keys of [`Config::default`], serialized to a tree.
    pub fn of_config() -> KnownKeys {
        let tree = serde_json::to_value(Config::default()).expect("the configuration serializes");
        let mut known = KnownKeys {
            leaves: BTreeSet::new(),
            open: Vec::new(),
        };
        known.walk("", &tree);
        known
    }

    fn walk(&mut self, prefix: &str, v: &serde_json::Value) {
        match v {
            serde_json::Value::Object(m) if m.is_empty() && !prefix.is_empty() => {
                self.open.push(prefix.to_string())
            }
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    self.walk(&key, v);
                }
            }
            _ => {
                self.leaves.insert(prefix.to_string());
            }
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.leaves.contains(key)
            || self.open.iter().any(|p| {
                key.strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('.'))
            })
    }

    /// The known key nearest to `key`, if one is near enough to be a likely misspelling.
    pub fn nearest(&self, key: &str) -> Option<&str> {
        self.leaves
            .iter()
            .map(|k| (distance(k, key), k))
            .min()
            .filter(|(d, _)| *d <= 2 + key.len() / 3)
            .map(|(_, k)| k.as_str())
    }
}

/// The environment variable of a dotted key: `limits.max_in_flight` →
/// `EPORTAL_LIMITS__MAX_IN_FLIGHT`.
pub fn env_name(key: &str) -> String {
    format!("EPORTAL_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// The dotted key an `EPORTAL_*` variable sets, as figment reads it.
fn env_key(name: &str) -> Option<String> {
    let rest = name.strip_prefix("EPORTAL_")?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// Every `EPORTAL_*` variable among `names` that eportal does not know, each with the nearest
/// known one; `Err` lists them all.
pub fn check_environment(
    names: impl IntoIterator<Item = String>,
    known: &KnownKeys,
) -> Result<(), String> {
    let mut problems = Vec::new();
    for name in names {
        if !name.starts_with("EPORTAL_")
            || OTHER_VARIABLES.contains(&name.as_str())
            || OTHER_PREFIXES.iter().any(|p| name.starts_with(p))
        {
            continue;
        }
        let Some(key) = env_key(&name) else { continue };
        if known.contains(&key) {
            continue;
        }
        problems.push(match known.nearest(&key) {
            Some(k) => format!(
                "{name} is not a setting of eportal; did you mean {}?",
                env_name(k)
            ),
            None => format!("{name} is not a setting of eportal"),
        });
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    Err(format!(
        "{} (every setting is listed in README.md, section Configuration)",
        problems.join("; ")
    ))
}

/// Every key of the TOML file `fig` (that file alone) that eportal does not know.
pub fn check_file(fig: &Figment, file: &Path, known: &KnownKeys) -> Result<(), String> {
    // A file that cannot be parsed is reported by the extraction, with its line.
    let Ok(data) = fig.data() else { return Ok(()) };
    let mut problems = Vec::new();
    for dict in data.values() {
        let mut keys = Vec::new();
        flatten("", dict, &mut keys);
        for key in keys {
            if known.contains(&key) {
                continue;
            }
            problems.push(match known.nearest(&key) {
                Some(k) => format!("{key} is not a setting of eportal; did you mean {k}?"),
                None => format!("{key} is not a setting of eportal"),
            });
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    Err(format!("{}: {}", file.display(), problems.join("; ")))
}

fn flatten(prefix: &str, dict: &Dict, out: &mut Vec<String>) {
    for (k, v) in dict {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Dict(_, d) if !d.is_empty() => flatten(&key, d, out),
            _ => out.push(key),
        }
    }
}

/// How the operator wrote the setting `key`: the TOML key and file when the file set it,
/// otherwise its environment variable.
pub fn as_written(fig: &Figment, key: &str) -> String {
    let from_file = fig
        .find_metadata(key)
        .and_then(|m| m.source.as_ref())
        .and_then(|s| s.file_path())
        .map(Path::to_path_buf);
    match from_file {
        Some(f) => format!("{key} in {}", f.display()),
        None => env_name(key),
    }
}

/// One error of the extraction, naming the setting as the operator wrote it.
pub fn describe(fig: &Figment, e: &figment::Error) -> String {
    let key = e.path.join(".");
    if key.is_empty() {
        return e.kind.to_string();
    }
    let file = e
        .metadata
        .as_ref()
        .and_then(|m| m.source.as_ref())
        .and_then(|s| s.file_path());
    let name = match file {
        Some(f) => format!("{key} in {}", f.display()),
        None if e.metadata.is_some() => env_name(&key),
        None => as_written(fig, &key),
    };
    format!("{name}: {}", e.kind)
}

/// Rewrites each `EPORTAL_…` name in a validation message that the file, not the
/// environment, set, so the operator is sent to the line they wrote.
pub fn name_sources(fig: &Figment, message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("EPORTAL_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let written = env_key(name)
            .map(|k| as_written(fig, &k))
            .filter(|w| !w.starts_with("EPORTAL_"));
        match written {
            Some(w) => out.push_str(&format!("{w} ({name})")),
            None => out.push_str(name),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A listen address: `IP:PORT`, or `HOST:PORT` resolved now (IPv4 preferred, as most
/// load balancers and probes dial it).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(a) = s.parse() {
        return Ok(a);
    }
    let example = "host:port, e.g. 0.0.0.0:8080 or localhost:8080";
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("'{s}' is not an address to listen on ({example}): {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("'{s}' resolves to no address ({example})"))
}

/// An address as written: `EPORTAL_LISTEN=8080` arrives as a number, and deserves the same
/// explanation as any other address without a host.
#[derive(Deserialize)]
#[serde(untagged)]
enum Written {
    Text(String),
    Number(u64),
}

impl Written {
    fn text(self) -> String {
        match self {
            Written::Text(s) => s,
            Written::Number(n) => n.to_string(),
        }
    }
}

/// Serde: a listen address written as `host:port`.
pub fn addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let s = Written::deserialize(d)?.text();
    parse_listen(&s).map_err(serde::de::Error::custom)
}

/// Serde: an optional listen address; empty means unset.
pub fn opt_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    match Option::<Written>::deserialize(d)?.map(Written::text) {
        Some(s) if !s.trim().is_empty() => {
            parse_listen(&s).map(Some).map_err(serde::de::Error::custom)
        }
        _ => Ok(None),
    }
}

/// Levenshtein distance over bytes (setting names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_known_names_come_from_the_configuration() {
        let k = KnownKeys::of_config();
        for key in [
            "listen",
            "metrics_listen",
            "limits.max_in_flight",
            "worker.retry.max_attempts",
        ] {
            assert!(k.contains(key), "{key}");
        }
        assert!(!k.contains("limits"), "a group is not a setting");
        assert!(!k.contains("limits.max_inflight"));
    }

    #[test]
    fn a_misspelt_variable_is_named_with_the_nearest_setting() {
        let k = KnownKeys::of_config();
        let e = check_environment(vars(&["EPORTAL_LIMITS__MAX_INFLIGHT", "PATH"]), &k).unwrap_err();
        assert!(
            e.starts_with("EPORTAL_LIMITS__MAX_INFLIGHT is not a setting of eportal; did you mean EPORTAL_LIMITS__MAX_IN_FLIGHT?"),
            "{e}"
        );
        let e = check_environment(vars(&["EPORTAL_ZZZZZZZZZZZZZZZZZZZZZZZZ"]), &k).unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn variables_read_elsewhere_are_allowed() {
        let k = KnownKeys::of_config();
        let ok = vars(&[
            "EPORTAL_CONFIG",
            "EPORTAL_FAULT_PARSER_ABORT",
            "EPORTAL_TEST_POSTGRES_URL",
            "EPORTAL_LIMITS__MAX_IN_FLIGHT",
            "EPORTAL_WORKER__RETRY__BASE_MS",
        ]);
        assert_eq!(check_environment(ok, &k), Ok(()));
    }

    #[test]
    fn listen_addresses_may_name_a_host() {
        assert_eq!(
            parse_listen("localhost:8080").unwrap(),
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen("[::1]:9").unwrap(),
            "[::1]:9".parse::<SocketAddr>().unwrap()
        );
        let e = parse_listen("localhost").unwrap_err();
        assert!(
            e.contains("'localhost' is not an address to listen on"),
            "{e}"
        );
    }
}
