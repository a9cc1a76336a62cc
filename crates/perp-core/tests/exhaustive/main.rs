//! Exhaustive checks of perp-core on small bounded domains.
//!
//! Every check enumerates *every* input of a stated finite domain (with bolero's exhaustive driver
//! or with plain nested loops), compares the result with an independent exact computation or a
//! property taken from the doc comments, prints its name and the number of inputs it saw, and
//! asserts that number is the size of the domain, so a check can never pass by checking nothing.
//!
//! The precisions are constants of the crate, so the domains are scaled down by choosing small
//! raw values (small reserves, sizes, prices, caps) or grids whose products land on the rounding
//! boundaries of the fixed-point divisions.

mod adl;
mod funding;
mod liquidation;
mod margin;
mod misc;
mod rounding;
mod vamm;
mod waterfall;

use perp_core::Round;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts the inputs of one check; [`Counter::done`] prints the count and asserts it.
pub struct Counter {
    name: &'static str,
    n: AtomicU64,
}

impl Counter {
    pub fn new(name: &'static str) -> Counter {
        Counter { name, n: AtomicU64::new(0) }
    }
    pub fn tick(&self) {
        self.n.fetch_add(1, Ordering::Relaxed);
    }
    pub fn done(&self, expected: u64) {
        let n = self.n.load(Ordering::Relaxed);
        eprintln!("exhaustive check `{}`: {} inputs", self.name, n);
        assert_eq!(n, expected, "`{}` saw {} inputs, its domain has {}", self.name, n, expected);
    }
}

pub const ROUNDS: [Round; 2] = [Round::Down, Round::Up];

/// Exact floor of `n / d` (`d != 0`, not `MIN / -1`), from the truncating operators.
pub fn floor_div(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if r != 0 && ((r < 0) != (d < 0)) {
        q - 1
    } else {
        q
    }
}

/// Exact ceiling of `n / d`.
pub fn ceil_div(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if r != 0 && ((r < 0) == (d < 0)) {
        q + 1
    } else {
        q
    }
}

/// Exact `n / d` rounded as asked.
pub fn rdiv(n: i128, d: i128, r: Round) -> i128 {
    match r {
        Round::Down => floor_div(n, d),
        Round::Up => ceil_div(n, d),
    }
}

/// `true` when `q` is the floor (Down) / ceiling (Up) of `n / d`, checked by multiplication only.
pub fn brackets(n: i128, d: i128, q: i128, r: Round) -> bool {
    // normalise to a positive divisor
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    match r {
        Round::Down => q * d <= n && n < (q + 1) * d,
        Round::Up => (q - 1) * d < n && n <= q * d,
    }
}
