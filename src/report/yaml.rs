//! A small YAML writer for the PolicyReport: block mappings (keys in sorted
//! order, as serde_json keeps them) and sequences, every string
//! double-quoted. Quoting every string sidesteps YAML 1.1's
//! implicit types (`no`, `on`, `0644`, `1.20` read as booleans and numbers by
//! Kubernetes' YAML parser), and the escapes used are valid in YAML 1.1 and
//! 1.2 alike.

use serde_json::Value;
use std::fmt::Write;

/// `value` as a YAML document (starting with `---`).
pub fn document(value: &Value) -> String {
    let mut out = String::from("---\n");
    match value {
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => sequence(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, level: usize) {
    for (key, value) in map {
        indent(out, level);
        out.push_str(&key_text(key));
        out.push(':');
        nested(out, value, level);
    }
}

fn sequence(out: &mut String, items: &[Value], level: usize) {
    for item in items {
        indent(out, level);
        out.push('-');
        match item {
            // A mapping inside a list item starts on the dash's line.
            Value::Object(map) if !map.is_empty() => {
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, level + 1);
                    }
                    out.push_str(&key_text(key));
                    out.push(':');
                    nested(out, value, level + 1);
                }
            }
            other => nested(out, other, level),
        }
    }
}

/// The value after `key:` or `-`: inline for scalars and empty collections,
/// on the following lines otherwise.
fn nested(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(out, map, level + 1);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(out, items, level + 1);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Keys made only of letters, digits, `-` and `_`, starting with a letter,
/// are written plain (`apiVersion`); any other key is quoted.
fn key_text(key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        key.to_string()
    } else {
        quoted(key)
    }
}

/// A double-quoted scalar. Besides `"` and `\`, every character that is not
/// printable in YAML, or that YAML 1.1 treats as a line break (NEL, LS, PS),
/// is escaped.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c < ' '
                || ('\u{7F}'..='\u{9F}').contains(&c)
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
                ) =>
            {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_mappings_and_sequences_are_indented_in_blocks() {
        let text = document(&json!({
            "kind": "ClusterPolicyReport",
            "summary": {"pass": 1},
            "results": [{"policy": "SG-101", "properties": {"a.b": "x"}}, "plain"],
            "empty": [],
        }));
        assert_eq!(
            text,
            "---\nempty: []\nkind: \"ClusterPolicyReport\"\nresults:\n  - policy: \"SG-101\"\n    properties:\n      \"a.b\": \"x\"\n  - \"plain\"\nsummary:\n  pass: 1\n"
        );
    }

    #[test]
    fn strings_that_yaml_1_1_would_retype_stay_strings() {
        assert_eq!(quoted("no"), "\"no\"");
        assert_eq!(quoted("0644"), "\"0644\"");
        assert_eq!(key_text("on"), "\"on\"");
    }

    #[test]
    fn line_breaks_and_controls_are_escaped() {
        assert_eq!(
            quoted("a\"b\\c\nd\u{85}e\u{1}"),
            "\"a\\\"b\\\\c\\nd\\u0085e\\u0001\""
        );
    }
}
