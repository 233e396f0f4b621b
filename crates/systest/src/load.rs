//! Concurrent load from plain threads: workers sharing one load description and its counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the workers and the check watching them share.
#[derive(Debug, Default)]
pub struct Counters {
    /// Set to make the workers stop after their current order.
    pub stop: AtomicBool,
    /// Orders acknowledged (a 2xx answer) so far.
    pub acknowledged: AtomicUsize,
    /// Requests sent so far, retries included.
    pub requests: AtomicUsize,
}

impl Counters {
    /// Orders acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.acknowledged.load(Ordering::SeqCst)
    }

    /// Waits until `count` orders were acknowledged, or `within` passed.
    pub fn wait_for(&self, count: usize, within: Duration) {
        let started = Instant::now();
        while self.acknowledged() < count && started.elapsed() < within {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// `count` threads, each running `work(index, &load)`.
pub fn start<L, S>(count: usize, load: &Arc<L>, work: fn(usize, &L) -> Vec<S>) -> Vec<JoinHandle<Vec<S>>>
where
    L: Send + Sync + 'static,
    S: Send + 'static,
{
    (0..count)
        .map(|index| {
            let load = Arc::clone(load);
            std::thread::spawn(move || work(index, &load))
        })
        .collect()
}

/// Everything the workers returned, in worker order.
pub fn join<S>(workers: Vec<JoinHandle<Vec<S>>>) -> anyhow::Result<Vec<S>> {
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.join().map_err(|_| anyhow::anyhow!("a load worker panicked"))?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_share_the_load_and_their_results_are_joined() {
        let counters = Arc::new(Counters::default());
        let workers = start(3, &counters, |index, counters| {
            counters.acknowledged.fetch_add(1, Ordering::SeqCst);
            vec![index; 2]
        });
        assert_eq!(join(workers).unwrap(), [0, 0, 1, 1, 2, 2]);
        counters.wait_for(3, Duration::from_secs(1));
        assert_eq!(counters.acknowledged(), 3);
    }
}
