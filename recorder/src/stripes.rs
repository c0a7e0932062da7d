//! Striped counters: one series written from many threads at once, without every write
//! fighting over one cache line.
//!
//! A counter cell starts as one atomic. Every write returns the previous value for
//! free, so about one write in [`SAMPLE_EVERY`] is a sample: it notes which thread
//! wrote and scores the cell (+2 when the thread differs from the previous sample's,
//! -1 when it is the same). A series written by one thread at a time (one owner, or
//! tasks moving between threads now and then) scores down; one written by several
//! threads at once scores up, and at [`HOT_SCORE`] it gets [`Stripes`]: one
//! cache-line-aligned atomic per stripe (the CPU count rounded up to a power of two, at
//! most [`MAX_STRIPES`]), each thread writing the stripe of its own tag. From then on
//! the cell's own line is only read (the stripes pointer), so it stays shared in every
//! core's cache, and a render sums the cell and its stripes: every scrape sees the exact
//! total. Cost: `64 B x stripes` for a hot series only, a sum of that many loads per
//! render of it, and nothing for the others (a null pointer in the cell's padding).

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};

/// One write in this many (counted in the values written) is a sample.
pub(crate) const SAMPLE_EVERY: u64 = 1 << 12;

/// Score at which a cell gets its stripes: about 32 samples of alternating writers.
pub(crate) const HOT_SCORE: u64 = 16;

/// Most stripes a cell gets (a 64-core machine: 4 KiB per hot series).
pub(crate) const MAX_STRIPES: usize = 64;

/// One stripe: its own cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Stripe(AtomicU64);

/// The stripes of one hot counter.
#[derive(Debug)]
pub(crate) struct Stripes(Box<[Stripe]>);

impl Stripes {
    fn new() -> Self {
        Stripes((0..stripe_count()).map(|_| Stripe::default()).collect())
    }

    /// Adds `value` to the calling thread's stripe.
    #[inline]
    fn add(&self, value: u64) {
        // The count is a power of two.
        let stripe = usize::from(thread_tag()) & (self.0.len() - 1);
        self.0[stripe].0.fetch_add(value, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Ordering::Relaxed)))
    }
}

/// What a counter cell adds to its atomic: the stripes once it is hot, and the samples
/// that decide it. 16 bytes, in the cell's padding.
#[derive(Debug, Default)]
pub(crate) struct Contention {
    stripes: once_cell::race::OnceBox<Stripes>,
    /// The last sample's thread tag (low 16 bits) and the score (above them).
    samples: AtomicU64,
}

impl Contention {
    /// Adds `value` to the counter `own`, or to the calling thread's stripe once the
    /// counter is hot.
    #[inline(always)]
    pub(crate) fn add(&self, own: &AtomicU64, value: u64) {
        if let Some(stripes) = self.stripes.get() {
            return stripes.add(value);
        }
        let before = own.fetch_add(value, Ordering::Relaxed);
        // The write crossed a multiple of `SAMPLE_EVERY` (a power of two).
        if before ^ before.wrapping_add(value) >= SAMPLE_EVERY {
            self.sample();
        }
    }

    /// The counter's total: `own` plus every stripe.
    #[inline]
    pub(crate) fn total(&self, own: &AtomicU64) -> u64 {
        let own = own.load(Ordering::Relaxed);
        match self.stripes.get() {
            Some(stripes) => own.wrapping_add(stripes.sum()),
            None => own,
        }
    }

    /// Whether the counter has its stripes (tests).
    #[cfg(test)]
    pub(crate) fn is_striped(&self) -> bool {
        self.stripes.get().is_some()
    }

    #[cold]
    #[inline(never)]
    fn sample(&self) {
        let tag = u64::from(thread_tag());
        let samples = self.samples.load(Ordering::Relaxed);
        let score = samples >> 16;
        let score = if samples & 0xffff == tag {
            score.saturating_sub(1)
        } else {
            score + 2
        };
        if score >= HOT_SCORE {
            self.stripes.get_or_init(|| Box::new(Stripes::new()));
        }
        // Racing samples may lose one another's update: a heuristic, not a count.
        self.samples.store(score << 16 | tag, Ordering::Relaxed);
    }
}

/// Stripes per hot counter: the CPUs this process may run on, rounded up to a power of
/// two, at least 2, at most [`MAX_STRIPES`].
fn stripe_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(2, usize::from)
            .next_power_of_two()
            .clamp(2, MAX_STRIPES)
    })
}

/// The calling thread's tag: distinct per thread (1, 2, 3, ... in order of first use,
/// wrapping after 65,535 threads), never 0.
#[inline]
fn thread_tag() -> u16 {
    thread_local! {
        static TAG: Cell<u16> = const { Cell::new(0) };
    }
    static NEXT: AtomicU16 = AtomicU16::new(1);
    TAG.with(|tag| {
        if tag.get() == 0 {
            let mut next = NEXT.fetch_add(1, Ordering::Relaxed);
            if next == 0 {
                next = NEXT.fetch_add(1, Ordering::Relaxed);
            }
            tag.set(next);
        }
        tag.get()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_written_by_one_thread_is_never_striped() {
        let (own, contention) = (AtomicU64::new(0), Contention::default());
        for _ in 0..SAMPLE_EVERY * HOT_SCORE * 4 {
            contention.add(&own, 1);
        }
        assert!(!contention.is_striped());
        assert_eq!(contention.total(&own), SAMPLE_EVERY * HOT_SCORE * 4);
    }

    #[test]
    fn a_counter_written_by_threads_taking_turns_gets_stripes_and_keeps_its_total() {
        let (own, contention) = (AtomicU64::new(0), Contention::default());
        // A new thread per sample period: every sample sees another thread than the
        // last one did.
        for _ in 0..HOT_SCORE {
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    for _ in 0..SAMPLE_EVERY {
                        contention.add(&own, 1);
                    }
                });
            });
        }
        assert!(
            contention.is_striped(),
            "hot after {HOT_SCORE} alternating samples"
        );
        let before = contention.total(&own);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        contention.add(&own, 3);
                    }
                });
            }
        });
        assert_eq!(contention.total(&own), before + 4 * 10_000 * 3);
    }

    #[test]
    fn every_thread_gets_a_nonzero_tag_of_its_own() {
        let tags: Vec<u16> = (0..8)
            .map(|_| std::thread::spawn(thread_tag).join().unwrap())
            .collect();
        let mut distinct = tags.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), tags.len(), "{tags:?}");
        assert!(!tags.contains(&0));
    }
}
