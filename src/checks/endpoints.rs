//! What the live process answers and where it listens (SG-302, SG-501 to
//! SG-504). These checks read only live evidence.

use crate::checks::effective::Effective;
use crate::checks::serving::is_loopback;
use crate::checks::Verdict;
use crate::facts::{HttpProbe, Live, Observed};

fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

fn live<'a>(e: &'a Effective) -> Result<&'a Live, Verdict> {
    e.target
        .live
        .as_ref()
        .ok_or_else(|| Verdict::skip("live network inspection did not run"))
}

/// SG-302.
pub fn listeners_loopback(e: &Effective) -> Vec<Verdict> {
    let live = match live(e) {
        Ok(l) => l,
        Err(v) => return vec![v],
    };
    if live.listeners.is_empty() {
        if let Some(reason) = live.errors.first() {
            return vec![Verdict::error(format!(
                "listening sockets could not be read: {reason}"
            ))];
        }
        return vec![Verdict::pass("the process holds no listening TCP socket")];
    }
    let exposed: Vec<String> = live
        .listeners
        .iter()
        .filter(|l| is_loopback(&l.address) != Some(true))
        .map(|l| format!("{}:{} ({})", l.address, l.port, l.family))
        .collect();
    let mut verdict = if exposed.is_empty() {
        Verdict::pass("every listening socket is on a loopback address")
    } else {
        Verdict::fail(format!(
            "listening on non-loopback addresses: {}",
            exposed.join(", ")
        ))
    };
    for l in &live.listeners {
        verdict = verdict.with(
            "socket",
            format!("{}:{} ({}) inode {}", l.address, l.port, l.family, l.inode),
        );
    }
    vec![verdict]
}

/// Judges the anonymous answers for some paths: 401, 403 and 404 refuse.
fn refused(e: &Effective, paths: &[&str], what: &str) -> Vec<Verdict> {
    let live = match live(e) {
        Ok(l) => l,
        Err(v) => return vec![v],
    };
    let probes: Vec<&HttpProbe> = live
        .probes
        .iter()
        .filter(|p| paths.contains(&url_path(&p.url)))
        .collect();
    if probes.is_empty() {
        let reason = match live.errors.first() {
            Some(reason) => reason.clone(),
            None if live.listeners.is_empty() => "the process holds no listening socket".into(),
            None => "no listener was probed".into(),
        };
        return vec![Verdict::error(format!("{what} was not probed: {reason}"))];
    }

    let mut open = Vec::new();
    let mut unknown = Vec::new();
    let mut evidence = Vec::new();
    for probe in &probes {
        match &probe.status {
            Observed::Ok(code) => {
                evidence.push(format!("GET {} -> {code}", probe.url));
                match *code {
                    // Refused by authentication or authorization, or not
                    // served at all.
                    401 | 403 | 404 => {}
                    // Served, redirected, or past authorization to a
                    // handler that wants another method.
                    200..=399 | 405 => open.push(format!("{} answered {code}", probe.url)),
                    // A 5xx is the scheduler failing to decide (its
                    // delegated authorization cannot reach the API server,
                    // say): whether it would serve is unknown.
                    _ => unknown.push(format!(
                        "{} answered {code}, neither served nor refused",
                        probe.url
                    )),
                }
            }
            Observed::Error(reason) => {
                evidence.push(format!("GET {} -> {reason}", probe.url));
                unknown.push(format!("{}: {reason}", probe.url));
            }
        }
    }
    let verdict = if !open.is_empty() {
        Verdict::fail(format!(
            "anonymous callers reach {what}: {}",
            open.join("; ")
        ))
    } else if !unknown.is_empty() {
        Verdict::error(format!(
            "not every probe of {what} got a refusal: {}",
            unknown.join("; ")
        ))
    } else {
        Verdict::pass(format!("{what} refuses anonymous callers"))
    };
    vec![evidence
        .into_iter()
        .fold(verdict, |v, d| v.with("probe", d))]
}

/// SG-501.
pub fn pprof_refused(e: &Effective) -> Vec<Verdict> {
    refused(e, &["/debug/pprof/"], "/debug/pprof/")
}

/// SG-502.
pub fn configz_refused(e: &Effective) -> Vec<Verdict> {
    refused(e, &["/configz"], "/configz")
}

/// SG-503.
pub fn debug_refused(e: &Effective) -> Vec<Verdict> {
    refused(
        e,
        &["/metrics", "/flagz", "/statusz", "/debug/flags/v"],
        "/metrics, /flagz, /statusz and /debug/flags/v",
    )
}

/// SG-504.
pub fn not_reachable_off_host(e: &Effective) -> Vec<Verdict> {
    let live = match live(e) {
        Ok(l) => l,
        Err(v) => return vec![v],
    };
    let port = e.flag("secure-port");
    if port.value.as_deref() == Some("0") {
        return vec![Verdict::skip("secure serving is off (--secure-port=0)").from(&port.origin)];
    }
    if live.reach.is_empty() {
        let off_host = live.addresses.iter().any(|a| is_loopback(a) == Some(false));
        return vec![if off_host || live.addresses.is_empty() {
            Verdict::error(match live.errors.first() {
                Some(reason) => format!("the secure port could not be tried off-host: {reason}"),
                None => {
                    "no connection to the secure port was tried on a non-loopback address".into()
                }
            })
        } else {
            Verdict::pass("the scheduler's network namespace has only loopback addresses")
        }];
    }

    let reached: Vec<String> = live
        .reach
        .iter()
        .filter(|r| r.accepted == Observed::Ok(true))
        .map(|r| endpoint(&r.address, r.port))
        .collect();
    let failed = live
        .reach
        .iter()
        .filter(|r| r.accepted.ok().is_none())
        .count();
    let mut verdict = if !reached.is_empty() {
        Verdict::fail(format!(
            "the secure port accepts connections on {}",
            reached.join(", ")
        ))
    } else if failed > 0 {
        Verdict::error(
            "some connection attempts to the secure port neither connected nor were refused",
        )
    } else {
        Verdict::pass("the secure port refuses connections on every non-loopback address")
    };
    for r in &live.reach {
        let answer = match &r.accepted {
            Observed::Ok(true) => "accepted".to_string(),
            Observed::Ok(false) => "refused".to_string(),
            Observed::Error(reason) => reason.clone(),
        };
        verdict = verdict.with(
            "probe",
            format!("connect {} -> {answer}", endpoint(&r.address, r.port)),
        );
    }
    vec![verdict]
}

fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::{Listener, Reach, Target};

    fn probe(url: &str, status: Observed<u16>) -> HttpProbe {
        HttpProbe {
            url: url.into(),
            status,
            body_prefix: None,
            tls: None,
        }
    }

    fn with_probes(probes: Vec<HttpProbe>) -> Target {
        let mut t = target("");
        t.live = Some(Live {
            probes,
            ..Live::default()
        });
        t
    }

    fn status(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Status {
        check(&Effective::new(target))[0].status
    }

    #[test]
    fn urls_give_their_path() {
        assert_eq!(
            url_path("https://127.0.0.1:10259/debug/pprof/"),
            "/debug/pprof/"
        );
    }

    #[test]
    fn pprof_answering_200_fails_and_403_passes() {
        let open = with_probes(vec![probe(
            "http://127.0.0.1:10251/debug/pprof/",
            Observed::Ok(200),
        )]);
        assert_eq!(status(pprof_refused, &open), Status::Fail);
        let closed = with_probes(vec![probe(
            "https://127.0.0.1:10259/debug/pprof/",
            Observed::Ok(403),
        )]);
        assert_eq!(status(pprof_refused, &closed), Status::Pass);
    }

    #[test]
    fn server_errors_are_undecided_and_405_means_authorized() {
        let undecided = with_probes(vec![probe(
            "https://127.0.0.1:10259/debug/pprof/",
            Observed::Ok(500),
        )]);
        assert_eq!(status(pprof_refused, &undecided), Status::Error);
        let past_authz = with_probes(vec![probe(
            "https://127.0.0.1:10259/debug/flags/v",
            Observed::Ok(405),
        )]);
        assert_eq!(status(debug_refused, &past_authz), Status::Fail);
    }

    #[test]
    fn one_unanswered_endpoint_is_enough_for_an_error() {
        let mixed = with_probes(vec![
            probe("https://127.0.0.1:10259/configz", Observed::Ok(403)),
            probe(
                "http://127.0.0.1:10251/configz",
                Observed::Error("no answer within 2.0s".into()),
            ),
        ]);
        assert_eq!(status(configz_refused, &mixed), Status::Error);
    }

    #[test]
    fn unanswered_probes_are_errors_not_passes() {
        let timeout = with_probes(vec![probe(
            "https://127.0.0.1:10259/configz",
            Observed::Error("timed out".into()),
        )]);
        assert_eq!(status(configz_refused, &timeout), Status::Error);
        assert_eq!(
            status(configz_refused, &with_probes(Vec::new())),
            Status::Error
        );
    }

    #[test]
    fn live_checks_skip_without_live_inspection() {
        assert_eq!(status(pprof_refused, &target("")), Status::Skip);
        assert_eq!(status(listeners_loopback, &target("")), Status::Skip);
    }

    #[test]
    fn wildcard_listener_fails_loopback_only() {
        let mut t = with_probes(Vec::new());
        t.live.as_mut().unwrap().listeners.push(Listener {
            address: "0.0.0.0".into(),
            port: 10259,
            family: "tcp".into(),
            inode: 7,
            fd: Some(3),
            v6only: None,
            reuse_addr: Some(true),
            reuse_port: Some(false),
            sockopt_error: None,
            tls: Some(true),
            shared_with: Vec::new(),
        });
        assert_eq!(status(listeners_loopback, &t), Status::Fail);
    }

    fn with_reach(accepted: Observed<bool>) -> Target {
        let mut t = target("");
        let reach = vec![Reach {
            address: "192.0.2.10".into(),
            port: 10259,
            accepted,
        }];
        t.live = Some(Live {
            addresses: vec!["127.0.0.1".into(), "192.0.2.10".into()],
            reach,
            ..Live::default()
        });
        t
    }

    #[test]
    fn secure_port_accepting_off_host_fails() {
        assert_eq!(
            status(not_reachable_off_host, &with_reach(Observed::Ok(true))),
            Status::Fail
        );
        assert_eq!(
            status(not_reachable_off_host, &with_reach(Observed::Ok(false))),
            Status::Pass
        );
        let unknown = with_reach(Observed::Error("no answer within 2.0s".into()));
        assert_eq!(status(not_reachable_off_host, &unknown), Status::Error);
    }

    #[test]
    fn loopback_only_namespace_passes_off_host_check() {
        let mut t = target("");
        t.live = Some(Live {
            addresses: vec!["127.0.0.1".into(), "::1".into()],
            ..Live::default()
        });
        assert_eq!(status(not_reachable_off_host, &t), Status::Pass);
    }
}
