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
        let mut summary = Summary {
            total: findings.len(),
            ..Summary::default()
        };
        for f in findings {
            match f.status {
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
