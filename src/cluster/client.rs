//! The API server client of cluster mode: HTTPS GETs only, TLS always
//! verified, each request bounded by a timeout and all of them by a
//! deadline, answers read with a size limit, lists read page by page
//! (`limit`/`continue`, with client-go's recovery from an expired continue
//! token). Errors say what was asked, what failed and what to do.

use crate::cluster::kubeconfig::Credentials;
use crate::cluster::objects::{self, DecodeError, Page};
use std::future::Future;
use std::time::{Duration, Instant};

/// The media type asked for: the API server's own protobuf encoding, which
/// the control-plane components use too.
///
/// Limitation: only protobuf answers are read; a server or proxy that
/// answers list requests in another encoding gives a decode error.
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";
/// The largest answer read (a page, or a whole list after a restart).
const MAX_ANSWER: usize = 256 << 20;
/// The most of an error answer read.
const MAX_ERROR_ANSWER: usize = 64 << 10;
/// A list that needs more pages than this is refused.
const MAX_PAGES: u32 = 100_000;

/// A resource listed across all namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// A field selector the server applies, such as `spec.nodeName=`.
    pub field_selector: Option<&'static str>,
}

pub const CLUSTER_ROLES: Resource = Resource {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    plural: "clusterroles",
    field_selector: None,
};
pub const CLUSTER_ROLE_BINDINGS: Resource = Resource {
    plural: "clusterrolebindings",
    ..CLUSTER_ROLES
};
pub const ROLES: Resource = Resource {
    plural: "roles",
    ..CLUSTER_ROLES
};
pub const ROLE_BINDINGS: Resource = Resource {
    plural: "rolebindings",
    ..CLUSTER_ROLES
};
/// Pods no node is assigned to.
pub const UNSCHEDULED_PODS: Resource = Resource {
    group: "",
    version: "v1",
    plural: "pods",
    field_selector: Some("spec.nodeName="),
};

impl Resource {
    /// `pods`, `clusterroles.rbac.authorization.k8s.io`: the name RBAC
    /// rules and the API server's errors use.
    pub fn name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}/{}", self.version, self.plural)
        } else {
            format!("/apis/{}/{}/{}", self.group, self.version, self.plural)
        }
    }

    /// `list pods at the cluster scope`: the permission a list needs.
    pub fn permission(&self) -> String {
        format!("list {} at the cluster scope", self.name())
    }
}

/// Why a request failed. Messages name the request and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot {what}: cannot connect to {server}: {reason}{hint}")]
    Connect {
        what: String,
        server: String,
        reason: String,
        hint: &'static str,
    },
    #[error("cannot {what}: {server} did not answer within {:.1}s", after.as_secs_f64())]
    Timeout {
        what: String,
        server: String,
        after: Duration,
    },
    #[error(
        "cannot {what}: the time allowed for all cluster reads ({:.1}s, --cluster-timeout) ran out",
        total.as_secs_f64()
    )]
    Deadline { what: String, total: Duration },
    #[error(
        "cannot {what}: the API server did not accept the kubeconfig's credentials (401 \
         Unauthorized): the client certificate or token is wrong, expired or from another cluster"
    )]
    Unauthorized { what: String },
    #[error(
        "cannot {what}: 403 Forbidden ({message}); bind the identity to a ClusterRole that \
         grants it, such as packaging/kubernetes/schedguard-reader.yaml"
    )]
    Forbidden { what: String, message: String },
    #[error("cannot {what}: the continue token expired (410 Gone: {message})")]
    Expired { what: String, message: String },
    #[error("cannot {what}: the API server answered {code}: {message}")]
    Status {
        what: String,
        code: u16,
        message: String,
    },
    #[error("cannot {what}: the connection to the API server broke: {reason}")]
    Interrupted { what: String, reason: String },
    #[error("cannot {what}: the answer is larger than {limit} bytes; refusing it")]
    TooLarge { what: String, limit: usize },
    #[error("cannot {what}: {reason}")]
    Decode { what: String, reason: String },
    #[error("cannot {what}: {reason}")]
    Pagination { what: String, reason: String },
}

impl ApiError {
    /// True when the server cannot be reached (or went away, or refuses
    /// the credentials): every other request would fail the same way, and
    /// perhaps only after the same wait, so none is tried.
    pub fn is_transport(&self) -> bool {
        matches!(
            self,
            ApiError::Connect { .. }
                | ApiError::Timeout { .. }
                | ApiError::Deadline { .. }
                | ApiError::Unauthorized { .. }
                | ApiError::Interrupted { .. }
        )
    }
}

/// Time and size limits of a run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Each request, from connecting to the last byte of the answer.
    pub request: Duration,
    /// When every request of the run must be over.
    pub deadline: Instant,
    /// How long the whole run may take (for messages).
    pub total: Duration,
    /// Objects per page.
    pub page_size: u32,
}

/// A list read to the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub pages: u32,
    /// True when a continue token expired and the list was read again.
    pub restarted: bool,
}

/// An HTTPS client for one API server.
pub struct Client {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
    limits: Limits,
}

/// An error chain in one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

impl Client {
    /// Builds the client from a kubeconfig's credentials. Never follows
    /// redirects, never uses a proxy from the environment, never speaks
    /// plain HTTP.
    pub fn new(credentials: &Credentials, limits: Limits) -> Result<Client, String> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(limits.request.min(Duration::from_secs(10)))
            .user_agent(concat!("schedguard/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &credentials.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| format!("the kubeconfig's certificate authority: {}", chain(&e)))?;
            if certs.is_empty() {
                return Err("the kubeconfig's certificate authority holds no certificate".into());
            }
            builder = builder.tls_certs_only(certs);
        }
        if let Some(pem) = &credentials.identity_pem {
            let identity = reqwest::Identity::from_pem(pem).map_err(|e| {
                format!(
                    "the kubeconfig's client certificate and key cannot be used: {}",
                    chain(&e)
                )
            })?;
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {}", chain(&e)))?;
        Ok(Client {
            http,
            server: credentials.server.trim_end_matches('/').to_string(),
            token: credentials.token.clone(),
            limits,
        })
    }

    /// GETs a path; the answer's body when the status is 200.
    async fn get(&self, path: &str, accept: &str, what: &str) -> Result<Vec<u8>, ApiError> {
        let left = self
            .limits
            .deadline
            .saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ApiError::Deadline {
                what: what.into(),
                total: self.limits.total,
            });
        }
        let timeout = self.limits.request.min(left);
        let mut request = self
            .http
            .get(format!("{}{path}", self.server))
            .header("Accept", accept)
            .timeout(timeout);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }

        let transport = |e: reqwest::Error| self.transport_error(&e, what, timeout);
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let limit = if status == 200 {
            MAX_ANSWER
        } else {
            MAX_ERROR_ANSWER
        };
        let mut body = Vec::new();
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Err(transport(e)),
                Err(e) => {
                    return Err(ApiError::Interrupted {
                        what: what.into(),
                        reason: chain(&e),
                    })
                }
            };
            if body.len() + chunk.len() > limit {
                if status != 200 {
                    break;
                }
                return Err(ApiError::TooLarge {
                    what: what.into(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if status == 200 {
            return Ok(body);
        }

        let message = error_message(&body);
        let what = what.to_string();
        Err(match status {
            401 => ApiError::Unauthorized { what },
            403 => ApiError::Forbidden { what, message },
            410 => ApiError::Expired { what, message },
            code => ApiError::Status {
                what,
                code,
                message,
            },
        })
    }

    fn transport_error(&self, e: &reqwest::Error, what: &str, timeout: Duration) -> ApiError {
        if e.is_timeout() {
            return ApiError::Timeout {
                what: what.into(),
                server: self.server.clone(),
                after: timeout,
            };
        }
        let reason = chain(e);
        if !e.is_connect() {
            return ApiError::Interrupted {
                what: what.into(),
                reason,
            };
        }
        let hint = if reason.contains("certificate") {
            " (the server's certificate does not verify against the kubeconfig's \
             certificate-authority, or its names do not include the server's host)"
        } else {
            ""
        };
        ApiError::Connect {
            what: what.into(),
            server: self.server.clone(),
            reason,
            hint,
        }
    }

    /// The API server's `gitVersion` (`GET /version`, which every caller
    /// may read).
    pub async fn version(&self) -> Result<String, ApiError> {
        let what = "get /version";
        let body = self.get("/version", "application/json", what).await?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| ApiError::Decode {
                what: what.into(),
                reason: format!("the answer is not JSON: {e}"),
            })?;
        Ok(value["gitVersion"]
            .as_str()
            .unwrap_or("unknown")
            .to_string())
    }

    /// One page of a list. `limit` `None` asks for everything at once.
    async fn page<T>(
        &self,
        resource: &Resource,
        decode: fn(&[u8]) -> Result<Page<T>, DecodeError>,
        continue_token: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<T>, ApiError> {
        let mut query: Vec<String> = Vec::new();
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(token) = continue_token {
            query.push(format!("continue={}", percent_encode(token)));
        }
        if let Some(selector) = resource.field_selector {
            query.push(format!("fieldSelector={}", percent_encode(selector)));
        }
        let path = if query.is_empty() {
            resource.path()
        } else {
            format!("{}?{}", resource.path(), query.join("&"))
        };
        let what = resource.permission();
        let body = self.get(&path, PROTOBUF, &what).await?;
        decode(&body).map_err(|e| ApiError::Decode {
            what,
            reason: e.to_string(),
        })
    }

    /// Lists a resource in every namespace, page by page.
    pub async fn list<T>(
        &self,
        resource: &Resource,
        decode: fn(&[u8]) -> Result<Page<T>, DecodeError>,
    ) -> Result<Listing<T>, ApiError> {
        paginate(resource, self.limits.page_size, |token, limit| async move {
            self.page(resource, decode, token.as_deref(), limit).await
        })
        .await
    }
}

/// Reads every page that `fetch` gives (`fetch(continue, limit)`). When a
/// continue token expires (410 Gone: the snapshot it pointed at was
/// compacted), the list is read again in one request without a limit, as
/// client-go's pager does: a paginated restart could expire again.
pub async fn paginate<T, F, Fut>(
    resource: &Resource,
    page_size: u32,
    mut fetch: F,
) -> Result<Listing<T>, ApiError>
where
    F: FnMut(Option<String>, Option<u32>) -> Fut,
    Fut: Future<Output = Result<Page<T>, ApiError>>,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        if pages >= MAX_PAGES {
            return Err(ApiError::Pagination {
                what: resource.permission(),
                reason: format!("the list did not end after {MAX_PAGES} pages"),
            });
        }
        pages += 1;
        match fetch(token.clone(), Some(page_size.max(1))).await {
            Ok(page) => {
                items.extend(page.items);
                match page.continue_token {
                    None => {
                        return Ok(Listing {
                            items,
                            pages,
                            restarted: false,
                        })
                    }
                    Some(next) if Some(&next) == token.as_ref() => {
                        return Err(ApiError::Pagination {
                            what: resource.permission(),
                            reason: "the API server gave the same continue token twice".into(),
                        })
                    }
                    Some(next) => token = Some(next),
                }
            }
            Err(ApiError::Expired { .. }) if token.is_some() => {
                let page = fetch(None, None).await?;
                if page.continue_token.is_some() {
                    return Err(ApiError::Pagination {
                        what: resource.permission(),
                        reason: "the list was read again after its continue token expired, \
                                 and the server still sent it in pages"
                            .into(),
                    });
                }
                return Ok(Listing {
                    items: page.items,
                    pages: pages + 1,
                    restarted: true,
                });
            }
            Err(e) => return Err(e),
        }
    }
}

/// The message of an error answer: a protobuf or JSON `Status`, or the
/// start of whatever text came.
fn error_message(body: &[u8]) -> String {
    if let Some((message, _)) = objects::status(body) {
        return message;
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(message) = value["message"].as_str() {
            return message.to_string();
        }
    }
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if text.trim().is_empty() {
        "no message".into()
    } else {
        text.trim().to_string()
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    type Answer = Result<Page<u32>, ApiError>;
    /// The requests the pager made, as (continue, limit).
    type Asked = Vec<(Option<String>, Option<u32>)>;

    fn page(items: &[u32], next: Option<&str>) -> Answer {
        Ok(Page {
            items: items.to_vec(),
            continue_token: next.map(String::from),
        })
    }

    fn expired() -> Answer {
        Err(ApiError::Expired {
            what: "list pods".into(),
            message: "too old".into(),
        })
    }

    /// Runs the pager against scripted answers; returns the result and the
    /// requests made, as (continue, limit).
    fn run(answers: Vec<Answer>) -> (Result<Listing<u32>, ApiError>, Asked) {
        let script = RefCell::new(VecDeque::from(answers));
        let asked = RefCell::new(Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = runtime.block_on(paginate(&UNSCHEDULED_PODS, 2, |token, limit| {
            asked.borrow_mut().push((token, limit));
            let next = script
                .borrow_mut()
                .pop_front()
                .expect("no more answers scripted");
            async move { next }
        }));
        (result, asked.into_inner())
    }

    #[test]
    fn pages_are_followed_until_no_continue_token() {
        let (result, asked) = run(vec![
            page(&[1, 2], Some("a")),
            page(&[3, 4], Some("b")),
            page(&[5], None),
        ]);
        let listing = result.unwrap();
        assert_eq!(listing.items, vec![1, 2, 3, 4, 5]);
        assert_eq!((listing.pages, listing.restarted), (3, false));
        assert_eq!(
            asked,
            vec![
                (None, Some(2)),
                (Some("a".into()), Some(2)),
                (Some("b".into()), Some(2))
            ]
        );
    }

    #[test]
    fn empty_pages_with_a_token_keep_going() {
        let (result, _) = run(vec![
            page(&[], Some("a")),
            page(&[], Some("b")),
            page(&[7], None),
        ]);
        assert_eq!(result.unwrap().items, vec![7]);
    }

    #[test]
    fn an_expired_continue_token_reads_everything_again_in_one_request() {
        let (result, asked) = run(vec![
            page(&[1, 2], Some("a")),
            expired(),
            page(&[1, 2, 3], None),
        ]);
        let listing = result.unwrap();
        assert_eq!(listing.items, vec![1, 2, 3]);
        assert_eq!((listing.pages, listing.restarted), (3, true));
        assert_eq!(asked[2], (None, None));
    }

    #[test]
    fn a_410_on_the_first_page_is_an_error() {
        let (result, _) = run(vec![expired()]);
        assert!(matches!(result, Err(ApiError::Expired { .. })));
    }

    #[test]
    fn a_repeated_token_is_an_error_not_a_loop() {
        let (result, _) = run(vec![page(&[1], Some("a")), page(&[2], Some("a"))]);
        let e = result.unwrap_err().to_string();
        assert!(e.contains("same continue token twice"), "{e}");
    }

    #[test]
    fn errors_in_the_middle_are_returned() {
        let forbidden = Err(ApiError::Forbidden {
            what: "list pods at the cluster scope".into(),
            message: "pods is forbidden".into(),
        });
        let (result, _) = run(vec![page(&[1], Some("a")), forbidden]);
        let e = result.unwrap_err().to_string();
        assert!(
            e.starts_with("cannot list pods at the cluster scope: 403 Forbidden"),
            "{e}"
        );
        assert!(e.contains("schedguard-reader.yaml"), "{e}");
    }

    #[test]
    fn resources_name_their_permission_and_path() {
        assert_eq!(
            CLUSTER_ROLES.permission(),
            "list clusterroles.rbac.authorization.k8s.io at the cluster scope"
        );
        assert_eq!(
            ROLE_BINDINGS.path(),
            "/apis/rbac.authorization.k8s.io/v1/rolebindings"
        );
        assert_eq!(UNSCHEDULED_PODS.path(), "/api/v1/pods");
        assert_eq!(UNSCHEDULED_PODS.name(), "pods");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(percent_encode("spec.nodeName="), "spec.nodeName%3D");
        assert_eq!(percent_encode("eyJ2Ijo+/"), "eyJ2Ijo%2B%2F");
    }

    #[test]
    fn error_messages_come_from_json_status_or_text() {
        assert_eq!(
            error_message(br#"{"kind":"Status","message":"nope"}"#),
            "nope"
        );
        assert_eq!(error_message(b"bad gateway\n"), "bad gateway");
        assert_eq!(error_message(b""), "no message");
    }
}
