//! HTML for the dashboard: escaping (every report field is untrusted input
//! written by whoever holds a node's token), links, times, the page frame
//! and the headers that keep a browser from running anything: no script is
//! served, and the Content-Security-Policy forbids any.

use crate::checks::{Severity, Status};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

/// The stylesheet, served at /dashboard.css.
pub const CSS: &str = include_str!("dashboard.css");

const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Text made safe for an element's content or a quoted attribute value.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A URL path segment or query value, percent-encoded (then still escaped
/// where it goes into HTML).
pub fn url_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A link to an external reference, only when it is plainly https;
/// anything else (javascript:, data:...) is shown as text.
pub fn reference(text: &str) -> String {
    if text.starts_with("https://") && !text.contains(char::is_whitespace) {
        format!(
            "<a href=\"{0}\" rel=\"noreferrer noopener\">{0}</a>",
            esc(text)
        )
    } else {
        esc(text)
    }
}

/// The status's one-character mark in the matrix (the colour is not the
/// only sign).
pub fn mark(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Pass) => "✓",
        Some(Status::Fail) => "✗",
        Some(Status::Warn) => "!",
        Some(Status::Error) => "?",
        Some(Status::Skip) => "–",
        None => "·",
    }
}

pub fn status_badge(status: Status) -> String {
    format!("<span class=\"badge {0}\">{0}</span>", status.as_str())
}

pub fn severity_badge(severity: Severity) -> String {
    format!(
        "<span class=\"badge sev {0}\">{0}</span>",
        severity.as_str()
    )
}

/// `2026-12-03 21:20:31 UTC`.
pub fn time(ms: i64) -> String {
    let text = crate::time::rfc3339_millis(ms);
    format!("{} {} UTC", &text[..10], &text[11..19])
}

/// `4 min ago`, `2 h ago`, `3 d ago`.
pub fn ago(ms: i64, now: i64) -> String {
    let seconds = ((now - ms) / 1000).max(0);
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=172_799 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// Which page the navigation marks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Fleet,
    Findings,
    Changes,
    None,
}

/// A whole page: frame, navigation and the protective headers.
pub fn page(
    status: StatusCode,
    title: &str,
    section: Section,
    reader: &str,
    body: &str,
) -> Response {
    let link = |href: &str, label: &str, s: Section| {
        let here = if s == section { " class=\"here\"" } else { "" };
        format!("<a href=\"{href}\"{here}>{label}</a>")
    };
    let who = if reader.is_empty() {
        String::new()
    } else {
        format!("<span class=\"who\">read token: {}</span>", esc(reader))
    };
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{} · schedguard</title><link rel=\"stylesheet\" href=\"/dashboard.css\"></head>\
         <body><header class=\"top\"><a class=\"brand\" href=\"/\">schedguard</a><nav>{}{}{}</nav>{who}</header>\
         <main>{body}</main></body></html>\n",
        esc(title),
        link("/", "Fleet", Section::Fleet),
        link("/findings", "Findings", Section::Findings),
        link("/changes", "Changes", Section::Changes),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_report_text_is_inert() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(reference("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(
            reference("https://kubernetes.io/docs/\"><b>"),
            "<a href=\"https://kubernetes.io/docs/&quot;&gt;&lt;b&gt;\" rel=\"noreferrer noopener\">https://kubernetes.io/docs/&quot;&gt;&lt;b&gt;</a>"
        );
        assert_eq!(url_part("SG-501 x/y"), "SG-501%20x%2Fy");
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(time(1_796_332_831_042), "2026-12-03 21:20:31 UTC");
        assert_eq!(ago(0, 90_000), "1 min ago");
        assert_eq!(ago(0, 7_200_000), "2 h ago");
    }
}
