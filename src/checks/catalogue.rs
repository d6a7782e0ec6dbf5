//! The check catalogue (`../shared/CHECKS.md`) as data: IDs, titles,
//! severities, rationale, remediation and references. IDs are a public
//! contract: never renumber, never reuse.

use crate::checks::{
    apiserver, authn, endpoints, files, node_writers, plugins, profiling, scheduler_names, serving,
    tls,
};
use crate::checks::{Run, Severity};

/// One check of the catalogue.
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Needs live evidence (sockets, probes) rather than configuration alone.
    pub live: bool,
    /// Why the check matters, in a sentence or two.
    pub rationale: &'static str,
    /// The exact change that fixes a failure.
    pub remediation: &'static str,
    pub references: &'static [&'static str],
    pub run: Run,
}

const GUIDE: &str = "Kubernetes Hardening Guide - Scheduler Configuration";

pub const CATALOGUE: &[Check] = &[
    Check {
        id: "SG-101",
        title: "Delegated authentication is configured",
        severity: Severity::High,
        live: false,
        rationale: "Without --authentication-kubeconfig the scheduler cannot ask the API server \
            who a caller is: every bearer token is ignored and every request is anonymous.",
        remediation: "Start kube-scheduler with --authentication-kubeconfig pointing at a \
            kubeconfig with the scheduler's credentials (kubeadm: /etc/kubernetes/scheduler.conf).",
        references: &[GUIDE],
        run: Run::Scheduler(authn::delegated_authentication),
    },
    Check {
        id: "SG-102",
        title: "Scheduler kubeconfig files are private",
        severity: Severity::High,
        live: false,
        rationale:
            "A kubeconfig holds the scheduler's credentials; anyone who can read it can act \
            as the scheduler, and anyone who can replace it can point the scheduler elsewhere.",
        remediation: "chmod 600 each kubeconfig the scheduler uses and chown it to root:root (or \
            to the scheduler's own user); make no directory above it writable by group or others.",
        references: &[
            GUIDE,
            "CIS Kubernetes Benchmark 1.1.15",
            "CIS Kubernetes Benchmark 1.1.16",
        ],
        run: Run::Scheduler(files::kubeconfigs_private),
    },
    Check {
        id: "SG-103",
        title: "Authentication lookup failures are fatal",
        severity: Severity::Medium,
        live: false,
        rationale: "With --authentication-tolerate-lookup-failure=true (the default) a scheduler \
            that cannot read the authentication configuration from the API server keeps running \
            and may treat every request as anonymous.",
        remediation: "Add --authentication-tolerate-lookup-failure=false to the kube-scheduler \
            command line.",
        references: &[GUIDE],
        run: Run::Scheduler(authn::lookup_failure_fatal),
    },
    Check {
        id: "SG-104",
        title: "Authentication lookup is not skipped",
        severity: Severity::High,
        live: false,
        rationale: "With --authentication-skip-lookup=true the scheduler does not read the client \
            CA and request-header settings from the API server, so client certificates it should \
            trust are not checked the way the cluster checks them.",
        remediation:
            "Remove --authentication-skip-lookup from the kube-scheduler command line (or \
            set it to false).",
        references: &[GUIDE],
        run: Run::Scheduler(authn::lookup_not_skipped),
    },
    Check {
        id: "SG-105",
        title: "Only health paths bypass authorization",
        severity: Severity::High,
        live: false,
        rationale: "Paths in --authorization-always-allow-paths are served to anyone, anonymous \
            callers included; only the health endpoints return data fit for that.",
        remediation:
            "Set --authorization-always-allow-paths=/healthz,/readyz,/livez (or remove the \
            flag to use that default).",
        references: &[GUIDE],
        run: Run::Scheduler(authn::always_allow_paths),
    },
    Check {
        id: "SG-106",
        title: "No request-header CA on the command line",
        severity: Severity::Medium,
        live: false,
        rationale: "A client certificate signed by --requestheader-client-ca-file may assert any \
            user in X-Remote-User headers; with --requestheader-allowed-names empty, any such \
            certificate may do so.",
        remediation: "Remove --requestheader-client-ca-file and let the scheduler read the \
            front-proxy CA from the API server; if it must stay, set \
            --requestheader-allowed-names to the front proxy's certificate names.",
        references: &[GUIDE],
        run: Run::Scheduler(authn::requestheader_ca),
    },
    Check {
        id: "SG-201",
        title: "Profiling is disabled",
        severity: Severity::Medium,
        live: false,
        rationale: "The pprof endpoints reveal the scheduler's internals and can be used to load \
            it; production schedulers should not serve them.",
        remediation: "With --config: set enableProfiling: false in the KubeSchedulerConfiguration \
            file. Without --config: add --profiling=false.",
        references: &[GUIDE, "CIS Kubernetes Benchmark 1.4.1"],
        run: Run::Scheduler(profiling::profiling_disabled),
    },
    Check {
        id: "SG-202",
        title: "Contention profiling is disabled",
        severity: Severity::Low,
        live: false,
        rationale: "Contention profiling records every blocking event, which costs CPU, and its \
            data is served on the profiling endpoints.",
        remediation: "With --config: set enableContentionProfiling: false (or enableProfiling: \
            false). Without --config: add --contention-profiling=false.",
        references: &[],
        run: Run::Scheduler(profiling::contention_profiling_disabled),
    },
    Check {
        id: "SG-203",
        title: "No ignored security flags",
        severity: Severity::Low,
        live: false,
        rationale: "When --config is given, deprecated flags such as --profiling are ignored: a \
            command line that looks hardened may not be.",
        remediation: "Move the setting into the --config file (the field named in the finding) \
            and remove the ignored flag from the command line.",
        references: &[],
        run: Run::Scheduler(profiling::no_ignored_flags),
    },
    Check {
        id: "SG-301",
        title: "Secure port binds to loopback",
        severity: Severity::High,
        live: false,
        rationale: "The scheduler needs no callers from other hosts; binding to all interfaces \
            exposes its endpoints to the network.",
        remediation: "Set --bind-address=127.0.0.1 on the kube-scheduler command line.",
        references: &[
            GUIDE,
            "CIS Kubernetes Benchmark 1.4.2",
            "DISA STIG V-242384",
        ],
        run: Run::Scheduler(serving::bind_address_loopback),
    },
    Check {
        id: "SG-302",
        title: "Listening sockets are loopback-only",
        severity: Severity::High,
        live: true,
        rationale: "A flag says what was meant; the socket says what the process does. Every \
            listener of the scheduler should be on a loopback address.",
        remediation:
            "Set --bind-address=127.0.0.1 and turn off the legacy insecure port (--port=0 \
            or, with --config, healthzBindAddress and metricsBindAddress set to empty).",
        references: &[GUIDE],
        run: Run::Scheduler(endpoints::listeners_loopback),
    },
    Check {
        id: "SG-303",
        title: "No legacy insecure port",
        severity: Severity::Critical,
        live: false,
        rationale: "Up to 1.22 the scheduler serves /metrics, /configz and pprof over plain HTTP \
            on port 10251 with no authentication at all, unless it is turned off.",
        remediation: "Upgrade to 1.23 or newer, where insecure serving is gone. Until then: \
            without --config, add --port=0; with --config (v1beta1/v1beta2) --port is ignored and \
            the file cannot turn the port off (an empty healthzBindAddress or metricsBindAddress \
            means 0.0.0.0:10251 and port 0 is rejected), so set both to 127.0.0.1:10251 to keep \
            it on loopback.",
        references: &["CIS Kubernetes Benchmark (1.22 and older)"],
        run: Run::Scheduler(serving::no_insecure_port),
    },
    Check {
        id: "SG-304",
        title: "Address sharing is off",
        severity: Severity::Low,
        live: false,
        rationale: "--permit-address-sharing sets SO_REUSEADDR on the listener, which lets a \
            socket bind over connections still in TIME_WAIT.",
        remediation: "Remove --permit-address-sharing from the command line (or set it to false).",
        references: &[GUIDE],
        run: Run::Scheduler(serving::address_sharing_off),
    },
    Check {
        id: "SG-305",
        title: "Port sharing is off",
        severity: Severity::High,
        live: false,
        rationale: "With SO_REUSEPORT on the listener, another process of the same user can bind \
            the same port and receive part of the scheduler's connections.",
        remediation: "Remove --permit-port-sharing from the command line (or set it to false).",
        references: &[GUIDE],
        run: Run::Scheduler(serving::port_sharing_off),
    },
    Check {
        id: "SG-401",
        title: "TLS cipher suites are explicit",
        severity: Severity::Medium,
        live: false,
        rationale: "Without --tls-cipher-suites the scheduler accepts whatever its Go release \
            accepts by default, which for older releases includes weak suites.",
        remediation: "Set --tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,\
            TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,\
            TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,\
            TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        references: &[GUIDE],
        run: Run::Scheduler(tls::cipher_suites_explicit),
    },
    Check {
        id: "SG-402",
        title: "No insecure TLS cipher suites",
        severity: Severity::High,
        live: false,
        rationale: "RC4, 3DES, RSA key exchange and CBC-SHA256 suites are broken or lack forward \
            secrecy; Go lists them as insecure.",
        remediation: "Remove the insecure suites named in the finding from --tls-cipher-suites.",
        references: &[GUIDE],
        run: Run::Scheduler(tls::no_insecure_suites),
    },
    Check {
        id: "SG-403",
        title: "TLS 1.2 or newer",
        severity: Severity::Medium,
        live: false,
        rationale: "TLS 1.0 and 1.1 are deprecated (RFC 8996).",
        remediation: "Set --tls-min-version=VersionTLS12 (or VersionTLS13), or remove the flag.",
        references: &["DISA STIG V-242377"],
        run: Run::Scheduler(tls::min_version),
    },
    Check {
        id: "SG-404",
        title: "Serving certificate is provisioned",
        severity: Severity::Low,
        live: false,
        rationale: "Without --tls-cert-file and --tls-private-key-file the scheduler serves a \
            self-signed certificate made at start, which no client can verify.",
        remediation: "Set --tls-cert-file and --tls-private-key-file to a certificate signed by \
            the cluster CA; chmod 600 the key and chown it to root:root.",
        references: &[],
        run: Run::Scheduler(files::serving_certificate),
    },
    Check {
        id: "SG-501",
        title: "pprof is not reachable anonymously",
        severity: Severity::Critical,
        live: true,
        rationale: "Anonymous access to /debug/pprof/ lets anyone who can reach the port read \
            heap and goroutine dumps and load the scheduler with CPU profiles.",
        remediation: "Turn profiling off (enableProfiling: false) and keep /debug out of \
            --authorization-always-allow-paths; turn off the legacy insecure port.",
        references: &[GUIDE],
        run: Run::Scheduler(endpoints::pprof_refused),
    },
    Check {
        id: "SG-502",
        title: "Configuration is not readable anonymously",
        severity: Severity::High,
        live: true,
        rationale: "/configz shows the scheduler's whole configuration, kubeconfig paths included.",
        remediation: "Remove /configz from --authorization-always-allow-paths, configure \
            --authorization-kubeconfig and turn off the legacy insecure port.",
        references: &[],
        run: Run::Scheduler(endpoints::configz_refused),
    },
    Check {
        id: "SG-503",
        title: "Debug and metrics endpoints need authorization",
        severity: Severity::Medium,
        live: true,
        rationale: "/metrics, /flagz, /statusz and /debug/flags/v describe the scheduler and the \
            cluster; they should answer only authorized callers.",
        remediation: "Keep these paths out of --authorization-always-allow-paths, configure \
            --authorization-kubeconfig and turn off the legacy insecure port.",
        references: &[],
        run: Run::Scheduler(endpoints::debug_refused),
    },
    Check {
        id: "SG-504",
        title: "Secure port is not reachable off-host",
        severity: Severity::High,
        live: true,
        rationale: "A secure port that accepts connections on the host's other addresses is \
            exposed to the network whatever its flags say.",
        remediation: "Set --bind-address=127.0.0.1.",
        references: &[GUIDE],
        run: Run::Scheduler(endpoints::not_reachable_off_host),
    },
    Check {
        id: "SG-601",
        title: "One queueSort plugin",
        severity: Severity::Medium,
        live: false,
        rationale: "Only one queueSort plugin can order the scheduling queue, and every profile \
            must use the same one.",
        remediation:
            "In every profile, leave exactly one plugin at plugins.queueSort (the default \
            PrioritySort unless a reviewed replacement is needed), the same in all profiles.",
        references: &[GUIDE],
        run: Run::Scheduler(plugins::one_queue_sort),
    },
    Check {
        id: "SG-602",
        title: "Non-default plugins at sensitive extension points",
        severity: Severity::Medium,
        live: false,
        rationale: "queueSort, preFilter, filter and permit plugins decide whether and when pods \
            are scheduled at all: a faulty one can stop scheduling or delay binding.",
        remediation: "Review each plugin named in the finding; disable it in \
            profiles[].plugins.<extension point>.disabled if it is not needed.",
        references: &[GUIDE],
        run: Run::Scheduler(plugins::non_default_plugins),
    },
    Check {
        id: "SG-603",
        title: "Filtering is not disabled",
        severity: Severity::Medium,
        live: false,
        rationale: "A profile with no filter plugin places pods on any node, ignoring taints, \
            node affinity and resource limits.",
        remediation: "Re-enable the default filter plugins in the profile named in the finding \
            (remove the \"*\" entry from plugins.filter.disabled).",
        references: &[GUIDE],
        run: Run::Scheduler(plugins::filter_not_disabled),
    },
    Check {
        id: "SG-604",
        title: "Scheduler extenders are safe",
        severity: Severity::High,
        live: false,
        rationale: "An extender sees every pod and node and can veto placements; plain HTTP or \
            unverified TLS lets anyone on the path do the same, and a non-ignorable filter \
            extender that is down stops scheduling.",
        remediation: "For each extender: enableHTTPS: true, tlsConfig.insecure: false with a \
            caFile; set ignorable: true unless its filter is essential.",
        references: &[],
        run: Run::Scheduler(plugins::extenders_safe),
    },
    Check {
        id: "SG-605",
        title: "Scheduler config file is protected",
        severity: Severity::High,
        live: false,
        rationale: "Whoever can change the --config file can turn profiling on, add plugins or \
            extenders, and change the scheduler's credentials at its next start.",
        remediation: "chmod 600 (or 644) the --config file, chown it to root:root, and make no \
            directory above it writable by group or others.",
        references: &[],
        run: Run::Scheduler(files::config_protected),
    },
    Check {
        id: "SG-701",
        title: "Kubelets cannot relabel their nodes",
        severity: Severity::High,
        live: false,
        rationale: "Without the NodeRestriction admission plugin a kubelet may set any label on \
            its Node, and so attract pods that select nodes by label.",
        remediation: "Add NodeRestriction to kube-apiserver's --enable-admission-plugins and keep \
            it out of --disable-admission-plugins.",
        references: &[GUIDE, "CIS Kubernetes Benchmark 1.2.14"],
        run: Run::ApiServer(apiserver::node_restriction),
    },
    Check {
        id: "SG-702",
        title: "Node authorizer is on",
        severity: Severity::High,
        live: false,
        rationale: "The Node authorizer limits each kubelet to the objects of its own node; \
            NodeRestriction relies on it.",
        remediation: "Set kube-apiserver's --authorization-mode to include Node, e.g. \
            --authorization-mode=Node,RBAC.",
        references: &[GUIDE],
        run: Run::ApiServer(apiserver::node_authorizer),
    },
    Check {
        id: "SG-703",
        title: "Only node and control-plane identities can change Node objects",
        severity: Severity::High,
        live: false,
        rationale: "Whoever can update or patch a Node (or its status subresource, which can \
            change labels too) can label it and attract workloads to it with a nodeSelector.",
        remediation: "Remove update and patch on nodes and nodes/status from the roles named in \
            the finding, or remove the bindings that grant them to those subjects. If a subject \
            must change Nodes (a cloud controller manager, a network agent), declare it with \
            --allow-node-writer KIND:NAME.",
        references: &[GUIDE],
        run: Run::Cluster(node_writers::only_node_identities),
    },
    Check {
        id: "SG-704",
        title: "No pod waits for a scheduler that does not exist",
        severity: Severity::Medium,
        live: false,
        rationale: "A pod whose spec.schedulerName no scheduler serves stays Pending with no \
            events at all.",
        remediation: "Fix the pod's spec.schedulerName, or run (or declare with \
            --known-scheduler) the scheduler it names.",
        references: &[GUIDE],
        run: Run::Cluster(scheduler_names::no_pod_waits_for_missing_scheduler),
    },
    Check {
        id: "SG-801",
        title: "Static pod manifest is private",
        severity: Severity::Medium,
        live: false,
        rationale: "Whoever can change the static pod manifest changes the scheduler's command \
            line at the kubelet's next sync.",
        remediation: "chmod 600 the manifest and chown it to root:root.",
        references: &[
            "CIS Kubernetes Benchmark 1.1.5",
            "CIS Kubernetes Benchmark 1.1.6",
        ],
        run: Run::Scheduler(files::manifest_private),
    },
];

/// Looks a check up by ID, case-insensitively.
pub fn find(id: &str) -> Option<&'static Check> {
    CATALOGUE.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}
