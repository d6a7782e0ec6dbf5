//! A small blocking HTTP/1.1 client for the collector tests: HTTPS trusting
//! the test CA (or plain HTTP), one connection per request, any method,
//! headers and body, so that tests can send what no well-behaved client
//! would (no token, a wrong encoding, a gzip bomb).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// An answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }
}

/// The test CA, trusted alone; with `identity`, the test client
/// certificate is presented too.
pub fn test_ca(identity: bool) -> Arc<rustls::ClientConfig> {
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(support.join("test-ca.crt")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = if identity {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(support.join("test-client.crt"))
                .unwrap()
                .map(|c| c.unwrap())
                .collect();
        let key = PrivateKeyDer::from_pem_file(support.join("test-client.key")).unwrap();
        builder.with_client_auth_cert(chain, key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(config)
}

#[derive(Clone)]
pub struct Client {
    pub port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Client {
    pub fn https(port: u16) -> Client {
        Client {
            port,
            tls: Some(test_ca(false)),
        }
    }

    /// HTTPS presenting the test client certificate (CN=test-node).
    pub fn https_with_certificate(port: u16) -> Client {
        Client {
            port,
            tls: Some(test_ca(true)),
        }
    }

    pub fn plain(port: u16) -> Client {
        Client { port, tls: None }
    }

    /// One request on a fresh connection.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let raw = match &self.tls {
            Some(config) => {
                let name = ServerName::try_from("localhost").unwrap();
                let conn = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(std::io::Error::other)?;
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                exchange(&mut stream, head.as_bytes(), body)?
            }
            None => {
                let mut stream = tcp;
                exchange(&mut stream, head.as_bytes(), body)?
            }
        };
        parse(&raw)
    }

    /// GET with a bearer token (or none); panics when the collector cannot
    /// be reached.
    pub fn get(&self, path: &str, token: Option<&str>) -> Response {
        let auth = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        self.request("GET", path, &headers, b"")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// POSTs a gzipped envelope as the agent does.
    pub fn post_report(&self, token: &str, gzipped: &[u8]) -> Response {
        let auth = format!("Bearer {token}");
        self.request(
            "POST",
            "/v1/reports",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            gzipped,
        )
        .unwrap_or_else(|e| panic!("POST /v1/reports: {e}"))
    }
}

fn exchange<S: Read + Write>(stream: &mut S, head: &[u8], body: &[u8]) -> std::io::Result<Vec<u8>> {
    stream.write_all(head)?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => Ok(raw),
        // A peer that closes without close_notify: what arrived is the answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => Ok(raw),
        Err(e) => Err(e),
    }
}

fn parse(raw: &[u8]) -> std::io::Result<Response> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "no HTTP answer: {:?}",
                String::from_utf8_lossy(raw)
            ))
        })?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..i])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = i + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}
