//! schedguard: audits the live kube-scheduler of a Kubernetes control-plane
//! host against the scheduler hardening guide and the CIS benchmark.
//!
//! The crate is split the way an audit runs: [`host`] gathers facts from the
//! machine into a [`facts::Facts`] snapshot, [`checks`] judges the snapshot
//! (pure functions, no I/O), and [`report`] renders the findings. [`k8s`]
//! holds what schedguard knows about Kubernetes itself: flags, defaults,
//! configuration versions, plugins and RBAC. [`cluster`] gathers, in cluster
//! mode, what the API server says about RBAC and pods.
//!
//! The `schedguard` executable serves `audit`, `checks`, `explain` and
//! `agent`; the [`collector`] is the separate `schedguard-collector`, which
//! `schedguard collector` runs, so that the agent on every control-plane
//! host does not map the collector's code (SQLite, PostgreSQL, the
//! dashboard).

pub mod agent;
pub mod checks;
pub mod cluster;
pub mod collector;
pub mod exit;
pub mod facts;
pub mod host;
pub mod k8s;
pub mod logging;
pub mod manual;
pub mod report;
pub mod time;
