//! A stand-in for the fleet endpoint: HTTPS (the test certificate) on
//! loopback, recording every report it receives, answering as told: store,
//! refuse the credentials (401), or be unavailable (503). Stopping it closes
//! the port, so the agent sees connections refused.

use crate::support::server::server_config;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Store,
    Unauthorized,
    Unavailable,
}

/// One POST received.
#[derive(Clone, Debug)]
pub struct Received {
    pub report_id: String,
    pub created_at: String,
    pub authorization: String,
    /// Already stored by an earlier delivery.
    pub duplicate: bool,
}

#[derive(Default)]
struct Inner {
    answer: Option<Answer>,
    received: Vec<Received>,
}

pub struct StubCollector {
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<AtomicBool>,
}

impl StubCollector {
    /// Starts on 127.0.0.1:`port` (0 for any free port).
    pub fn start(port: u16, answer: Answer) -> StubCollector {
        Self::start_with(port, answer, Arc::new(Mutex::new(Inner::default())))
    }

    fn start_with(port: u16, answer: Answer, inner: Arc<Mutex<Inner>>) -> StubCollector {
        inner.lock().unwrap().answer = Some(answer);
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the stub collector");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, state) = (stop.clone(), inner.clone());
        std::thread::spawn(move || {
            let config = server_config();
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (config, state) = (config.clone(), state.clone());
                        std::thread::spawn(move || {
                            let _ = handle(stream, config, state);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        StubCollector { port, inner, stop }
    }

    /// Closes the port; returns a handle to start again on the same port
    /// with the same records.
    pub fn stop(self) -> Stopped {
        self.stop.store(true, Ordering::SeqCst);
        // Let the accept loop notice and drop the listener.
        std::thread::sleep(Duration::from_millis(50));
        Stopped {
            port: self.port,
            inner: self.inner.clone(),
        }
    }

    pub fn answer(&self, answer: Answer) {
        self.inner.lock().unwrap().answer = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// The reports stored, in the order they were first received.
    pub fn stored(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| !r.duplicate)
            .collect()
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/v1/reports", self.port)
    }
}

impl Drop for StubCollector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

pub struct Stopped {
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
}

impl Stopped {
    pub fn restart(self, answer: Answer) -> StubCollector {
        StubCollector::start_with(self.port, answer, self.inner)
    }
}

fn handle(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    state: Arc<Mutex<Inner>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut stream = stream;
    let mut connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::Stream::new(&mut connection, &mut stream);

    let mut request = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..header_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| {
                l.split_once(':')
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = request[header_end..].to_vec();
    while body.len() < length {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if header("content-encoding") == "gzip" {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain)?;
        body = plain;
    }

    let answer = state.lock().unwrap().answer.unwrap_or(Answer::Store);
    let (status, text) = match answer {
        Answer::Unauthorized => ("401 Unauthorized", "invalid bearer token"),
        Answer::Unavailable => ("503 Service Unavailable", "down for maintenance"),
        Answer::Store => {
            let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let report_id = envelope["report_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let mut inner = state.lock().unwrap();
            let duplicate = inner.received.iter().any(|r| r.report_id == report_id);
            inner.received.push(Received {
                report_id,
                created_at: envelope["created_at"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                authorization: header("authorization"),
                duplicate,
            });
            if duplicate {
                ("200 OK", "already stored")
            } else {
                ("201 Created", "stored")
            }
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    tls.write_all(response.as_bytes())?;
    tls.flush()
}
