//! TLS settings of the secure port (SG-401 to SG-403).

use crate::checks::effective::Effective;
use crate::checks::{Status, Verdict};
use crate::facts::{Observed, TlsOffer};

/// Go's `tls.InsecureCipherSuites()` (Go 1.22 and newer, which added the RSA
/// key-exchange suites), plus the aliases Kubernetes accepts for them.
pub const INSECURE_SUITES: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// The Go release (`go1.21.9` gives `(1, 21)`).
fn go_minor(text: &str) -> Option<(u16, u16)> {
    let rest = text.strip_prefix("go")?;
    let mut parts = rest.split(['.', 'r', 'b', '-', ' ']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Combines a verdict from the flags with what the listeners accepted when
/// offered legacy versions (`versions`) or insecure suites alone: an
/// accepted offer fails whatever the flags say; offers that were all
/// refused settle a verdict the flags alone could only warn about.
fn with_live_offers(verdict: Verdict, e: &Effective, versions: bool) -> Verdict {
    let Some(live) = &e.target.live else {
        return verdict;
    };
    let offers: Vec<(&str, &TlsOffer)> = live
        .tls_scans
        .iter()
        .flat_map(|scan| scan.offers.iter().map(move |o| (scan.endpoint.as_str(), o)))
        .filter(|(_, o)| o.suite.is_none() == versions)
        .collect();
    if offers.is_empty() {
        return verdict;
    }

    let what = |o: &TlsOffer| o.suite.clone().unwrap_or_else(|| o.version.clone());
    let accepted: Vec<String> = offers
        .iter()
        .filter(|(_, o)| o.accepted == Observed::Ok(true))
        .map(|(endpoint, o)| format!("{} on {endpoint}", what(o)))
        .collect();
    let all_refused = offers
        .iter()
        .all(|(_, o)| o.accepted == Observed::Ok(false));
    let mut verdict = if !accepted.is_empty() {
        Verdict::fail(format!("the secure port accepted {}", accepted.join(", ")))
            .with_evidence_of(verdict)
    } else if verdict.status == Status::Warn && all_refused {
        Verdict::pass("every insecure suite offered alone was refused by the secure port")
            .with_evidence_of(verdict)
    } else {
        verdict
    };
    for (endpoint, o) in offers {
        verdict = verdict.with(
            "probe",
            format!("{endpoint}: offered {} -> {}", what(o), o.answer),
        );
    }
    verdict
}

/// The TLS session a probe of the secure port negotiated, in words: the
/// certificate the scheduler really serves.
pub fn served_session(e: &Effective) -> Option<String> {
    let live = e.target.live.as_ref()?;
    let (url, session) = live
        .probes
        .iter()
        .find_map(|p| Some((&p.url, p.tls.as_ref()?)))?;
    Some(format!(
        "{url}: {} {}, certificate {} issued by {}",
        session.version,
        session.cipher_suite,
        session.subject.as_deref().unwrap_or("(unreadable)"),
        session.issuer.as_deref().unwrap_or("(unreadable)")
    ))
}

/// SG-401.
pub fn cipher_suites_explicit(e: &Effective) -> Vec<Verdict> {
    let setting = e.flag_list("tls-cipher-suites");
    let verdict = if setting.value.is_empty() {
        Verdict::fail("--tls-cipher-suites is not set: Go's default suites are accepted")
    } else {
        Verdict::pass(format!(
            "cipher suites are set: {}",
            setting.value.join(",")
        ))
    };
    vec![verdict.from(&setting.origin)]
}

/// SG-402.
pub fn no_insecure_suites(e: &Effective) -> Vec<Verdict> {
    let setting = e.flag_list("tls-cipher-suites");
    if !setting.value.is_empty() {
        let insecure: Vec<&str> = setting
            .value
            .iter()
            .map(String::as_str)
            .filter(|s| INSECURE_SUITES.contains(s))
            .collect();
        let verdict = if insecure.is_empty() {
            Verdict::pass("no configured cipher suite is on Go's insecure list")
        } else {
            Verdict::fail(format!(
                "insecure cipher suites are enabled: {}",
                insecure.join(", ")
            ))
        };
        return vec![with_live_offers(verdict.from(&setting.origin), e, false)];
    }

    // No list: Go's defaults apply, and they depend on the Go release the
    // binary was built with.
    let go = e.target.version.go_version.clone();
    let verdict = match go.as_deref().and_then(go_minor) {
        Some((1, minor)) if minor >= 23 => Verdict::pass(format!(
            "Go's default cipher suites apply; {} excludes RC4, 3DES, RSA key exchange and \
             CBC-SHA256 by default",
            go.as_deref().unwrap_or_default()
        )),
        Some(_) => Verdict::warn(format!(
            "--tls-cipher-suites is not set, and the defaults of {} still accept 3DES (and, before \
             go1.22, RSA key-exchange) suites",
            go.as_deref().unwrap_or_default()
        )),
        None => Verdict::warn(
            "--tls-cipher-suites is not set and the Go release of the binary is unknown, so the \
             default suites cannot be judged",
        ),
    };
    vec![with_live_offers(verdict.from(&setting.origin), e, false)]
}

/// SG-403.
pub fn min_version(e: &Effective) -> Vec<Verdict> {
    let setting = e.flag("tls-min-version");
    let value = setting
        .value
        .clone()
        .unwrap_or_else(|| "VersionTLS12".into());
    let verdict = match value.as_str() {
        "" | "VersionTLS12" | "VersionTLS13" => Verdict::pass(format!(
            "minimum TLS version is {}",
            if value.is_empty() {
                "VersionTLS12"
            } else {
                &value
            }
        )),
        "VersionTLS10" | "VersionTLS11" => Verdict::fail(format!(
            "--tls-min-version={value} allows deprecated TLS versions"
        )),
        other => Verdict::error(format!(
            "--tls-min-version={other} is not a TLS version name"
        )),
    };
    let verdict = with_live_offers(verdict.from(&setting.origin), e, true);
    vec![match served_session(e) {
        Some(session) => verdict.with("probe", session),
        None => verdict,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::*;
    use crate::checks::Status;
    use crate::facts::Target;

    fn status(check: fn(&Effective) -> Vec<Verdict>, target: &Target) -> Status {
        check(&Effective::new(target))[0].status
    }

    fn built_with(mut target: Target, go: Option<&str>) -> Target {
        target.version.go_version = go.map(String::from);
        target
    }

    #[test]
    fn cipher_suites_must_be_listed() {
        assert_eq!(status(cipher_suites_explicit, &target("")), Status::Fail);
        let set = target("--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
        assert_eq!(status(cipher_suites_explicit, &set), Status::Pass);
    }

    #[test]
    fn insecure_suites_are_named() {
        let weak = target("--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_3DES_EDE_CBC_SHA");
        let verdict = &no_insecure_suites(&Effective::new(&weak))[0];
        assert_eq!(verdict.status, Status::Fail);
        assert!(verdict.message.contains("TLS_RSA_WITH_3DES_EDE_CBC_SHA"));
        assert!(!verdict.message.contains("AES_128_GCM"));
    }

    #[test]
    fn unset_suites_depend_on_the_go_release() {
        assert_eq!(
            status(
                no_insecure_suites,
                &built_with(target(""), Some("go1.23.4"))
            ),
            Status::Pass
        );
        assert_eq!(
            status(
                no_insecure_suites,
                &built_with(target(""), Some("go1.19.8"))
            ),
            Status::Warn
        );
        assert_eq!(
            status(no_insecure_suites, &built_with(target(""), None)),
            Status::Warn
        );
    }

    #[test]
    fn tls_min_version_defaults_to_1_2() {
        assert_eq!(status(min_version, &target("")), Status::Pass);
        assert_eq!(
            status(min_version, &target("--tls-min-version=VersionTLS13")),
            Status::Pass
        );
        assert_eq!(
            status(min_version, &target("--tls-min-version=VersionTLS10")),
            Status::Fail
        );
        assert_eq!(
            status(min_version, &target("--tls-min-version=SSLv3")),
            Status::Error
        );
    }

    #[test]
    fn go_release_is_read_from_the_build_info_text() {
        assert_eq!(go_minor("go1.19.8"), Some((1, 19)));
        assert_eq!(go_minor("go1.22rc1"), Some((1, 22)));
        assert_eq!(go_minor("devel"), None);
    }
}
