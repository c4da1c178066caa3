//! Fault injection for tests: deterministic, driven by per-fault counters and a seeded generator,
//! never by the clock.
//!
//! ```
//! use hub_server::fault::{Fault, FaultKind};
//! use hub_server::Origin;
//! // The first two CDN downloads break after 1000 body bytes.
//! let fault = Fault::new(FaultKind::DropAfter(1000)).on(Origin::Cdn).method("GET").first(2);
//! # let _ = fault;
//! ```

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::log::Origin;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status instead (e.g. 500, 503, 429), with `Retry-After: <seconds>` when given.
    Status {
        /// The HTTP status sent.
        status: u16,
        /// The `Retry-After` header, in seconds.
        retry_after: Option<u32>,
    },
    /// Wait this long before sending the response head.
    Delay(Duration),
    /// Close the connection after this many body bytes (the declared length is not reached).
    DropAfter(u64),
    /// Flip every bit of the body byte at this offset (counted from the first byte sent).
    Corrupt {
        /// The byte's offset in the body, from its first byte sent.
        offset: u64,
    },
    /// After this many body bytes, send nothing for `duration`, then go on.
    Stall {
        /// Body bytes sent before the stall.
        after: u64,
        /// How long nothing is sent.
        duration: Duration,
    },
}

/// Which of the matching requests a fault hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Every matching request.
    Always,
    /// The first `n` matching requests.
    First(u64),
    /// Only the `n`-th matching request (1-based).
    Nth(u64),
    /// About `percent` % of matching requests, drawn from a generator seeded with `seed`: the same
    /// sequence of requests is hit on every run.
    Share {
        /// The share of requests hit, 0 to 100.
        percent: u8,
        /// The generator's seed.
        seed: u64,
    },
}

/// A fault and the requests it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What goes wrong.
    pub kind: FaultKind,
    /// Which matching requests it hits.
    pub trigger: Trigger,
    /// Only requests to this listener (both when `None`).
    pub origin: Option<Origin>,
    /// Only this method (`GET`, `HEAD`...).
    pub method: Option<String>,
    /// Only requests whose raw path and query contain this text.
    pub path_contains: Option<String>,
}

impl Fault {
    /// A fault hitting every request until narrowed.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            trigger: Trigger::Always,
            origin: None,
            method: None,
            path_contains: None,
        }
    }

    /// A fault answering `status` (with `Retry-After` when `retry_after` is given).
    pub fn status(status: u16, retry_after: Option<u32>) -> Fault {
        Fault::new(FaultKind::Status {
            status,
            retry_after,
        })
    }

    /// Only requests to this listener.
    pub fn on(mut self, origin: Origin) -> Fault {
        self.origin = Some(origin);
        self
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose raw path and query contain `text`.
    pub fn path_contains(mut self, text: &str) -> Fault {
        self.path_contains = Some(text.to_owned());
        self
    }

    /// Hit the first `n` matching requests.
    pub fn first(mut self, n: u64) -> Fault {
        self.trigger = Trigger::First(n);
        self
    }

    /// Hit only the `n`-th matching request (1-based).
    pub fn nth(mut self, n: u64) -> Fault {
        self.trigger = Trigger::Nth(n);
        self
    }

    /// Hit about `percent` % of matching requests, drawn from a generator seeded with `seed`.
    pub fn share(mut self, percent: u8, seed: u64) -> Fault {
        self.trigger = Trigger::Share { percent, seed };
        self
    }

    fn matches(&self, origin: Origin, method: &str, path: &str) -> bool {
        self.origin.is_none_or(|o| o == origin)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_contains
                .as_deref()
                .is_none_or(|text| path.contains(text))
    }
}

/// How long the CDN locations handed out in LFS redirects stay valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CdnLinks {
    /// Valid forever.
    #[default]
    Reusable,
    /// Valid for this many requests, then answered `403` (as an expired signed URL is).
    Expiring {
        /// Requests a location serves before it expires.
        uses: u32,
    },
    /// Valid only for the `Range` (or its absence) of the first request that uses it.
    SingleRange,
}

/// The faults chosen for one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chosen {
    pub status: Option<(u16, Option<u32>)>,
    pub delay: Option<Duration>,
    pub body: BodyFaults,
    pub names: Vec<String>,
}

impl Chosen {
    pub(crate) fn describe(&self) -> Option<String> {
        (!self.names.is_empty()).then(|| self.names.join(", "))
    }
}

/// Faults applied while streaming a body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BodyFaults {
    pub drop_after: Option<u64>,
    pub corrupt_at: Option<u64>,
    pub stall: Option<(u64, Duration)>,
}

#[derive(Debug)]
struct State {
    matched: u64,
    rng: u64,
}

/// The configured faults and their counters.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    faults: Vec<Fault>,
    states: Mutex<Vec<State>>,
    links: CdnLinks,
    link_states: Mutex<HashMap<u64, LinkState>>,
}

#[derive(Debug)]
struct LinkState {
    uses: u32,
    range: Option<Option<String>>,
}

impl Faults {
    pub(crate) fn new(faults: Vec<Fault>, links: CdnLinks) -> Faults {
        let states = faults
            .iter()
            .map(|fault| State {
                matched: 0,
                rng: match fault.trigger {
                    Trigger::Share { seed, .. } => seed,
                    _ => 0,
                },
            })
            .collect();
        Faults {
            faults,
            states: Mutex::new(states),
            links,
            link_states: Mutex::new(HashMap::new()),
        }
    }

    /// Advances every matching fault's counter and returns those that fire.
    pub(crate) fn choose(&self, origin: Origin, method: &str, path: &str) -> Chosen {
        let mut chosen = Chosen::default();
        let mut states = self.states.lock().expect("fault state lock");
        for (fault, state) in self.faults.iter().zip(states.iter_mut()) {
            if !fault.matches(origin, method, path) {
                continue;
            }
            state.matched += 1;
            let fires = match fault.trigger {
                Trigger::Always => true,
                Trigger::First(n) => state.matched <= n,
                Trigger::Nth(n) => state.matched == n,
                Trigger::Share { percent, .. } => {
                    splitmix64(&mut state.rng) % 100 < u64::from(percent)
                }
            };
            if !fires {
                continue;
            }
            chosen.names.push(format!("{:?}", fault.kind));
            match fault.kind {
                FaultKind::Status {
                    status,
                    retry_after,
                } => {
                    chosen.status.get_or_insert((status, retry_after));
                }
                FaultKind::Delay(duration) => {
                    chosen.delay = Some(chosen.delay.unwrap_or_default() + duration)
                }
                FaultKind::DropAfter(bytes) => {
                    chosen.body.drop_after.get_or_insert(bytes);
                }
                FaultKind::Corrupt { offset } => {
                    chosen.body.corrupt_at.get_or_insert(offset);
                }
                FaultKind::Stall { after, duration } => {
                    chosen.body.stall.get_or_insert((after, duration));
                }
            }
        }
        chosen
    }

    /// Whether the CDN location number `id` may still be used for a request with this `Range`.
    pub(crate) fn link_valid(&self, id: u64, range: Option<&str>) -> bool {
        if self.links == CdnLinks::Reusable {
            return true; // and nothing to remember
        }
        let mut states = self.link_states.lock().expect("link state lock");
        let state = states.entry(id).or_insert(LinkState {
            uses: 0,
            range: None,
        });
        state.uses += 1;
        match self.links {
            CdnLinks::Reusable => true,
            CdnLinks::Expiring { uses } => state.uses <= uses,
            CdnLinks::SingleRange => {
                let first = state.range.get_or_insert_with(|| range.map(str::to_owned));
                first.as_deref() == range
            }
        }
    }
}

/// The splitmix64 generator: small, seeded, the same on every platform.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_count_matching_requests_only() {
        let faults = Faults::new(
            vec![
                Fault::status(503, None).method("HEAD").first(2),
                Fault::new(FaultKind::DropAfter(5)).on(Origin::Cdn).nth(2),
            ],
            CdnLinks::Reusable,
        );
        let fired = |origin, method| faults.choose(origin, method, "/x").names.len();
        assert_eq!(fired(Origin::Hub, "GET"), 0);
        assert_eq!(fired(Origin::Hub, "HEAD"), 1);
        assert_eq!(fired(Origin::Cdn, "GET"), 0);
        assert_eq!(fired(Origin::Hub, "HEAD"), 1);
        assert_eq!(fired(Origin::Hub, "HEAD"), 0);
        assert_eq!(fired(Origin::Cdn, "GET"), 1);
        assert_eq!(fired(Origin::Cdn, "GET"), 0);
    }

    #[test]
    fn shares_are_seeded() {
        let run = |seed| {
            let faults = Faults::new(
                vec![Fault::status(500, None).share(30, seed)],
                CdnLinks::Reusable,
            );
            (0..200)
                .map(|_| faults.choose(Origin::Hub, "GET", "/").status.is_some())
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let hits = first.iter().filter(|hit| **hit).count();
        assert!((30..90).contains(&hits), "{hits} of 200");
    }
}
