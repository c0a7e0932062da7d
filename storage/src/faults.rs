//! Fault plans: a deterministic schedule plus seeded random faults.
//!
//! The simulated sources and the storage fault injector both draw from a [`FaultPlan`]
//! before each operation. The schedule injects one fault of every kind within seconds
//! of start-up (so every error series of the catalog gets data early); after that, only
//! random faults happen, at a rate low enough to keep the error ratios healthy, and
//! reproducibly for a given seed.
//!
//! A plan can instead follow a declared schedule of windows ([`FaultPlan::windows`], built
//! from `--fault` by [`crate::schedule`]): every operation inside a failing window fails,
//! every one inside a slow window takes longer, and nothing else happens.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// When scheduled faults happen: one of each kind, the first `first_after` the plan's
/// start, the next ones `period` apart, in kind order starting at `first_kind`.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// Delay before the first scheduled fault.
    pub first_after: Duration,
    /// Delay between scheduled faults.
    pub period: Duration,
    /// Index (modulo the number of kinds) of the first scheduled kind.
    pub first_kind: usize,
}

/// Decides, operation by operation, whether to fail and with which kind `K`.
#[derive(Debug)]
pub struct FaultPlan<K: Copy + 'static> {
    kinds: &'static [K],
    schedule: Option<(Schedule, Instant)>,
    next_kind: usize,
    scheduled_left: usize,
    random_probability: f64,
    rng: StdRng,
    failing: Vec<(Instant, Instant, K)>,
    slow: Vec<(Instant, Instant, Duration)>,
}

/// What a declared fault window does to each operation that starts inside it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Effect<K> {
    /// The operation fails with this kind.
    Fail(K),
    /// The operation takes this much longer.
    Delay(Duration),
}

impl<K: Copy + 'static> FaultPlan<K> {
    /// A plan over `kinds` that fails on `schedule` counted from `start` and, in between,
    /// with `random_probability` per operation (a uniformly drawn kind).
    pub fn new(
        kinds: &'static [K],
        schedule: Schedule,
        start: Instant,
        random_probability: f64,
        seed: u64,
    ) -> Self {
        FaultPlan {
            kinds,
            schedule: Some((schedule, start + schedule.first_after)),
            next_kind: schedule.first_kind,
            scheduled_left: kinds.len(),
            random_probability,
            rng: StdRng::seed_from_u64(seed),
            failing: Vec::new(),
            slow: Vec::new(),
        }
    }

    /// A plan that applies each `(from..until, effect)` window, counted from `start`, to
    /// the operations starting inside it, and injects nothing else.
    pub fn windows(
        kinds: &'static [K],
        start: Instant,
        windows: impl IntoIterator<Item = (std::ops::Range<Duration>, Effect<K>)>,
    ) -> Self {
        let mut plan = FaultPlan::never(kinds);
        for (range, effect) in windows {
            let (from, until) = (start + range.start, start + range.end);
            match effect {
                Effect::Fail(kind) => plan.failing.push((from, until, kind)),
                Effect::Delay(delay) => plan.slow.push((from, until, delay)),
            }
        }
        plan
    }

    /// How much longer an operation starting at `now` takes: the longest delay of the
    /// slow windows it falls in, zero outside them.
    pub fn delay(&self, now: Instant) -> Duration {
        self.slow
            .iter()
            .filter(|(from, until, _)| (*from..*until).contains(&now))
            .map(|(_, _, delay)| *delay)
            .max()
            .unwrap_or_default()
    }

    /// A plan that never fails.
    pub fn never(kinds: &'static [K]) -> Self {
        FaultPlan {
            kinds,
            schedule: None,
            next_kind: 0,
            scheduled_left: 0,
            random_probability: 0.0,
            rng: StdRng::seed_from_u64(0),
            failing: Vec::new(),
            slow: Vec::new(),
        }
    }

    /// The fault to inject into an operation starting at `now`, if any.
    pub fn draw(&mut self, now: Instant) -> Option<K> {
        if let Some((_, _, kind)) = self
            .failing
            .iter()
            .find(|(from, until, _)| (*from..*until).contains(&now))
        {
            return Some(*kind);
        }
        if let Some((schedule, due)) = &mut self.schedule
            && self.scheduled_left > 0
            && now >= *due
        {
            *due += schedule.period;
            self.scheduled_left -= 1;
            let kind = self.kinds[self.next_kind % self.kinds.len()];
            self.next_kind += 1;
            return Some(kind);
        }
        if self.random_probability > 0.0 && self.rng.random_bool(self.random_probability) {
            return Some(self.kinds[self.rng.random_range(0..self.kinds.len())]);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: &[char] = &['a', 'b', 'c'];

    fn schedule(first_kind: usize) -> Schedule {
        Schedule {
            first_after: Duration::from_secs(1),
            period: Duration::from_secs(2),
            first_kind,
        }
    }

    #[test]
    fn one_scheduled_fault_of_every_kind() {
        let start = Instant::now();
        let mut plan = FaultPlan::new(KINDS, schedule(1), start, 0.0, 7);
        let at = |secs: f64| start + Duration::from_secs_f64(secs);
        assert_eq!(plan.draw(at(0.5)), None);
        assert_eq!(plan.draw(at(1.5)), Some('b'));
        assert_eq!(plan.draw(at(1.6)), None);
        // Due at 3 s and 5 s, whenever the operations come.
        assert_eq!(plan.draw(at(4.9)), Some('c'));
        assert_eq!(plan.draw(at(5.0)), Some('a'));
        assert_eq!(plan.draw(at(100.0)), None);
    }

    #[test]
    fn random_faults_are_reproducible_for_a_seed() {
        let draws = |seed| {
            let now = Instant::now();
            let mut plan = FaultPlan::new(KINDS, schedule(0), now, 0.3, seed);
            (0..200).map(|_| plan.draw(now)).collect::<Vec<_>>()
        };
        assert_eq!(draws(42), draws(42));
        assert_ne!(draws(42), draws(43));
        let faults = draws(42).iter().flatten().count();
        assert!(
            (30..=90).contains(&faults),
            "{faults} faults out of 200 at p=0.3"
        );
    }

    #[test]
    fn windows_fail_and_slow_down_only_inside_them() {
        let start = Instant::now();
        let at = |secs: f64| start + Duration::from_secs_f64(secs);
        let mut plan = FaultPlan::windows(
            KINDS,
            start,
            [
                (
                    Duration::from_secs(1)..Duration::from_secs(2),
                    Effect::Fail('b'),
                ),
                (
                    Duration::from_secs(3)..Duration::from_secs(5),
                    Effect::Delay(Duration::from_millis(50)),
                ),
                (
                    Duration::from_secs(4)..Duration::from_secs(6),
                    Effect::Delay(Duration::from_millis(80)),
                ),
            ],
        );
        assert_eq!(plan.draw(at(0.9)), None);
        assert_eq!(plan.draw(at(1.0)), Some('b'));
        assert_eq!(plan.draw(at(1.99)), Some('b'));
        assert_eq!(plan.draw(at(2.0)), None);
        assert_eq!(plan.delay(at(2.5)), Duration::ZERO);
        assert_eq!(plan.delay(at(3.5)), Duration::from_millis(50));
        assert_eq!(plan.delay(at(4.5)), Duration::from_millis(80));
        assert_eq!(plan.delay(at(6.0)), Duration::ZERO);
        // Nothing random in between.
        assert!((0..1000).all(|i| plan.draw(at(10.0 + f64::from(i))).is_none()));
    }

    #[test]
    fn never_never_fails() {
        let mut plan = FaultPlan::never(KINDS);
        let later = Instant::now() + Duration::from_secs(3600);
        assert!((0..1000).all(|_| plan.draw(later).is_none()));
    }
}
