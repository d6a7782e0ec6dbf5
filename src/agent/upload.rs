//! Delivering reports upstream: the envelope (report plus host identity and
//! a unique report id), gzip, the HTTPS POST with a bearer token, and what
//! each answer means for the spooled report.

use crate::agent::config::{read_token, Upstream};
use crate::facts::Host;
use serde::Serialize;
use std::io::Write;
use std::time::Duration;

pub const ENVELOPE_SCHEMA: &str = "schedguard.upload/v1";

/// Who sent a report.
#[derive(Clone, Debug, Serialize)]
pub struct Sender<'a> {
    pub node: &'a str,
    pub hostname: Option<&'a str>,
    pub machine_id: Option<&'a str>,
    pub boot_id: Option<&'a str>,
    pub agent_version: &'static str,
}

/// The body of an upload.
#[derive(Serialize)]
struct Envelope<'a, R: Serialize> {
    schema: &'static str,
    report_id: &'a str,
    /// When the report was made, RFC 3339 with milliseconds.
    created_at: String,
    sender: Sender<'a>,
    report: &'a R,
}

/// A random UUID (version 4) from the kernel's random source.
pub fn new_report_id() -> String {
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        match rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => panic!("the kernel's random source failed: {e}"),
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The node name: configured, else the hostname.
pub fn node_name<'a>(configured: Option<&'a str>, host: &'a Host) -> &'a str {
    configured.or(host.hostname.as_deref()).unwrap_or("unknown")
}

/// Serialises and gzips an envelope.
pub fn pack<R: Serialize>(
    report_id: &str,
    sender: Sender<'_>,
    report: &R,
) -> std::io::Result<Vec<u8>> {
    let created_at = crate::time::now_rfc3339_millis();
    let envelope = Envelope {
        schema: ENVELOPE_SCHEMA,
        report_id,
        created_at,
        sender,
        report,
    };
    let json = serde_json::to_vec(&envelope)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&json)?;
    encoder.finish()
}

/// What an upload attempt means for the report.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored upstream (or already stored: a redelivery): remove it.
    Delivered,
    /// Try again later (network error, timeout, 5xx, 408, 429).
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// The collector refused who we are (401, 403): keep the report, and
    /// keep trying slowly until the token is fixed.
    Unauthorized { reason: String },
    /// The collector refused this report for good (400, 413, 422...): drop it.
    Rejected { reason: String },
}

pub struct Uploader {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Uploader {
    /// Builds the HTTPS client: TLS always verified, against `ca_file` alone
    /// when given, else the system roots; optional client certificate.
    pub fn new(upstream: &Upstream) -> Result<Uploader, String> {
        let token = read_token(&upstream.token_file)?;
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("schedguard-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &upstream.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("ca_file {} holds no certificate", path.display()));
            }
            builder = builder.tls_certs_only(certs);
        }
        if let Some((cert, key)) = &upstream.client_identity {
            let mut pem = std::fs::read(cert)
                .map_err(|e| format!("cannot read client_cert {}: {e}", cert.display()))?;
            pem.push(b'\n');
            pem.extend(
                std::fs::read(key)
                    .map_err(|e| format!("cannot read client_key {}: {e}", key.display()))?,
            );
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| format!("client certificate: {e}"))?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
        Ok(Uploader {
            client,
            url: upstream.url.clone(),
            token,
        })
    }

    /// POSTs one spooled (gzipped) envelope.
    pub async fn send(&self, report_id: &str, body: Vec<u8>) -> Outcome {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .header("X-Schedguard-Report-Id", report_id)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    reason: describe(&e),
                    after: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        let detail = format!(
            "{} {}",
            status.as_u16(),
            text.trim().chars().take(200).collect::<String>()
        );
        match status.as_u16() {
            200..=299 | 409 => Outcome::Delivered,
            401 | 403 => Outcome::Unauthorized { reason: detail },
            408 | 429 | 500..=599 => Outcome::Retry {
                reason: detail,
                after: retry_after,
            },
            _ => Outcome::Rejected { reason: detail },
        }
    }
}

/// An error chain in one line.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn report_ids_are_version_4_uuids_and_differ() {
        let a = new_report_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, new_report_id());
    }

    #[test]
    fn envelopes_are_gzipped_json_with_the_id() {
        let host = Host::default();
        let sender = Sender {
            node: "cp-1",
            hostname: None,
            machine_id: None,
            boot_id: None,
            agent_version: "0",
        };
        let body = pack(
            "id-1",
            sender,
            &serde_json::json!({"schema": "schedguard.report/v1"}),
        )
        .unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut json)
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["report_id"], "id-1");
        assert_eq!(value["sender"]["node"], "cp-1");
        assert_eq!(value["report"]["schema"], "schedguard.report/v1");
        assert_eq!(node_name(None, &host), "unknown");
    }
}
