//! What schedguard knows about Kubernetes: releases, kube-scheduler's flags
//! and their parsing, KubeSchedulerConfiguration versions and plugins, and
//! RBAC as the API server's authorizer evaluates it.

pub mod api;
pub mod argv;
pub mod config;
pub mod flags;
pub mod plugins;
pub mod rbac;
pub mod version;
