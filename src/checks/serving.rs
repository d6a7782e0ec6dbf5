//! The scheduler's serving flags and what its sockets show (SG-301, SG-303 to
//! SG-305).

use crate::checks::effective::{serves, Effective};
use crate::checks::{Status, Verdict};
use crate::facts::{Listener, VersionSource};
use std::net::IpAddr;

/// True for 127.0.0.0/8, ::1, `localhost` and IPv4-mapped loopback.
pub fn is_loopback(address: &str) -> Option<bool> {
    if address.eq_ignore_ascii_case("localhost") {
        return Some(true);
    }
    let address = address.trim_start_matches('[').trim_end_matches(']');
    match address.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(v4.is_loopback()),
        IpAddr::V6(v6) => {
            Some(v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
        }
    }
}

fn listener_name(l: &Listener) -> String {
    format!("{} ({})", l.endpoint(), l.family)
}

/// SG-301.
pub fn bind_address_loopback(e: &Effective) -> Vec<Verdict> {
    let port = e.flag("secure-port");
    if port.value.as_deref() == Some("0") {
        return vec![Verdict::skip("secure serving is off (--secure-port=0)").from(&port.origin)];
    }
    let setting = e.flag("bind-address");
    let address = setting.value.clone().unwrap_or_default();
    let verdict = if address.is_empty() {
        Verdict::fail("--bind-address is empty: the secure port listens on all interfaces")
    } else {
        match is_loopback(&address) {
            Some(true) => Verdict::pass(format!("the secure port binds to {address}")),
            Some(false) => Verdict::fail(format!(
                "the secure port binds to {address}, which is not a loopback address"
            )),
            None => Verdict::error(format!("--bind-address={address} is not an IP address")),
        }
    };
    vec![verdict.from(&setting.origin)]
}

/// SG-303.
pub fn no_insecure_port(e: &Effective) -> Vec<Verdict> {
    // What the process serves rules over what its flags say; the flags'
    // verdict stays as evidence of why.
    let configured = configured_insecure_port(e);
    if let Some(live) = &e.target.live {
        let plain: Vec<&Listener> = live
            .listeners
            .iter()
            .filter(|l| l.tls == Some(false))
            .collect();
        if !plain.is_empty() {
            let names: Vec<String> = plain.iter().map(|l| listener_name(l)).collect();
            let mut verdict = Verdict::fail(format!(
                "plain-HTTP listener(s) without authentication: {}",
                names.join(", ")
            ));
            for name in names {
                verdict = verdict.with("socket", format!("{name} answered plain HTTP"));
            }
            let explanation = format!("from the configuration: {}", configured.message);
            return vec![verdict
                .with("config", explanation)
                .with_evidence_of(configured)];
        }
        let all_tls =
            !live.listeners.is_empty() && live.listeners.iter().all(|l| l.tls == Some(true));
        let known_without_port = e.target.version.detected.is_some_and(|v| v.at_least(24));
        if all_tls && !known_without_port && configured.status != Status::Pass {
            let names: Vec<String> = live.listeners.iter().map(listener_name).collect();
            return vec![Verdict::pass("every listener of the process speaks TLS")
                .with("socket", format!("TLS listeners: {}", names.join(", ")))
                .with_evidence_of(configured)];
        }
    }
    vec![configured]
}

/// SG-303 from the release and the flags (or config file) alone.
fn configured_insecure_port(e: &Effective) -> Verdict {
    let version = &e.target.version;
    if version.source == VersionSource::Unknown {
        return release_unknown(e);
    }
    let release = e.release;
    if release.at_least(24) {
        return Verdict::skip(format!(
            "{release} has no legacy insecure port (removed in 1.24)"
        ));
    }
    if release.at_least(23) {
        return Verdict::pass(format!(
            "{release} no longer serves the legacy insecure port"
        ));
    }
    match e.insecure_serving() {
        Err(reason) => Verdict::error(reason),
        Ok(settings) if !settings.iter().any(|s| serves(&s.value)) => {
            let verdict = Verdict::pass("the legacy insecure port is turned off");
            let verdict = settings.iter().fold(verdict, |v, s| v.from(&s.origin));
            note_ignored_port_flags(verdict, e)
        }
        Ok(settings) => {
            let bound: Vec<_> = settings.into_iter().filter(|s| serves(&s.value)).collect();
            let addresses: Vec<&str> = bound.iter().map(|b| b.value.as_str()).collect();
            let mut verdict = Verdict::fail(format!(
                "{release} serves /metrics, /configz and (with profiling) /debug/pprof/ over plain \
                 HTTP without authentication on {}",
                addresses.join(", ")
            ));
            for b in &bound {
                verdict = verdict.from(&b.origin);
            }
            note_ignored_port_flags(verdict, e)
        }
    }
}

/// SG-303 when the release could not be read.
fn release_unknown(e: &Effective) -> Verdict {
    use crate::checks::effective::ConfigState;
    match &e.config {
        ConfigState::Parsed { config, .. } if config.api.has_multi_point() => {
            Verdict::pass(format!(
                "the config file is {}, which only 1.23 and newer read; they have no insecure port",
                config.api
            ))
        }
        ConfigState::Absent if e.flag("port").value.as_deref() == Some("0") => {
            Verdict::pass("--port=0 turns the legacy insecure port off")
                .from(&e.flag("port").origin)
        }
        _ => Verdict::error(
            "the Kubernetes release of this scheduler is unknown, and releases up to 1.22 serve \
             the legacy insecure port by default; live inspection can tell",
        ),
    }
}

/// Notes `--port`/`--address` on a command line with `--config`: the real
/// 1.20 scheduler ignores them then.
fn note_ignored_port_flags(mut verdict: Verdict, e: &Effective) -> Verdict {
    for ignored in e.ignored_flags() {
        if ignored.flag == "port" || ignored.flag == "address" {
            verdict = verdict.with(
                "argv",
                format!(
                    "argv[{}]: --{}={} is ignored because --config is given",
                    ignored.position, ignored.flag, ignored.value
                ),
            );
        }
    }
    verdict
}

/// SG-304.
pub fn address_sharing_off(e: &Effective) -> Vec<Verdict> {
    let verdict = e.flag_bool("permit-address-sharing").map(|s| {
        let mut verdict = if s.value {
            Verdict::fail("--permit-address-sharing is on: the listener sets SO_REUSEADDR")
        } else {
            Verdict::pass("--permit-address-sharing is off")
        }
        .from(&s.origin);
        for l in e.target.live.iter().flat_map(|live| &live.listeners) {
            if let Some(reuse) = l.reuse_addr {
                verdict = verdict.with(
                    "socket",
                    format!(
                        "{}: SO_REUSEADDR={} (Go sets it on every listener; evidence only)",
                        listener_name(l),
                        u8::from(reuse)
                    ),
                );
            }
        }
        verdict
    });
    vec![Verdict::from_result(verdict)]
}

/// SG-305.
pub fn port_sharing_off(e: &Effective) -> Vec<Verdict> {
    let flag = match e.flag_bool("permit-port-sharing") {
        Ok(flag) => flag,
        Err(reason) => return vec![Verdict::error(reason)],
    };
    if flag.value {
        return vec![Verdict::fail(
            "--permit-port-sharing is on: the secure port is opened with SO_REUSEPORT",
        )
        .from(&flag.origin)];
    }
    let Some(live) = &e.target.live else {
        return vec![Verdict::pass(
            "--permit-port-sharing is off (live socket options were not inspected)",
        )
        .from(&flag.origin)];
    };
    if live.listeners.is_empty() {
        if let Some(reason) = live.errors.first() {
            return vec![Verdict::error(format!(
                "--permit-port-sharing is off, but the listening sockets could not be read: {reason}"
            ))
            .from(&flag.origin)];
        }
    }

    let shared: Vec<&Listener> = live
        .listeners
        .iter()
        .filter(|l| l.reuse_port == Some(true))
        .collect();
    let unread: Vec<&Listener> = live
        .listeners
        .iter()
        .filter(|l| l.reuse_port.is_none())
        .collect();
    let mut verdict = if !shared.is_empty() {
        let names: Vec<String> = shared.iter().map(|l| listener_name(l)).collect();
        Verdict::fail(format!("SO_REUSEPORT is set on {}", names.join(", ")))
    } else if let Some(l) = unread.first() {
        let reason = l.sockopt_error.clone().unwrap_or_else(|| "not read".into());
        Verdict::error(format!(
            "--permit-port-sharing is off, but SO_REUSEPORT of {} could not be read: {reason}",
            listener_name(l)
        ))
    } else {
        Verdict::pass("--permit-port-sharing is off and no listener has SO_REUSEPORT")
    }
    .from(&flag.origin);
    for l in &live.listeners {
        if let Some(reuse) = l.reuse_port {
            verdict = verdict.with(
                "socket",
                format!("{}: SO_REUSEPORT={}", listener_name(l), u8::from(reuse)),
            );
        }
        if !l.shared_with.is_empty() {
            verdict = verdict.with(
                "socket",
                format!(
                    "{}: other sockets listen on the same address and port (inodes {:?}): a \
                     SO_REUSEPORT group",
                    listener_name(l),
                    l.shared_with
                ),
            );
        }
    }
    vec![verdict]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::{Live, Target};

    fn status(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Status {
        check(&Effective::new(target))[0].status
    }

    fn listener(address: &str, reuse_port: Option<bool>, tls: Option<bool>) -> Listener {
        Listener {
            address: address.into(),
            port: 10259,
            family: if address.contains(':') { "tcp6" } else { "tcp" }.into(),
            inode: 1,
            fd: Some(3),
            v6only: None,
            reuse_addr: Some(true),
            reuse_port,
            sockopt_error: reuse_port
                .is_none()
                .then(|| "permission denied".to_string()),
            tls,
            shared_with: Vec::new(),
        }
    }

    fn with_live(mut target: Target, listeners: Vec<Listener>) -> Target {
        target.live = Some(Live {
            listeners,
            ..Live::default()
        });
        target
    }

    #[test]
    fn loopback_addresses_are_recognised() {
        for a in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "::ffff:127.0.0.1",
        ] {
            assert_eq!(is_loopback(a), Some(true), "{a}");
        }
        for a in ["0.0.0.0", "::", "10.0.0.1", "192.0.2.7"] {
            assert_eq!(is_loopback(a), Some(false), "{a}");
        }
        assert_eq!(is_loopback("not-an-ip"), None);
    }

    #[test]
    fn default_bind_address_is_all_interfaces_and_fails() {
        assert_eq!(status(bind_address_loopback, &target("")), Status::Fail);
        assert_eq!(
            status(bind_address_loopback, &target("--bind-address=127.0.0.1")),
            Status::Pass
        );
        assert_eq!(
            status(bind_address_loopback, &target("--bind-address=")),
            Status::Fail
        );
        assert_eq!(
            status(bind_address_loopback, &target("--bind-address=bogus")),
            Status::Error
        );
        assert_eq!(
            status(bind_address_loopback, &target("--secure-port=0")),
            Status::Skip
        );
    }

    #[test]
    fn insecure_port_is_on_by_default_up_to_1_22() {
        assert_eq!(
            status(no_insecure_port, &release(target(""), 20)),
            Status::Fail
        );
        assert_eq!(
            status(no_insecure_port, &release(target("--port=0"), 20)),
            Status::Pass
        );
        assert_eq!(
            status(no_insecure_port, &release(target("--port=0"), 23)),
            Status::Pass
        );
        assert_eq!(
            status(no_insecure_port, &release(target(""), 24)),
            Status::Skip
        );
    }

    #[test]
    fn port_zero_is_ignored_with_a_v1beta1_config() {
        let t = with_config(release(target("--config=x --port=0"), 20), V1BETA1);
        let verdict = &no_insecure_port(&Effective::new(&t))[0];
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("0.0.0.0:10251"));
        assert!(verdict
            .evidence
            .iter()
            .any(|e| e.detail.contains("ignored")));
        let loopback = format!(
            "{V1BETA1}healthzBindAddress: 127.0.0.1:10251\nmetricsBindAddress: 127.0.0.1:10251\n"
        );
        let t = with_config(release(target("--config=x"), 20), &loopback);
        let verdict = &no_insecure_port(&Effective::new(&t))[0];
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("127.0.0.1:10251"));
    }

    #[test]
    fn empty_legacy_bind_addresses_mean_the_default_as_the_real_1_20_does() {
        let empty = format!("{V1BETA1}healthzBindAddress: \"\"\nmetricsBindAddress: \"\"\n");
        let t = with_config(release(target("--config=x"), 20), &empty);
        let verdict = &no_insecure_port(&Effective::new(&t))[0];
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("0.0.0.0:10251"));
    }

    #[test]
    fn unknown_release_is_an_error_unless_the_evidence_settles_it() {
        assert_eq!(
            status(no_insecure_port, &unknown_release(target(""))),
            Status::Error
        );
        assert_eq!(
            status(no_insecure_port, &unknown_release(target("--port=0"))),
            Status::Pass
        );
        let v1 = with_config(unknown_release(target("--config=x")), V1);
        assert_eq!(status(no_insecure_port, &v1), Status::Pass);
    }

    #[test]
    fn a_live_plain_http_listener_fails_whatever_the_flags_say() {
        let t = with_live(
            release(target("--port=0"), 20),
            vec![listener("0.0.0.0", Some(false), Some(false))],
        );
        assert_eq!(status(no_insecure_port, &t), Status::Fail);
    }

    #[test]
    fn port_sharing_needs_flag_and_live_socket_both_off() {
        assert_eq!(status(port_sharing_off, &target("")), Status::Pass);
        assert_eq!(
            status(port_sharing_off, &target("--permit-port-sharing")),
            Status::Fail
        );
        let live_on = with_live(
            target(""),
            vec![listener("127.0.0.1", Some(true), Some(true))],
        );
        assert_eq!(status(port_sharing_off, &live_on), Status::Fail);
        let unread = with_live(target(""), vec![listener("127.0.0.1", None, Some(true))]);
        assert_eq!(status(port_sharing_off, &unread), Status::Error);
        let live_off = with_live(
            target(""),
            vec![listener("127.0.0.1", Some(false), Some(true))],
        );
        assert_eq!(status(port_sharing_off, &live_off), Status::Pass);
    }

    #[test]
    fn address_sharing_reports_live_reuseaddr_as_evidence_only() {
        let t = with_live(
            target(""),
            vec![listener("127.0.0.1", Some(false), Some(true))],
        );
        let verdict = &address_sharing_off(&Effective::new(&t))[0];
        assert_eq!(verdict.status, Status::Pass);
        assert!(verdict
            .evidence
            .iter()
            .any(|e| e.detail.contains("SO_REUSEADDR=1")));
        assert_eq!(
            status(
                address_sharing_off,
                &target("--permit-address-sharing=true")
            ),
            Status::Fail
        );
    }
}
