//! Command lines parsed the way kube-scheduler's flag library (spf13/pflag,
//! with Kubernetes' word-separator normalisation) parses them.

use crate::k8s::flags::{FlagKind, FlagSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value a flag ends up with after every occurrence on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagValue {
    /// The final value: the last occurrence for single values and booleans;
    /// for lists, the elements joined by commas.
    pub value: String,
    /// For `strings` and `stringArray` flags, the elements of every
    /// occurrence, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list: Vec<String>,
    /// Indices into argv (0 is the program) of every occurrence.
    pub positions: Vec<usize>,
    /// False for flags missing from the table; their type was guessed.
    pub known: bool,
}

impl FlagValue {
    /// The flag as a boolean, by Go's `strconv.ParseBool` rules.
    pub fn as_bool(&self) -> Result<bool, String> {
        parse_bool(&self.value)
    }
}

/// A parsed command line. Serialised into facts snapshots.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedArgs {
    pub flags: BTreeMap<String, FlagValue>,
    /// Arguments that are not flags (for `hyperkube scheduler`, the subcommand).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positional: Vec<String>,
    /// What the real binary would reject: a missing value, an invalid boolean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl ParsedArgs {
    pub fn get(&self, name: &str) -> Option<&FlagValue> {
        self.flags.get(name)
    }

    /// True when the flag appears on the command line.
    pub fn has(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!("{other:?} is not a boolean")),
    }
}

/// Kubernetes registers `WordSepNormalizeFunc`: `_` in a flag name means `-`.
fn normalise(name: &str) -> String {
    name.replace('_', "-")
}

/// Parses `argv` (argv[0] is the program and is skipped; `first` is the index
/// of the first argument to parse, so that `hyperkube scheduler` can skip its
/// subcommand) against a flag table.
///
/// Follows pflag: `--flag=value` and `--flag value`; a bare boolean means
/// true and never consumes the next argument; the last occurrence wins,
/// except for `strings` flags, where later occurrences append; `--` ends the
/// flags. A single dash before a long name (`-flag`) is read as `--flag`.
/// An unknown flag without `=` takes the next argument as its value unless
/// that argument starts with `-`.
pub fn parse(argv: &[String], first: usize, table: &[FlagSpec]) -> ParsedArgs {
    let mut parsed = ParsedArgs::default();
    let mut i = first.max(1);

    while i < argv.len() {
        let arg = &argv[i];
        let position = i;
        i += 1;

        if arg == "--" {
            parsed.positional.extend(argv[i..].iter().cloned());
            break;
        }
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            parsed.positional.push(arg.clone());
            continue;
        };
        if body.is_empty() {
            parsed.positional.push(arg.clone());
            continue;
        }

        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (normalise(n), Some(v.to_string())),
            None => (normalise(body), None),
        };
        let spec = table.iter().find(|f| f.name == name);
        let kind = spec.map(|f| f.kind);

        let value = match (inline, kind) {
            (Some(v), _) => v,
            (None, Some(FlagKind::Bool)) => "true".to_string(),
            (None, Some(_)) => match argv.get(i) {
                Some(next) => {
                    i += 1;
                    next.clone()
                }
                None => {
                    parsed
                        .problems
                        .push(format!("flag needs an argument: --{name}"));
                    continue;
                }
            },
            (None, None) => match argv.get(i) {
                Some(next) if !next.starts_with('-') => {
                    i += 1;
                    next.clone()
                }
                _ => "true".to_string(),
            },
        };

        if kind == Some(FlagKind::Bool) && parse_bool(&value).is_err() {
            parsed.problems.push(format!(
                "invalid argument {value:?} for --{name}: not a boolean"
            ));
        }
        record(&mut parsed, name, value, position, kind);
    }
    parsed
}

fn record(
    parsed: &mut ParsedArgs,
    name: String,
    value: String,
    position: usize,
    kind: Option<FlagKind>,
) {
    let entry = parsed.flags.entry(name).or_insert_with(|| FlagValue {
        value: String::new(),
        list: Vec::new(),
        positions: Vec::new(),
        known: kind.is_some(),
    });
    entry.positions.push(position);

    if kind == Some(FlagKind::List) {
        entry.list.extend(split_list(&value));
        entry.value = entry.list.join(",");
    } else if kind == Some(FlagKind::Array) {
        entry.list.push(value.clone());
        entry.value = value;
    } else {
        entry.value = value;
    }
}

/// pflag reads a `strings` value as one CSV record; an empty value is an
/// empty list.
fn split_list(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(',').map(|s| s.trim().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::flags::KUBE_SCHEDULER;

    fn args(line: &str) -> ParsedArgs {
        let argv: Vec<String> = std::iter::once("kube-scheduler")
            .chain(line.split_whitespace())
            .map(String::from)
            .collect();
        parse(&argv, 1, KUBE_SCHEDULER)
    }

    fn value(parsed: &ParsedArgs, name: &str) -> Option<String> {
        parsed.get(name).map(|f| f.value.clone())
    }

    #[test]
    fn equals_and_space_forms_give_the_same_value() {
        assert_eq!(
            value(&args("--bind-address=127.0.0.1"), "bind-address").unwrap(),
            "127.0.0.1"
        );
        assert_eq!(
            value(&args("--bind-address 127.0.0.1"), "bind-address").unwrap(),
            "127.0.0.1"
        );
    }

    #[test]
    fn bare_boolean_is_true_and_does_not_consume_the_next_argument() {
        let parsed = args("--profiling false --port=0");
        assert_eq!(value(&parsed, "profiling").unwrap(), "true");
        assert_eq!(parsed.positional, vec!["false"]);
        assert_eq!(value(&parsed, "port").unwrap(), "0");
    }

    #[test]
    fn boolean_with_equals_takes_the_value() {
        assert!(!args("--profiling=false")
            .get("profiling")
            .unwrap()
            .as_bool()
            .unwrap());
        assert!(args("--profiling=T")
            .get("profiling")
            .unwrap()
            .as_bool()
            .unwrap());
    }

    #[test]
    fn last_occurrence_wins() {
        let parsed =
            args("--profiling=false --bind-address=0.0.0.0 --profiling --bind-address=::1");
        assert_eq!(value(&parsed, "profiling").unwrap(), "true");
        assert_eq!(value(&parsed, "bind-address").unwrap(), "::1");
        assert_eq!(parsed.get("profiling").unwrap().positions, vec![1, 3]);
    }

    #[test]
    fn list_flags_append_across_occurrences() {
        let parsed = args("--authorization-always-allow-paths=/healthz --authorization-always-allow-paths /debug/*,/metrics");
        assert_eq!(
            parsed.get("authorization-always-allow-paths").unwrap().list,
            vec!["/healthz", "/debug/*", "/metrics"]
        );
    }

    #[test]
    fn empty_list_value_is_an_empty_list() {
        let parsed = args("--authorization-always-allow-paths=");
        assert!(parsed
            .get("authorization-always-allow-paths")
            .unwrap()
            .list
            .is_empty());
    }

    #[test]
    fn single_dash_long_name_is_read_as_double_dash() {
        assert_eq!(
            value(&args("-secure-port=10260"), "secure-port").unwrap(),
            "10260"
        );
        assert_eq!(value(&args("-v 4"), "v").unwrap(), "4");
    }

    #[test]
    fn underscores_are_normalised_to_dashes() {
        assert_eq!(
            value(&args("--bind_address=10.0.0.1"), "bind-address").unwrap(),
            "10.0.0.1"
        );
    }

    #[test]
    fn double_dash_ends_flags() {
        let parsed = args("--port=0 -- --profiling=false");
        assert!(!parsed.has("profiling"));
        assert_eq!(parsed.positional, vec!["--profiling=false"]);
    }

    #[test]
    fn unknown_flags_are_kept_and_marked() {
        let parsed = args("--future-flag value --other-future --secure-port=1");
        let future = parsed.get("future-flag").unwrap();
        assert_eq!(future.value, "value");
        assert!(!future.known);
        assert_eq!(value(&parsed, "other-future").unwrap(), "true");
        assert_eq!(value(&parsed, "secure-port").unwrap(), "1");
    }

    #[test]
    fn value_flag_consumes_next_argument_even_when_it_starts_with_a_dash() {
        assert_eq!(
            value(&args("--config --profiling"), "config").unwrap(),
            "--profiling"
        );
    }

    #[test]
    fn missing_value_and_invalid_boolean_are_problems_not_panics() {
        assert_eq!(args("--config").problems.len(), 1);
        assert_eq!(args("--profiling=maybe").problems.len(), 1);
    }
}
