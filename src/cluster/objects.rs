//! The API objects cluster mode reads, decoded from the API server's
//! protobuf encoding (`k8s\0` + `runtime.Unknown`) into the facts' types.
//! Field numbers are those of `k8s.io/api` and `k8s.io/apimachinery`'s
//! `generated.proto`; only the fields the checks need are kept.

use crate::cluster::protobuf::{fields, map_entry, Field, WireError};
use crate::facts::UnscheduledPod;
use crate::k8s::rbac::{
    Binding, ClusterRole, LabelSelector, LabelSelectorRequirement, PolicyRule, Role, RoleRef,
    Subject,
};
use std::collections::BTreeMap;

/// The prefix of every protobuf answer.
const MAGIC: &[u8] = b"k8s\0";

/// Why an answer could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the answer does not start with the Kubernetes protobuf prefix")]
    NotProtobuf,
    #[error("the answer is a {found}, expected a {expected}")]
    WrongKind { expected: String, found: String },
    #[error("the answer uses content encoding {0:?}, which schedguard does not read")]
    Encoding(String),
    #[error("malformed protobuf in {what}: {error}")]
    Wire {
        what: &'static str,
        error: WireError,
    },
}

fn wire(what: &'static str) -> impl Fn(WireError) -> DecodeError {
    move |error| DecodeError::Wire { what, error }
}

/// One page of a list: its items and the continue token, if more follow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub continue_token: Option<String>,
}

/// The object inside the envelope: its kind and its encoded bytes.
pub fn unwrap(answer: &[u8]) -> Result<(String, &[u8]), DecodeError> {
    let message = answer.strip_prefix(MAGIC).ok_or(DecodeError::NotProtobuf)?;
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for field in fields(message) {
        let field = field.map_err(wire("the envelope"))?;
        match field.number {
            1 => {
                for meta in fields(field.bytes().map_err(wire("typeMeta"))?) {
                    let meta = meta.map_err(wire("typeMeta"))?;
                    if meta.number == 2 {
                        kind = meta.string().map_err(wire("typeMeta.kind"))?;
                    }
                }
            }
            2 => raw = field.bytes().map_err(wire("the envelope"))?,
            3 => {
                let encoding = field.string().map_err(wire("contentEncoding"))?;
                if !encoding.is_empty() {
                    return Err(DecodeError::Encoding(encoding));
                }
            }
            _ => {}
        }
    }
    Ok((kind, raw))
}

/// A `metav1.Status` answer's `message` and `reason`, if the answer is one.
pub fn status(answer: &[u8]) -> Option<(String, String)> {
    let (kind, raw) = unwrap(answer).ok()?;
    if kind != "Status" {
        return None;
    }
    let (mut message, mut reason) = (String::new(), String::new());
    for field in fields(raw) {
        let field = field.ok()?;
        match field.number {
            3 => message = field.string().ok()?,
            4 => reason = field.string().ok()?,
            _ => {}
        }
    }
    Some((message, reason))
}

/// Decodes a list answer of `kind` (`PodList`...) with `item` for each entry.
fn list<T>(
    answer: &[u8],
    kind: &str,
    item: fn(&[u8]) -> Result<T, WireError>,
) -> Result<Page<T>, DecodeError> {
    let (found, raw) = unwrap(answer)?;
    if found != kind {
        return Err(DecodeError::WrongKind {
            expected: kind.to_string(),
            found,
        });
    }
    let mut page = Page {
        items: Vec::new(),
        continue_token: None,
    };
    for field in fields(raw) {
        let field = field.map_err(wire("the list"))?;
        match field.number {
            1 => {
                for meta in fields(field.bytes().map_err(wire("the list metadata"))?) {
                    let meta = meta.map_err(wire("the list metadata"))?;
                    if meta.number == 3 {
                        let token = meta.string().map_err(wire("metadata.continue"))?;
                        page.continue_token = Some(token).filter(|t| !t.is_empty());
                    }
                }
            }
            2 => {
                let bytes = field.bytes().map_err(wire("an item"))?;
                page.items.push(item(bytes).map_err(wire("an item"))?);
            }
            _ => {}
        }
    }
    Ok(page)
}

pub fn cluster_roles(answer: &[u8]) -> Result<Page<ClusterRole>, DecodeError> {
    list(answer, "ClusterRoleList", cluster_role)
}

pub fn cluster_role_bindings(answer: &[u8]) -> Result<Page<Binding>, DecodeError> {
    list(answer, "ClusterRoleBindingList", binding)
}

pub fn roles(answer: &[u8]) -> Result<Page<Role>, DecodeError> {
    list(answer, "RoleList", role)
}

pub fn role_bindings(answer: &[u8]) -> Result<Page<Binding>, DecodeError> {
    list(answer, "RoleBindingList", binding)
}

/// Pods, each with its `spec.nodeName` (empty when no node is assigned).
pub fn pods(answer: &[u8]) -> Result<Page<(UnscheduledPod, String)>, DecodeError> {
    list(answer, "PodList", pod)
}

/// The parts of `ObjectMeta` the checks use.
#[derive(Default)]
struct Meta {
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
    /// `creationTimestamp.seconds`.
    created: Option<i64>,
    deleting: bool,
}

/// A `metav1.Time`'s seconds; `None` when the message carries none.
fn seconds(time: &[u8]) -> Result<Option<i64>, WireError> {
    for field in fields(time) {
        let field = field?;
        if field.number == 1 {
            return Ok(Some(field.int64()?));
        }
    }
    Ok(None)
}

fn meta(bytes: &[u8]) -> Result<Meta, WireError> {
    let mut meta = Meta::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => meta.name = field.string()?,
            3 => meta.namespace = field.string()?,
            8 => meta.created = seconds(field.bytes()?)?,
            9 => meta.deleting = true,
            11 => {
                let (k, v) = map_entry(field.bytes()?)?;
                meta.labels.insert(k, v);
            }
            _ => {}
        }
    }
    Ok(meta)
}

fn strings(field: &Field, into: &mut Vec<String>) -> Result<(), WireError> {
    into.push(field.string()?);
    Ok(())
}

fn rule(bytes: &[u8]) -> Result<PolicyRule, WireError> {
    let mut rule = PolicyRule::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => strings(&field, &mut rule.verbs)?,
            2 => strings(&field, &mut rule.api_groups)?,
            3 => strings(&field, &mut rule.resources)?,
            4 => strings(&field, &mut rule.resource_names)?,
            5 => strings(&field, &mut rule.non_resource_urls)?,
            _ => {}
        }
    }
    Ok(rule)
}

fn requirement(bytes: &[u8]) -> Result<LabelSelectorRequirement, WireError> {
    let mut r = LabelSelectorRequirement::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => r.key = field.string()?,
            2 => r.operator = field.string()?,
            3 => strings(&field, &mut r.values)?,
            _ => {}
        }
    }
    Ok(r)
}

fn selector(bytes: &[u8]) -> Result<LabelSelector, WireError> {
    let mut s = LabelSelector::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => {
                let (k, v) = map_entry(field.bytes()?)?;
                s.match_labels.insert(k, v);
            }
            2 => s.match_expressions.push(requirement(field.bytes()?)?),
            _ => {}
        }
    }
    Ok(s)
}

fn cluster_role(bytes: &[u8]) -> Result<ClusterRole, WireError> {
    let mut role = ClusterRole::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => {
                let m = meta(field.bytes()?)?;
                role.name = m.name;
                role.labels = m.labels;
            }
            2 => role.rules.push(rule(field.bytes()?)?),
            3 => {
                let mut selectors = Vec::new();
                for inner in fields(field.bytes()?) {
                    let inner = inner?;
                    if inner.number == 1 {
                        selectors.push(selector(inner.bytes()?)?);
                    }
                }
                role.aggregation_selectors = Some(selectors);
            }
            _ => {}
        }
    }
    Ok(role)
}

fn role(bytes: &[u8]) -> Result<Role, WireError> {
    let mut role = Role::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => {
                let m = meta(field.bytes()?)?;
                role.name = m.name;
                role.namespace = m.namespace;
            }
            2 => role.rules.push(rule(field.bytes()?)?),
            _ => {}
        }
    }
    Ok(role)
}

fn subject(bytes: &[u8]) -> Result<Subject, WireError> {
    let mut s = Subject::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => s.kind = field.string()?,
            3 => s.name = field.string()?,
            4 => s.namespace = field.string()?,
            _ => {}
        }
    }
    Ok(s)
}

fn role_ref(bytes: &[u8]) -> Result<RoleRef, WireError> {
    let mut r = RoleRef::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            2 => r.kind = field.string()?,
            3 => r.name = field.string()?,
            _ => {}
        }
    }
    Ok(r)
}

/// A ClusterRoleBinding or RoleBinding (same field numbers).
fn binding(bytes: &[u8]) -> Result<Binding, WireError> {
    let mut b = Binding::default();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => {
                let m = meta(field.bytes()?)?;
                b.name = m.name;
                b.namespace = m.namespace;
            }
            2 => b.subjects.push(subject(field.bytes()?)?),
            3 => b.role_ref = role_ref(field.bytes()?)?,
            _ => {}
        }
    }
    Ok(b)
}

fn pod(bytes: &[u8]) -> Result<(UnscheduledPod, String), WireError> {
    let mut pod = UnscheduledPod::default();
    let mut node = String::new();
    for field in fields(bytes) {
        let field = field?;
        match field.number {
            1 => {
                let m = meta(field.bytes()?)?;
                pod.name = m.name;
                pod.namespace = m.namespace;
                pod.deleting = m.deleting;
                pod.created = m
                    .created
                    .and_then(|s| u64::try_from(s).ok())
                    .map(crate::time::rfc3339);
            }
            2 => {
                for spec in fields(field.bytes()?) {
                    let spec = spec?;
                    match spec.number {
                        10 => node = spec.string()?,
                        19 => pod.scheduler_name = spec.string()?,
                        _ => {}
                    }
                }
            }
            3 => {
                for status in fields(field.bytes()?) {
                    let status = status?;
                    if status.number == 1 {
                        pod.phase = status.string()?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok((pod, node))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::protobuf::tests::{bytes_field as b, varint_field as v};

    fn envelope(kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut type_meta = b(1, b"v1");
        type_meta.extend(b(2, kind.as_bytes()));
        let mut out = MAGIC.to_vec();
        out.extend(b(1, &type_meta));
        out.extend(b(2, raw));
        out
    }

    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    fn meta(name: &str, namespace: &str, labels: &[(&str, &str)]) -> Vec<u8> {
        let mut m = b(1, name.as_bytes());
        if !namespace.is_empty() {
            m.extend(b(3, namespace.as_bytes()));
        }
        for (k, val) in labels {
            m.extend(b(11, &cat(&[b(1, k.as_bytes()), b(2, val.as_bytes())])));
        }
        m
    }

    #[test]
    fn cluster_roles_keep_rules_labels_and_selectors() {
        let rule = cat(&[b(1, b"patch"), b(2, b""), b(3, b"nodes"), b(4, b"worker-1")]);
        let requirement = cat(&[b(1, b"tier"), b(2, b"In"), b(3, b"ops")]);
        let selector = cat(&[
            b(1, &cat(&[b(1, b"agg"), b(2, b"true")])),
            b(2, &requirement),
        ]);
        let role = cat(&[
            b(1, &meta("labeler", "", &[("agg", "true")])),
            b(2, &rule),
            b(3, &b(1, &selector)),
        ]);
        let list = cat(&[b(1, &b(3, b"next-page")), b(2, &role)]);
        let page = cluster_roles(&envelope("ClusterRoleList", &list)).unwrap();
        assert_eq!(page.continue_token.as_deref(), Some("next-page"));
        let role = &page.items[0];
        assert_eq!(role.name, "labeler");
        assert_eq!(role.labels["agg"], "true");
        assert_eq!(role.rules[0].verbs, vec!["patch"]);
        assert_eq!(role.rules[0].api_groups, vec![""]);
        assert_eq!(role.rules[0].resource_names, vec!["worker-1"]);
        let selectors = role.aggregation_selectors.as_ref().unwrap();
        assert_eq!(selectors[0].match_labels["agg"], "true");
        assert_eq!(selectors[0].match_expressions[0].values, vec!["ops"]);
    }

    #[test]
    fn an_empty_aggregation_rule_is_kept_apart_from_none() {
        let role = cat(&[b(1, &meta("a", "", &[])), b(3, &[])]);
        let page = cluster_roles(&envelope("ClusterRoleList", &b(2, &role))).unwrap();
        assert_eq!(page.items[0].aggregation_selectors, Some(vec![]));
        assert_eq!(page.continue_token, None);
    }

    #[test]
    fn bindings_keep_subjects_and_role_refs() {
        let subject = cat(&[b(1, b"ServiceAccount"), b(3, b"deployer"), b(4, b"ci")]);
        let role_ref = cat(&[
            b(1, b"rbac.authorization.k8s.io"),
            b(2, b"Role"),
            b(3, b"r"),
        ]);
        let binding = cat(&[
            b(1, &meta("bind", "ci", &[])),
            b(2, &subject),
            b(3, &role_ref),
        ]);
        let page = role_bindings(&envelope("RoleBindingList", &b(2, &binding))).unwrap();
        let got = &page.items[0];
        assert_eq!((got.namespace.as_str(), got.name.as_str()), ("ci", "bind"));
        assert_eq!(got.subjects[0], Subject::service_account("ci", "deployer"));
        assert_eq!(
            (got.role_ref.kind.as_str(), got.role_ref.name.as_str()),
            ("Role", "r")
        );
    }

    #[test]
    fn pods_keep_scheduler_phase_and_age() {
        let mut m = meta("web", "shop", &[]);
        m.extend(b(8, &v(1, 1_796_332_831)));
        let spec = cat(&[b(10, b"worker-1"), b(19, b"gone-scheduler")]);
        let pod = cat(&[b(1, &m), b(2, &spec), b(3, &b(1, b"Pending"))]);
        let page = pods(&envelope("PodList", &b(2, &pod))).unwrap();
        let (p, node) = &page.items[0];
        assert_eq!(node, "worker-1");
        assert_eq!(p.scheduler_name, "gone-scheduler");
        assert_eq!(p.phase, "Pending");
        assert_eq!(p.created.as_deref(), Some("2026-12-03T21:20:31Z"));
        assert!(!p.deleting);
    }

    #[test]
    fn status_answers_give_their_message() {
        let raw = cat(&[
            b(2, b"Failure"),
            b(3, b"pods is forbidden"),
            b(4, b"Forbidden"),
            v(6, 403),
        ]);
        assert_eq!(
            status(&envelope("Status", &raw)),
            Some(("pods is forbidden".into(), "Forbidden".into()))
        );
        assert_eq!(status(b"{\"kind\":\"Status\"}"), None);
    }

    #[test]
    fn wrong_kinds_json_and_garbage_are_errors() {
        assert!(matches!(
            pods(&envelope("ClusterRoleList", &[])),
            Err(DecodeError::WrongKind { .. })
        ));
        assert_eq!(pods(b"{\"items\":[]}"), Err(DecodeError::NotProtobuf));
        let mut broken = envelope("PodList", &b(2, &[0x0a, 0x05, 0x01]));
        assert!(matches!(pods(&broken), Err(DecodeError::Wire { .. })));
        broken = MAGIC.to_vec();
        broken.extend(b(3, b"gzip"));
        assert_eq!(pods(&broken), Err(DecodeError::Encoding("gzip".into())));
    }
}
