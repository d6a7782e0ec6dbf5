//! Rendering: one file per output format. Reports are built from the facts
//! and the findings; nothing here reads the host.

pub mod json;
pub mod text;

use crate::checks::{Finding, Status};
use crate::facts::Facts;
use serde::{Deserialize, Serialize};

/// Counts of findings by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
    pub total: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        Summary::of_statuses(findings.iter().map(|f| f.status))
    }

    /// Counts statuses however they were read.
    pub fn of_statuses(statuses: impl Iterator<Item = Status>) -> Summary {
        let mut summary = Summary::default();
        for status in statuses {
            summary.total += 1;
            match status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Warn => summary.warn += 1,
                Status::Error => summary.error += 1,
                Status::Skip => summary.skip += 1,
            }
        }
        summary
    }
}

/// What an audit produced: the input of every renderer.
pub struct Audit<'a> {
    pub facts: &'a Facts,
    pub findings: &'a [Finding],
}
