//! Test servers that stand in for the scheduler's endpoints: listening
//! sockets made with chosen options (SO_REUSEPORT, IPV6_V6ONLY, in a network
//! namespace the test created) and handed to a stand-in process, while a
//! thread of the test answers on them over HTTPS, plain HTTP, or not at all.

use rustix::fd::{AsFd, AsRawFd, OwnedFd};
use rustix::net::{sockopt, AddressFamily, SocketFlags, SocketType};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How a listening socket is made.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub address: SocketAddr,
    pub reuse_port: bool,
    /// IPV6_V6ONLY for IPv6 sockets; `None` leaves the system default.
    pub v6only: Option<bool>,
}

impl Spec {
    pub fn new(address: &str) -> Spec {
        Spec {
            address: address.parse().expect("a socket address"),
            reuse_port: false,
            v6only: None,
        }
    }

    pub fn reuse_port(mut self) -> Spec {
        self.reuse_port = true;
        self
    }

    pub fn v6only(mut self, on: bool) -> Spec {
        self.v6only = Some(on);
        self
    }
}

/// Makes a listening socket in the calling thread's network namespace,
/// with SO_REUSEADDR on as Go (and so kube-scheduler) sets it.
pub fn listen(spec: Spec) -> TcpListener {
    let family = if spec.address.is_ipv6() {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let socket: OwnedFd =
        rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None).unwrap();
    sockopt::set_socket_reuseaddr(&socket, true).unwrap();
    if spec.reuse_port {
        sockopt::set_socket_reuseport(&socket, true).unwrap();
    }
    if let (true, Some(on)) = (spec.address.is_ipv6(), spec.v6only) {
        sockopt::set_ipv6_v6only(&socket, on).unwrap();
    }
    rustix::net::bind(&socket, &spec.address)
        .unwrap_or_else(|e| panic!("bind {}: {e}", spec.address));
    rustix::net::listen(&socket, 128).unwrap();
    TcpListener::from(socket)
}

/// Lets `command`'s process inherit these sockets (under their own numbers):
/// they are created close-on-exec, and only the child's copies are cleared.
pub fn inherit(command: &mut Command, sockets: &[&TcpListener]) {
    let fds: Vec<i32> = sockets.iter().map(|s| s.as_raw_fd()).collect();
    // SAFETY: the closure runs between fork and exec and calls only fcntl,
    // which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            for fd in &fds {
                let fd = rustix::fd::BorrowedFd::borrow_raw(*fd);
                rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty())?;
            }
            Ok(())
        });
    }
}

/// What a test server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// HTTPS like the scheduler: health paths open, the rest 403 for
    /// anonymous callers and 200 with a bearer token. `open_pprof` serves
    /// /debug/pprof/ to anyone.
    Https { open_pprof: bool },
    /// The same over plain HTTP (the legacy insecure port).
    Plain { open_pprof: bool },
    /// Never accepts: the kernel completes TCP handshakes, nothing answers.
    Silent,
}

/// A server thread; stops (and stops accepting) when dropped.
pub struct Server {
    stop: Arc<AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Answers on `listener` (a clone of it; the socket stays shared with the
/// stand-in process) until the returned guard is dropped.
pub fn serve(listener: &TcpListener, behaviour: Behaviour) -> Server {
    let stop = Arc::new(AtomicBool::new(false));
    let server = Server { stop: stop.clone() };
    if behaviour == Behaviour::Silent {
        return server;
    }
    let listener = listener.try_clone().unwrap();
    listener.set_nonblocking(true).unwrap();
    let tls = match behaviour {
        Behaviour::Https { .. } => Some(server_config()),
        _ => None,
    };
    let open_pprof = matches!(
        behaviour,
        Behaviour::Https { open_pprof: true } | Behaviour::Plain { open_pprof: true }
    );
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let tls = tls.clone();
                    std::thread::spawn(move || {
                        let _ = handle(stream, tls, open_pprof);
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
    });
    server
}

pub fn server_config() -> Arc<rustls::ServerConfig> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(dir.join("test-server.crt"))
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("test-server.key")).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    Arc::new(config)
}

/// The answer the scheduler gives an anonymous (or token-bearing) caller.
fn respond(request: &str, open_pprof: bool) -> String {
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let authorised = request
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("authorization: bearer "));
    let known = [
        "/healthz",
        "/readyz",
        "/livez",
        "/metrics",
        "/configz",
        "/debug/pprof/",
    ];
    let (status, body) = if !known.contains(&path) {
        ("404 Not Found", "404 page not found\n".to_string())
    } else if authorised
        || matches!(path, "/healthz" | "/readyz" | "/livez")
        || (open_pprof && path == "/debug/pprof/")
    {
        (
            "200 OK",
            if path == "/healthz" {
                "ok".to_string()
            } else {
                format!("contents of {path}\n")
            },
        )
    } else {
        (
            "403 Forbidden",
            format!("forbidden: User \"system:anonymous\" cannot get path \"{path}\"\n"),
        )
    };
    format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

fn handle(
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    open_pprof: bool,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut stream = stream;
    match tls {
        None => exchange(&mut stream, open_pprof),
        Some(config) => {
            let mut connection =
                rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
            let mut tls_stream = rustls::Stream::new(&mut connection, &mut stream);
            exchange(&mut tls_stream, open_pprof)
        }
    }
}

fn exchange(stream: &mut impl ReadWrite, open_pprof: bool) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 << 10 {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
    }
    let answer = respond(&String::from_utf8_lossy(&request), open_pprof);
    stream.write_all(answer.as_bytes())?;
    stream.flush()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A network namespace made for a test (`ip netns add`), with `lo` up and an
/// interface holding an address from 192.0.2.0/24: a dummy interface, or,
/// on kernels without the dummy driver, one end of a veth pair whose both
/// ends stay inside the namespace. Deleted on drop.
pub struct NetNs {
    pub name: String,
    pub address: String,
}

impl NetNs {
    pub fn new(tag: &str, address: &str) -> NetNs {
        let name = format!("sg-{tag}-{}", std::process::id());
        let ns = NetNs {
            name: name.clone(),
            address: address.to_string(),
        };
        ip(&["netns", "add", &name]);
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        let dummy = Command::new("ip")
            .args(["-n", &name, "link", "add", "sgdummy0", "type", "dummy"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !dummy {
            ip(&[
                "-n", &name, "link", "add", "sgdummy0", "type", "veth", "peer", "name", "sgpeer0",
            ]);
            ip(&["-n", &name, "link", "set", "sgpeer0", "up"]);
        }
        ip(&[
            "-n",
            &name,
            "addr",
            "add",
            &format!("{address}/24"),
            "dev",
            "sgdummy0",
        ]);
        ip(&["-n", &name, "link", "set", "sgdummy0", "up"]);
        ns
    }

    /// Makes a listening socket inside the namespace.
    pub fn listen(&self, spec: Spec) -> TcpListener {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap();
            rustix::thread::move_into_link_name_space(
                file.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("setns needs root");
            listen(spec)
        })
        .join()
        .unwrap()
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {args:?} failed");
}
