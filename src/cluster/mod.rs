//! Cluster mode (`audit --cluster`): what the API server says about RBAC
//! and pods, read with get and list calls only, as the identity of a
//! kubeconfig on this host. Like the rest of gathering, every failure
//! becomes a fact (an `Observed::Error` naming what was tried and what to
//! do), never an abort; nothing is ever written to the cluster.

pub mod args;
pub mod client;
pub mod kubeconfig;
pub mod objects;
pub mod protobuf;

use crate::facts::{Cluster, Observed, PodListing};
use client::{ApiError, Client, Limits, Listing};
use std::path::Path;
use std::time::{Duration, Instant};

/// How to gather from the cluster.
#[derive(Clone, Debug)]
pub struct Options {
    /// The kubeconfig's path inside the host root; `None` picks the host's
    /// admin kubeconfig (see [`kubeconfig::DEFAULT_KUBECONFIGS`]).
    pub kubeconfig: Option<String>,
    /// The kubeconfig context; `None` uses its `current-context`.
    pub context: Option<String>,
    /// Scheduler names served elsewhere in the fleet.
    pub known_schedulers: Vec<String>,
    /// Subjects allowed to change Node objects beyond the built-in ones.
    pub allowed_node_writers: Vec<String>,
    /// Each request.
    pub request_timeout: Duration,
    /// All requests of the run together.
    pub total_timeout: Duration,
    /// Objects asked for per page.
    pub page_size: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            kubeconfig: None,
            context: None,
            known_schedulers: Vec::new(),
            allowed_node_writers: Vec::new(),
            request_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            page_size: 500,
        }
    }
}

/// A cluster where nothing could be read, for this reason.
fn unreadable(options: &Options, reason: &str) -> Cluster {
    fn error<T>(reason: &str) -> Observed<T> {
        Observed::Error(reason.to_string())
    }
    Cluster {
        connection: Observed::Error(reason.to_string()),
        known_schedulers: options.known_schedulers.clone(),
        allowed_node_writers: options.allowed_node_writers.clone(),
        cluster_roles: error(reason),
        cluster_role_bindings: error(reason),
        roles: error(reason),
        role_bindings: error(reason),
        unscheduled_pods: error(reason),
    }
}

fn observed<T>(result: Result<Listing<T>, ApiError>) -> Observed<Vec<T>> {
    match result {
        Ok(listing) => Observed::Ok(listing.items),
        Err(e) => Observed::Error(e.to_string()),
    }
}

/// Reads RBAC and unscheduled pods from the API server the kubeconfig
/// names. Runs its own single-threaded runtime on a thread of its own, so
/// it may be called from anywhere, async code included.
pub fn gather(options: &Options, host_root: &Path) -> Cluster {
    let loaded = match kubeconfig::load(
        host_root,
        options.kubeconfig.as_deref(),
        options.context.as_deref(),
    ) {
        Ok(loaded) => loaded,
        Err(e) => return unreadable(options, &format!("cluster mode: {e}")),
    };
    let limits = Limits {
        request: options.request_timeout,
        deadline: Instant::now() + options.total_timeout,
        total: options.total_timeout,
        page_size: options.page_size,
    };
    let client = match Client::new(&loaded.credentials, limits) {
        Ok(client) => client,
        Err(e) => return unreadable(options, &format!("cluster mode: {e}")),
    };
    let mut connection = loaded.connection;

    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cluster mode: cannot start a runtime: {e}"))?;
        Ok::<_, String>(runtime.block_on(read(client)))
    });
    let read = match worker.join() {
        Ok(Ok(read)) => read,
        Ok(Err(e)) => return unreadable(options, &e),
        Err(_) => return unreadable(options, "cluster mode: the API reads panicked"),
    };

    connection.server_version = match read.version {
        Ok(v) => Observed::Ok(v),
        Err(e) => Observed::Error(e.to_string()),
    };
    Cluster {
        connection: Observed::Ok(connection),
        known_schedulers: options.known_schedulers.clone(),
        allowed_node_writers: options.allowed_node_writers.clone(),
        cluster_roles: observed(read.cluster_roles),
        cluster_role_bindings: observed(read.cluster_role_bindings),
        roles: observed(read.roles),
        role_bindings: observed(read.role_bindings),
        unscheduled_pods: match read.pods {
            Ok(listing) => Observed::Ok(PodListing {
                // The server selects pods without a node; a pod with one is
                // scheduled and waits for nothing, should any slip through.
                pods: listing
                    .items
                    .into_iter()
                    .filter(|(_, node)| node.is_empty())
                    .map(|(pod, _)| pod)
                    .collect(),
                pages: listing.pages,
                restarted: listing.restarted,
            }),
            Err(e) => Observed::Error(e.to_string()),
        },
    }
}

/// What the API server answered.
struct Read {
    version: Result<String, ApiError>,
    cluster_roles: Result<Listing<crate::k8s::rbac::ClusterRole>, ApiError>,
    cluster_role_bindings: Result<Listing<crate::k8s::rbac::Binding>, ApiError>,
    roles: Result<Listing<crate::k8s::rbac::Role>, ApiError>,
    role_bindings: Result<Listing<crate::k8s::rbac::Binding>, ApiError>,
    pods: Result<Listing<(crate::facts::UnscheduledPod, String)>, ApiError>,
}

/// Asks everything in turn. Once the server cannot be reached (refused,
/// timed out, credentials refused), the rest is not tried: each would fail
/// the same way, after the same wait.
async fn read(client: Client) -> Read {
    let version = client.version().await;
    let mut down: Option<String> = match &version {
        Err(e) if e.is_transport() => Some(e.to_string()),
        _ => None,
    };

    let cluster_roles = list(
        &client,
        &mut down,
        client::CLUSTER_ROLES,
        objects::cluster_roles,
    )
    .await;
    let cluster_role_bindings = list(
        &client,
        &mut down,
        client::CLUSTER_ROLE_BINDINGS,
        objects::cluster_role_bindings,
    )
    .await;
    let roles = list(&client, &mut down, client::ROLES, objects::roles).await;
    let role_bindings = list(
        &client,
        &mut down,
        client::ROLE_BINDINGS,
        objects::role_bindings,
    )
    .await;
    let pods = list(&client, &mut down, client::UNSCHEDULED_PODS, objects::pods).await;
    Read {
        version,
        cluster_roles,
        cluster_role_bindings,
        roles,
        role_bindings,
        pods,
    }
}

/// Lists a resource, unless the server is already known to be down; a
/// failure that shows it is down is recorded in `down`.
async fn list<T>(
    client: &Client,
    down: &mut Option<String>,
    resource: client::Resource,
    decode: fn(&[u8]) -> Result<objects::Page<T>, objects::DecodeError>,
) -> Result<Listing<T>, ApiError> {
    if let Some(reason) = down {
        return Err(ApiError::Pagination {
            what: resource.permission(),
            reason: format!("not tried: {reason}"),
        });
    }
    let result = client.list(&resource, decode).await;
    if let Err(e) = &result {
        if e.is_transport() {
            *down = Some(e.to_string());
        }
    }
    result
}
