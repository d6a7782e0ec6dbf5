//! Anonymous probes of a target's listeners: HTTP(S) GETs of the scheduler's
//! endpoints, legacy-TLS offers, and connection attempts to the secure port
//! on the host's other addresses. Made from inside the target's network
//! namespace, all in parallel, each bounded by a per-probe timeout and all
//! by an overall deadline. Never sends credentials; GET only.

use crate::facts::{HttpProbe, Listener, Observed, Reach, TlsOffer, TlsScan, TlsSession};
use crate::host::sockets::{is_wildcard, socket_addr};
use crate::host::tlsscan::{self, HelloAnswer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The paths asked of every listener, first to last. The first one tells
/// whether the listener answers at all.
pub const PATHS: &[&str] = &[
    "/healthz",
    "/readyz",
    "/livez",
    "/metrics",
    "/configz",
    "/flagz",
    "/statusz",
    "/debug/pprof/",
    "/debug/flags/v",
];

/// At most this much of an answer is kept.
const BODY_PREFIX: usize = 200;
/// At most this much of an answer is read.
const READ_LIMIT: usize = 16 << 10;

/// Time limits of the probes.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Each connection, handshake and answer.
    pub per_probe: Duration,
    /// When every probe of the run must be over.
    pub deadline: Instant,
}

impl Limits {
    /// The time the next step may take, or an error once the deadline passed.
    fn budget(&self) -> Result<Duration, String> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("not probed: the overall time bound was reached".into());
        }
        Ok(left.min(self.per_probe))
    }
}

/// Everything probed for one target.
#[derive(Debug, Default)]
pub struct Probed {
    pub addresses: Vec<String>,
    pub probes: Vec<HttpProbe>,
    pub reach: Vec<Reach>,
    pub tls_scans: Vec<TlsScan>,
    /// Per listener (same order as given): whether it spoke TLS.
    pub tls: Vec<Option<bool>>,
    pub errors: Vec<String>,
}

/// Probes a target's listeners. `netns` is the target's `/proc/PID/ns/net`
/// when it differs from ours: the probes then run in a thread that has
/// joined that namespace (and threads it starts inherit it).
pub fn probe(
    netns: Option<PathBuf>,
    listeners: Vec<Listener>,
    secure_ports: Vec<u16>,
    limits: Limits,
) -> Probed {
    let worker = thread::spawn(move || {
        if let Some(path) = &netns {
            if let Err(e) = enter(path) {
                return Probed {
                    errors: vec![e],
                    ..Probed::default()
                };
            }
        }
        probe_here(&listeners, &secure_ports, limits)
    });
    worker.join().unwrap_or_else(|_| Probed {
        errors: vec!["the probe thread panicked".into()],
        ..Probed::default()
    })
}

/// Moves the calling thread into a network namespace.
fn enter(path: &Path) -> Result<(), String> {
    use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&file),
        Some(LinkNameSpaceType::Network),
    )
    .map_err(|e| {
        format!(
            "cannot enter the network namespace {}: {e} (needs CAP_SYS_ADMIN)",
            path.display()
        )
    })
}

/// The addresses of the current thread's network namespace, link-local
/// IPv6 left out (they need a scope to be reached).
fn addresses() -> Result<Vec<IpAddr>, String> {
    let interfaces =
        nix::ifaddrs::getifaddrs().map_err(|e| format!("cannot list addresses: {e}"))?;
    let mut found: Vec<IpAddr> = interfaces
        .filter_map(|i| {
            let address = i.address?;
            if let Some(v4) = address.as_sockaddr_in() {
                return Some(IpAddr::V4(v4.ip()));
            }
            let v6 = address.as_sockaddr_in6()?.ip();
            (v6.segments()[0] & 0xffc0 != 0xfe80).then_some(IpAddr::V6(v6))
        })
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// Where a listener can be reached: its own address, or every address of
/// its family for a wildcard (IPv4 too for a dual-stack `::`).
fn endpoints(listener: &Listener, addresses: &[IpAddr]) -> Vec<SocketAddr> {
    let Some(bound) = socket_addr(listener) else {
        return Vec::new();
    };
    if !is_wildcard(&listener.address) {
        return vec![bound];
    }
    let dual_stack = bound.is_ipv6() && listener.v6only != Some(true);
    let mut found: Vec<SocketAddr> = addresses
        .iter()
        .filter(|ip| ip.is_ipv6() == bound.is_ipv6() || (dual_stack && ip.is_ipv4()))
        .map(|ip| SocketAddr::new(*ip, listener.port))
        .collect();
    if found.is_empty() {
        let loopback: IpAddr = if bound.is_ipv6() {
            "::1".parse().unwrap()
        } else {
            "127.0.0.1".parse().unwrap()
        };
        found.push(SocketAddr::new(loopback, listener.port));
    }
    found
}

fn probe_here(listeners: &[Listener], secure_ports: &[u16], limits: Limits) -> Probed {
    let mut probed = Probed::default();
    let addresses = match addresses() {
        Ok(a) => a,
        Err(e) => {
            probed.errors.push(e);
            Vec::new()
        }
    };
    probed.addresses = addresses.iter().map(IpAddr::to_string).collect();
    let config = tls_config();

    // One thread per endpoint of every listener, one per reach attempt.
    let mut endpoint_jobs = Vec::new();
    for (index, listener) in listeners.iter().enumerate() {
        for (n, endpoint) in endpoints(listener, &addresses).into_iter().enumerate() {
            let config = config.clone();
            // The TLS scan runs once per listener, on its first endpoint.
            let scan = n == 0;
            endpoint_jobs.push((
                index,
                thread::spawn(move || probe_endpoint(endpoint, &config, scan, limits)),
            ));
        }
    }
    let mut reach_jobs = Vec::new();
    for port in secure_ports {
        for ip in addresses.iter().filter(|ip| !ip.is_loopback()) {
            let target = SocketAddr::new(*ip, *port);
            reach_jobs.push(thread::spawn(move || reach(target, limits)));
        }
    }

    probed.tls = vec![None; listeners.len()];
    for (index, job) in endpoint_jobs {
        let Ok(result) = job.join() else {
            probed.errors.push("a probe thread panicked".into());
            continue;
        };
        if result.tls.is_some() && probed.tls[index].is_none() {
            probed.tls[index] = result.tls;
        }
        probed.probes.extend(result.probes);
        probed.tls_scans.extend(result.scan);
    }
    for job in reach_jobs {
        match job.join() {
            Ok(r) => probed.reach.push(r),
            Err(_) => probed.errors.push("a probe thread panicked".into()),
        }
    }
    probed
}

/// What one endpoint answered.
struct EndpointResult {
    tls: Option<bool>,
    probes: Vec<HttpProbe>,
    scan: Option<TlsScan>,
}

fn url(scheme: &str, endpoint: SocketAddr, path: &str) -> String {
    format!("{scheme}://{endpoint}{path}")
}

/// Asks every path of one endpoint. The first answer decides TLS or plain
/// HTTP; a first probe that gets no answer ends the endpoint's probes, so a
/// listener that accepts and never answers costs one timeout.
fn probe_endpoint(
    endpoint: SocketAddr,
    config: &Arc<ClientConfig>,
    scan: bool,
    limits: Limits,
) -> EndpointResult {
    // Plain HTTP first: a plain listener (the legacy insecure port) answers
    // it; Go's TLS server answers "400 ... HTTP request to an HTTPS server";
    // other TLS servers alert or close. A listener that never answers costs
    // this one timeout.
    let first = PATHS[0];
    let (tls, answer) = match get(endpoint, first, None, limits) {
        Ok(answer) if !asks_for_tls(&answer) => (false, Ok(answer)),
        Ok(_) | Err(Failure::NotHttp) | Err(Failure::Closed) => {
            (true, get(endpoint, first, Some(config), limits))
        }
        Err(failure) => (true, Err(failure)),
    };
    let scheme = if tls { "https" } else { "http" };

    let mut probes = Vec::new();
    match answer {
        Err(failure) => {
            let reason = failure.to_string();
            probes.push(HttpProbe {
                url: url(scheme, endpoint, first),
                status: Observed::Error(reason.clone()),
                body_prefix: None,
                tls: None,
            });
            for path in &PATHS[1..] {
                probes.push(HttpProbe {
                    url: url(scheme, endpoint, path),
                    status: Observed::Error(format!(
                        "not probed: {first} got no answer ({reason})"
                    )),
                    body_prefix: None,
                    tls: None,
                });
            }
            return EndpointResult {
                tls: None,
                probes,
                scan: None,
            };
        }
        Ok(answer) => probes.push(answer.into_probe(url(scheme, endpoint, first))),
    }
    let tls_config = tls.then_some(config);
    for path in &PATHS[1..] {
        let probe = match get(endpoint, path, tls_config, limits) {
            Ok(answer) => answer.into_probe(url(scheme, endpoint, path)),
            Err(failure) => HttpProbe {
                url: url(scheme, endpoint, path),
                status: Observed::Error(failure.to_string()),
                body_prefix: None,
                tls: None,
            },
        };
        probes.push(probe);
    }

    let scan = (scan && tls).then(|| tls_scan(endpoint, limits));
    EndpointResult {
        tls: Some(tls),
        probes,
        scan,
    }
}

/// Why a probe got no HTTP answer.
#[derive(Debug)]
enum Failure {
    /// The peer answered a plain request with something that is not HTTP
    /// (a TLS alert, say).
    NotHttp,
    /// The peer closed the connection without answering.
    Closed,
    /// The peer does not speak TLS (it answered the ClientHello with
    /// something else).
    NotTls,
    Io(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NotHttp => f.write_str("the answer is not HTTP"),
            Failure::Closed => f.write_str("the connection was closed without an answer"),
            Failure::NotTls => f.write_str("the listener does not speak TLS"),
            Failure::Io(reason) => f.write_str(reason),
        }
    }
}

/// Go's HTTPS server answers a plain request with this 400.
fn asks_for_tls(answer: &Answer) -> bool {
    answer.status == 400 && answer.body_prefix.contains("HTTPS server")
}

fn io_failure(what: &str, e: &std::io::Error, limit: Duration) -> Failure {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Failure::Io(format!(
            "{what}: no answer within {:.1}s",
            limit.as_secs_f64()
        )),
        _ => Failure::Io(format!("{what}: {e}")),
    }
}

/// An HTTP answer.
struct Answer {
    status: u16,
    body_prefix: String,
    tls: Option<TlsSession>,
}

impl Answer {
    fn into_probe(self, url: String) -> HttpProbe {
        HttpProbe {
            url,
            status: Observed::Ok(self.status),
            body_prefix: (!self.body_prefix.is_empty()).then_some(self.body_prefix),
            tls: self.tls,
        }
    }
}

fn connect(endpoint: SocketAddr, limits: Limits) -> Result<(TcpStream, Duration), Failure> {
    let budget = limits.budget().map_err(Failure::Io)?;
    let stream = TcpStream::connect_timeout(&endpoint, budget)
        .map_err(|e| io_failure("connect", &e, budget))?;
    let budget = limits.budget().map_err(Failure::Io)?;
    stream.set_read_timeout(Some(budget)).ok();
    stream.set_write_timeout(Some(budget)).ok();
    Ok((stream, budget))
}

/// One anonymous GET, over TLS when a config is given.
fn get(
    endpoint: SocketAddr,
    path: &str,
    tls: Option<&Arc<ClientConfig>>,
    limits: Limits,
) -> Result<Answer, Failure> {
    let (mut stream, budget) = connect(endpoint, limits)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {endpoint}\r\nUser-Agent: schedguard/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );

    let Some(config) = tls else {
        stream
            .write_all(request.as_bytes())
            .map_err(|e| io_failure("send", &e, budget))?;
        let bytes = read_answer(&mut stream, budget)?;
        return parse(&bytes, None);
    };

    let name = ServerName::IpAddress(endpoint.ip().into());
    let mut connection = ClientConnection::new(config.clone(), name)
        .map_err(|e| Failure::Io(format!("TLS: {e}")))?;
    while connection.is_handshaking() {
        match connection.complete_io(&mut stream) {
            Ok(_) => {}
            Err(e) => {
                let not_tls = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .is_some_and(|r| matches!(r, rustls::Error::InvalidMessage(_)));
                if not_tls {
                    return Err(Failure::NotTls);
                }
                return Err(io_failure("TLS handshake", &e, budget));
            }
        }
    }
    let session = session(&connection);
    let mut tls_stream = rustls::Stream::new(&mut connection, &mut stream);
    tls_stream
        .write_all(request.as_bytes())
        .map_err(|e| io_failure("send", &e, budget))?;
    let bytes = read_answer(&mut tls_stream, budget)?;
    parse(&bytes, Some(session))
}

/// Reads until the end of the stream, enough of the body, or the limit.
fn read_answer(stream: &mut impl Read, budget: Duration) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                let body_start = find(&bytes, b"\r\n\r\n").map(|i| i + 4);
                if bytes.len() >= READ_LIMIT
                    || body_start.is_some_and(|s| bytes.len() >= s + BODY_PREFIX)
                {
                    break;
                }
            }
            // A peer that closes without close_notify still gave its answer.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof && !bytes.is_empty() => break,
            Err(e)
                if bytes.is_empty()
                    && matches!(
                        e.kind(),
                        ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                    ) =>
            {
                return Err(Failure::Closed)
            }
            Err(e)
                if !bytes.is_empty()
                    && matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                break
            }
            Err(e) => return Err(io_failure("answer", &e, budget)),
        }
    }
    if bytes.is_empty() {
        return Err(Failure::Closed);
    }
    Ok(bytes)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads the status code and the start of the body of an HTTP/1.x answer.
fn parse(bytes: &[u8], tls: Option<TlsSession>) -> Result<Answer, Failure> {
    let line_end = find(bytes, b"\r\n").unwrap_or(bytes.len());
    let line = String::from_utf8_lossy(&bytes[..line_end]);
    let mut words = line.split_whitespace();
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code.parse().ok(),
        _ => None,
    };
    let Some(status) = status else {
        return Err(Failure::NotHttp);
    };
    let body = find(bytes, b"\r\n\r\n").map_or(&bytes[bytes.len()..], |i| &bytes[i + 4..]);
    let body_prefix = body
        .iter()
        .take(BODY_PREFIX)
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '.'
            }
        })
        .collect::<String>()
        .trim_end_matches('.')
        .to_string();
    Ok(Answer {
        status,
        body_prefix,
        tls,
    })
}

fn session(connection: &ClientConnection) -> TlsSession {
    let names = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| tlsscan::certificate_names(cert.as_ref()));
    TlsSession {
        version: connection
            .protocol_version()
            .map_or("unknown".into(), |v| format!("{v:?}")),
        cipher_suite: connection
            .negotiated_cipher_suite()
            .map_or("unknown".into(), |s| format!("{:?}", s.suite())),
        subject: names.as_ref().map(|(s, _)| s.clone()),
        issuer: names.map(|(_, i)| i),
    }
}

/// A TCP connection attempt: accepted, refused, or another failure.
fn reach(target: SocketAddr, limits: Limits) -> Reach {
    let accepted = match limits.budget() {
        Err(e) => Observed::Error(e),
        Ok(budget) => match TcpStream::connect_timeout(&target, budget) {
            Ok(_) => Observed::Ok(true),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Observed::Ok(false),
            Err(e) => Observed::Error(io_failure("connect", &e, budget).to_string()),
        },
    };
    Reach {
        address: target.ip().to_string(),
        port: target.port(),
        accepted,
    }
}

fn version_name(version: u16) -> String {
    match version {
        tlsscan::TLS10 => "TLS1.0".into(),
        tlsscan::TLS11 => "TLS1.1".into(),
        tlsscan::TLS12 => "TLS1.2".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Offers TLS 1.0 and 1.1, then each of Go's insecure suites alone at TLS
/// 1.2, and records what the server accepted. Offers run one after another
/// on fresh connections.
fn tls_scan(endpoint: SocketAddr, limits: Limits) -> TlsScan {
    let mut offers = Vec::new();
    for version in [tlsscan::TLS10, tlsscan::TLS11] {
        offers.push(offer(
            endpoint,
            version,
            tlsscan::LEGACY_VERSION_SUITES,
            None,
            limits,
        ));
    }
    for suite in tlsscan::INSECURE_SUITES {
        let name = tlsscan::suite_name(*suite).map(String::from);
        offers.push(offer(endpoint, tlsscan::TLS12, &[*suite], name, limits));
    }
    TlsScan {
        endpoint: endpoint.to_string(),
        offers,
    }
}

fn offer(
    endpoint: SocketAddr,
    version: u16,
    suites: &[u16],
    suite: Option<String>,
    limits: Limits,
) -> TlsOffer {
    let attempt = connect(endpoint, limits).and_then(|(mut stream, budget)| {
        tlsscan::offer(&mut stream, version, suites, None)
            .map_err(|e| io_failure("ClientHello", &e, budget))
    });
    let (accepted, answer) = match attempt {
        Err(failure) => (Observed::Error(failure.to_string()), failure.to_string()),
        Ok(HelloAnswer::Accepted {
            version: chosen,
            suite: chosen_suite,
        }) => {
            let name = tlsscan::suite_name(chosen_suite)
                .map_or(format!("0x{chosen_suite:04x}"), String::from);
            // A server may answer an offer with a lower version than offered:
            // only exactly what was offered counts as accepted.
            let exact = chosen == version && suites.contains(&chosen_suite);
            (
                Observed::Ok(exact),
                format!("ServerHello {} {name}", version_name(chosen)),
            )
        }
        Ok(HelloAnswer::Alert { description, .. }) => {
            (Observed::Ok(false), format!("alert {description}"))
        }
        Ok(HelloAnswer::NotTls) => (
            Observed::Error("the answer is not TLS".into()),
            "not TLS".into(),
        ),
        Ok(HelloAnswer::Closed) => (Observed::Ok(false), "connection closed".into()),
    };
    TlsOffer {
        version: version_name(version),
        suite,
        accepted,
        answer,
    }
}

/// Accepts any server certificate: probes judge what the scheduler serves,
/// and its certificate is usually self-signed. Handshake signatures are
/// still checked, so the session is a real one.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(address: &str, v6only: Option<bool>) -> Listener {
        Listener {
            address: address.into(),
            port: 10259,
            family: if address.contains(':') { "tcp6" } else { "tcp" }.into(),
            inode: 1,
            fd: Some(3),
            v6only,
            reuse_addr: None,
            reuse_port: None,
            sockopt_error: None,
            tls: None,
            shared_with: Vec::new(),
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn wildcard_binds_expand_to_every_address_of_their_family() {
        let all = ips(&["127.0.0.1", "192.0.2.10", "::1", "2001:db8::1"]);
        let v4 = endpoints(&listener("0.0.0.0", None), &all);
        assert_eq!(v4.len(), 2);
        let dual = endpoints(&listener("::", Some(false)), &all);
        assert_eq!(dual.len(), 4);
        let v6 = endpoints(&listener("::", Some(true)), &all);
        assert_eq!(v6.len(), 2);
        let specific = endpoints(&listener("127.0.0.1", None), &all);
        assert_eq!(specific, vec!["127.0.0.1:10259".parse().unwrap()]);
    }

    #[test]
    fn http_answers_are_parsed_and_trimmed() {
        let answer = parse(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nforbidden: User \"system:anonymous\"\n", None).unwrap();
        assert_eq!(answer.status, 403);
        assert_eq!(answer.body_prefix, "forbidden: User \"system:anonymous\"");
        assert!(parse(b"SSH-2.0-OpenSSH\r\n", None).is_err());
        assert!(parse(b"", None).is_err());
    }

    #[test]
    fn a_silent_listener_costs_one_timeout() {
        // Listening but never accepting: the kernel completes the TCP
        // handshake, nothing ever answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = silent.local_addr().unwrap();
        let limits = Limits {
            per_probe: Duration::from_secs(1),
            deadline: Instant::now() + Duration::from_secs(60),
        };
        let started = Instant::now();
        let result = probe_endpoint(endpoint, &tls_config(), true, limits);
        let took = started.elapsed();
        assert_eq!(result.probes.len(), PATHS.len());
        assert!(result.probes.iter().all(|p| p.status.ok().is_none()));
        // A generous bound: one timeout costs 1 s, one per path would be 9 s.
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
}
