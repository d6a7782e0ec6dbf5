//! The service manager's notification protocol (sd_notify): READY=1,
//! STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1, sent as datagrams to
//! `$NOTIFY_SOCKET` (a path, or an abstract name written `@name`).

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where notifications go; does nothing when not started by a service
/// manager.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// Reads `$NOTIFY_SOCKET`. A socket that cannot be used is logged and
    /// ignored: notifications are advisory.
    pub fn from_env() -> Notifier {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier { target: None };
        };
        let path = path.to_string_lossy().into_owned();
        let address = match path.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
            None => SocketAddr::from_pathname(&path),
        };
        let target = address.and_then(|a| Ok((UnixDatagram::unbound()?, a)));
        match target {
            Ok(target) => Notifier {
                target: Some(target),
            },
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET={path} cannot be used: {e}");
                Notifier { target: None }
            }
        }
    }

    /// Sends one notification (`KEY=value` lines).
    pub fn send(&self, state: &str) {
        if let Some((socket, address)) = &self.target {
            if let Err(e) = socket.send_to_addr(state.as_bytes(), address) {
                tracing::debug!("sd_notify {state:?} failed: {e}");
            }
        }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }
}

/// How often to send WATCHDOG=1: half of `$WATCHDOG_USEC`, when the
/// watchdog is meant for this process (`$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.trim() != std::process::id().to_string() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Sends WATCHDOG=1 at [`watchdog_interval`] from a task of the running
/// tokio runtime, so that a stuck runtime stops the pings; does nothing
/// without a watchdog.
pub fn spawn_watchdog() {
    if let Some(every) = watchdog_interval() {
        let watchdog = Notifier::from_env();
        tokio::spawn(async move {
            loop {
                watchdog.send("WATCHDOG=1");
                tokio::time::sleep(every).await;
            }
        });
    }
}

/// A STATUS= value on one line.
pub fn status(text: &str) -> String {
    format!("STATUS={}", text.replace('\n', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_one_line() {
        assert_eq!(status("a\nb"), "STATUS=a b");
    }

    #[test]
    fn notifications_reach_a_datagram_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier {
            target: Some((
                UnixDatagram::unbound().unwrap(),
                SocketAddr::from_pathname(&path).unwrap(),
            )),
        };
        notifier.send("READY=1\nSTATUS=ok");
        let mut buffer = [0u8; 64];
        let n = receiver.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=ok");
    }
}
