//! The single writer. Requests hand over their report and wait for the
//! answer; the writer takes everything that has queued up meanwhile (up to
//! a batch) and stores it in one transaction. Under load many reports share
//! one commit; when idle a report is written alone, at once.

use crate::collector::metrics::Metrics;
use crate::collector::store::{Incoming, Outcome, Store};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

struct Job {
    report: Incoming,
    reply: oneshot::Sender<Result<Outcome, String>>,
}

/// Why a report was not written.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Too many reports are waiting: the client should come back later.
    Overloaded,
    /// The collector is stopping.
    Stopping,
    /// The database failed; the reason is for the log, not the client.
    Failed(String),
}

/// The handle requests use.
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task. At most `queue` reports wait; each
    /// transaction takes at most `max_batch`.
    pub fn start(
        store: Arc<dyn Store>,
        max_batch: usize,
        queue: usize,
        metrics: Arc<Metrics>,
    ) -> (Writer, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(queue);
        let task = tokio::spawn(run(store, max_batch, receiver, metrics));
        (Writer { queue: sender }, task)
    }

    /// Queues a report and waits until it is committed (or refused).
    pub async fn submit(&self, report: Incoming) -> Result<Outcome, Refused> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .try_send(Job { report, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => Refused::Overloaded,
                mpsc::error::TrySendError::Closed(_) => Refused::Stopping,
            })?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(reason)) => Err(Refused::Failed(reason)),
            Err(_) => Err(Refused::Stopping),
        }
    }

    /// Reports waiting to be written.
    pub fn waiting(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }
}

async fn run(
    store: Arc<dyn Store>,
    max_batch: usize,
    mut receiver: mpsc::Receiver<Job>,
    metrics: Arc<Metrics>,
) {
    // The loop ends once every `Writer` is dropped and the queue is empty,
    // so that nothing accepted is left unwritten.
    while let Some(first) = receiver.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (reports, replies): (Vec<Incoming>, Vec<_>) =
            jobs.into_iter().map(|j| (j.report, j.reply)).unzip();
        let size = reports.len();
        let started = Instant::now();
        match store.write(reports).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!("cannot store {size} report(s): {e}");
                let reason = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(reason.clone()));
                }
            }
        }
        metrics.batch_written(size, started.elapsed());
    }
}
