//! What schedguard knows about Kubernetes: releases, kube-scheduler's flags
//! and their parsing, KubeSchedulerConfiguration versions and plugins.

pub mod api;
pub mod argv;
pub mod config;
pub mod flags;
pub mod plugins;
pub mod version;
