//! When to try a failed delivery again, and when to stop.
//!
//! Exponential backoff spreads retries out so a struggling receiver is not
//! hammered; jitter keeps many alerts that failed together from retrying in
//! lockstep; the maximum age bounds how long an alert may stay undelivered
//! before it is dead-lettered for a person to look at.

use std::time::Duration;

/// Retry schedule of a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Longest delay between two attempts.
    pub max_interval: Duration,
    /// After this long since the alert was created, no more attempts.
    pub max_age: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Give up: the alert is dead-lettered.
    DeadLetter,
}

impl RetryPolicy {
    /// The delay ceiling after `failures` failed attempts (1 = the first failed).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.initial
            .saturating_mul(1u32 << doublings)
            .min(self.max_interval)
            .max(Duration::from_millis(1))
    }

    /// After `failures` failed attempts of an alert that is `age` old: retry
    /// after a jittered delay in [ceiling/2, ceiling], never past the
    /// maximum age, or dead-letter once that age is reached.
    pub fn next(&self, failures: u32, age: Duration, unit_random: f64) -> Next {
        if age >= self.max_age {
            return Next::DeadLetter;
        }
        let ceiling = self.ceiling(failures);
        let jitter = 0.5 + 0.5 * unit_random.clamp(0.0, 1.0);
        let delay = ceiling.mul_f64(jitter).min(self.max_age - age);
        Next::RetryAfter(delay.max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const POLICY: RetryPolicy = RetryPolicy {
        initial: Duration::from_millis(500),
        max_interval: Duration::from_secs(60),
        max_age: Duration::from_secs(3600),
    };

    #[test]
    fn delays_double_up_to_the_maximum_interval() {
        let ceilings: Vec<u64> = (1..=9).map(|n| POLICY.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
        assert_eq!(POLICY.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn gives_up_at_the_maximum_age() {
        assert_eq!(POLICY.next(3, Duration::from_secs(3600), 0.5), Next::DeadLetter);
        assert_eq!(
            POLICY.next(20, Duration::from_secs(3599), 1.0),
            Next::RetryAfter(Duration::from_secs(1))
        );
    }

    proptest! {
        #[test]
        fn jittered_delay_stays_within_half_and_full_ceiling(failures in 1u32..40, r in 0.0f64..=1.0, age_s in 0u64..3000) {
            let Next::RetryAfter(d) = POLICY.next(failures, Duration::from_secs(age_s), r) else {
                panic!("must retry before the maximum age");
            };
            let ceiling = POLICY.ceiling(failures);
            prop_assert!(d <= ceiling);
            prop_assert!(d >= ceiling / 2 - Duration::from_millis(1));
        }
    }
}
