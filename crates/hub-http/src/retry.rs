//! Retries with exponential back-off and jitter (2.x `http_backoff`: 1, 2, 4, 8, 8 s; a
//! `Retry-After` of N seconds waits N + 1 s).

use std::future::Future;
use std::time::Duration;

use crate::error::Error;

/// How often and how long to wait between attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (upstream: 5).
    pub max_retries: u32,
    /// First wait (upstream: 1 s), doubled each time.
    pub base_delay: Duration,
    /// Longest wait between two attempts (upstream: 8 s).
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; a longer one fails at once.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `attempt` (1-based), with up to 25 % random jitter, or the
    /// server's `Retry-After` + 1 s.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after + Duration::from_secs(1).min(self.base_delay);
        }
        let doubled = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = doubled.min(self.max_delay);
        let jitter = capped.mul_f64(fastrand::f64() * 0.25);
        capped + jitter
    }

    /// Runs `attempt` until it succeeds, fails with a non-retryable error, or retries run out.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut retries = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_retryable() && retries < self.max_retries => {
                    let retry_after = error.retry_after();
                    if retry_after.is_some_and(|d| d > self.max_retry_after) {
                        return Err(error);
                    }
                    retries += 1;
                    let delay = self.delay(retries, retry_after);
                    tracing::warn!(
                        "{error}; retrying in {:.1}s [retry {retries}/{}]",
                        delay.as_secs_f64(),
                        self.max_retries
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let policy = RetryPolicy::default();
        for (attempt, base) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8)] {
            let d = policy.delay(attempt, None);
            assert!(d >= Duration::from_secs(base) && d <= Duration::from_secs(base).mul_f64(1.25));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(4)
        );
    }
}
