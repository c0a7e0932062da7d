//! The bounded queue between the sources and the gateway, with its depth gauge.
//!
//! A full queue makes sources wait (backpressure) instead of growing without bound.
//! The depth gauge counts envelopes handed to the queue and not yet taken by the gateway.

use catalog::Metric;
use recorder::GaugeHandle;
use tokio::sync::mpsc;

use crate::envelope::Envelope;

/// A queue of at most `capacity` envelopes.
pub fn channel(capacity: usize) -> (QueueSender, QueueReceiver) {
    let (tx, rx) = mpsc::channel(capacity);
    let depth = recorder::gauge(Metric::GatewayQueueDepth, ());
    (
        QueueSender {
            tx,
            depth: depth.clone(),
        },
        QueueReceiver { rx, depth },
    )
}

/// The sources' end of the queue. The queue closes when every sender is dropped.
#[derive(Clone, Debug)]
pub struct QueueSender {
    tx: mpsc::Sender<Envelope>,
    depth: GaugeHandle,
}

/// The gateway stopped: the queue accepts nothing more.
#[derive(Debug, thiserror::Error)]
#[error("the gateway stopped: envelope not queued")]
pub struct Closed;

impl QueueSender {
    /// Queues `envelope`, waiting while the queue is full.
    pub async fn send(&self, envelope: Envelope) -> Result<(), Closed> {
        let permit = self.tx.reserve().await.map_err(|_| Closed)?;
        self.depth.inc();
        permit.send(envelope);
        Ok(())
    }
}

/// The gateway's end of the queue.
#[derive(Debug)]
pub struct QueueReceiver {
    rx: mpsc::Receiver<Envelope>,
    depth: GaugeHandle,
}

impl QueueReceiver {
    /// Envelopes waiting in the queue now.
    pub fn waiting(&self) -> usize {
        self.rx.len()
    }

    /// Blocks the calling (non-async) thread until an envelope arrives, then takes up to
    /// `max - 1` more that are already waiting. Empty once the queue is closed and drained.
    pub fn blocking_recv_batch(&mut self, max: usize) -> Vec<Envelope> {
        let Some(first) = self.rx.blocking_recv() else {
            return Vec::new();
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match self.rx.try_recv() {
                Ok(envelope) => batch.push(envelope),
                Err(_) => break,
            }
        }
        self.depth.add(-(batch.len() as f64));
        batch
    }
}
