//! What the live process answers and where it listens (SG-302, SG-501 to
//! SG-504). These checks read only live evidence.

use crate::checks::effective::Effective;
use crate::checks::serving::is_loopback;
use crate::checks::Verdict;
use crate::facts::{HttpProbe, Live, Observed};

/// The host part of a probe URL such as `https://[::1]:10259/configz`.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

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
        return vec![Verdict::error(format!(
            "{what} was not probed: no listener answered HTTP"
        ))];
    }

    let mut open = Vec::new();
    let mut unknown = Vec::new();
    let mut evidence = Vec::new();
    for probe in &probes {
        match &probe.status {
            Observed::Ok(code) => {
                evidence.push(format!("GET {} -> {code}", probe.url));
                if !matches!(code, 401 | 403 | 404) {
                    open.push(format!("{} answered {code}", probe.url));
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
    } else if !unknown.is_empty() && unknown.len() == probes.len() {
        Verdict::error(format!(
            "no probe of {what} got an answer: {}",
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
    let off_host: Vec<&HttpProbe> = live
        .probes
        .iter()
        .filter(|p| is_loopback(url_host(&p.url)) == Some(false) && url_path(&p.url) == "/healthz")
        .collect();
    if off_host.is_empty() {
        return vec![Verdict::pass(
            "no non-loopback address of the host reached the secure port",
        )];
    }
    let reached: Vec<&str> = off_host
        .iter()
        .filter(|p| p.status.ok().is_some())
        .map(|p| p.url.as_str())
        .collect();
    let mut verdict = if reached.is_empty() {
        Verdict::pass("the secure port refuses connections on the host's other addresses")
    } else {
        Verdict::fail(format!(
            "the secure port answers off-host: {}",
            reached.join(", ")
        ))
    };
    for p in off_host {
        let answer = match &p.status {
            Observed::Ok(code) => code.to_string(),
            Observed::Error(reason) => reason.clone(),
        };
        verdict = verdict.with("probe", format!("GET {} -> {answer}", p.url));
    }
    vec![verdict]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::{Listener, Target};

    fn probe(url: &str, status: Observed<u16>) -> HttpProbe {
        HttpProbe {
            url: url.into(),
            status,
            body_prefix: None,
        }
    }

    fn with_probes(probes: Vec<HttpProbe>) -> Target {
        let mut t = target("");
        t.live = Some(Live {
            listeners: Vec::new(),
            probes,
            errors: Vec::new(),
        });
        t
    }

    fn status(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Status {
        check(&Effective::new(target))[0].status
    }

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(url_host("https://[::1]:10259/configz"), "::1");
        assert_eq!(url_host("http://127.0.0.1:10251/metrics"), "127.0.0.1");
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
        });
        assert_eq!(status(listeners_loopback, &t), Status::Fail);
    }

    #[test]
    fn off_host_answer_fails() {
        let t = with_probes(vec![probe(
            "https://192.0.2.10:10259/healthz",
            Observed::Ok(200),
        )]);
        assert_eq!(status(not_reachable_off_host, &t), Status::Fail);
        let t = with_probes(vec![probe(
            "https://192.0.2.10:10259/healthz",
            Observed::Error("connection refused".into()),
        )]);
        assert_eq!(status(not_reachable_off_host, &t), Status::Pass);
    }
}
