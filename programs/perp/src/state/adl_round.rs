//! The ranking of one auto-deleveraging round: the program counts every counterparty-side
//! position of the market (scans) and keeps the top entries by ADL score, computed by the program
//! itself at the mark price frozen when the round began.

use super::wide::WideI128;
use anchor_lang::prelude::*;
use core::mem::size_of;
use perp_core::adl::{AdlCandidate, AdlScore};
use perp_core::Base;

pub const ADL_ROUND_SEED: &[u8] = b"adl_round";
/// Entries kept per round. A bankruptcy larger than the top entries' sizes takes another round.
pub const ADL_TOP: usize = 16;
/// A round whose scans and steps have made no progress for this many seconds may be replaced by
/// a new one (a keeper that stops cannot hold ADL up; one that keeps working cannot be reset).
pub const ADL_ROUND_TTL: i64 = 60;
/// A round older than this (seconds) is expired: it deleverages no more and a new round, ranked at
/// a fresh mark, may begin.
pub const ADL_ROUND_MAX_AGE: i64 = 600;

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct AdlEntry {
    /// The candidate's margin account.
    pub key: Pubkey,
    pub score: WideI128,
    /// Size to close (absolute, base raw), decremented as the round deleverages it.
    pub size: i64,
}

#[account(zero_copy)]
#[derive(Debug)]
pub struct AdlRound {
    pub round: u64,
    pub started_at: i64,
    /// Time of the last scan or step that made progress.
    pub last_progress: i64,
    /// Mark price frozen at the start of the round; scores (the ranking) use it. Closing prices
    /// use a live mark.
    pub mark: u64,
    /// Profitable counterparty positions seen (entries beyond `ADL_TOP` are not kept).
    pub profitable_seen: u32,
    pub market_index: u16,
    /// Counterparty side: 1 = longs, 2 = shorts.
    pub side: u8,
    pub num_entries: u8,
    pub bump: u8,
    pub _pad: [u8; 7],
    pub entries: [AdlEntry; ADL_TOP],
}

pub const ADL_ROUND_SIZE: usize = 944;
const _: () = assert!(size_of::<AdlEntry>() == 56);
const _: () = assert!(size_of::<AdlRound>() == ADL_ROUND_SIZE);

impl AdlEntry {
    pub fn candidate(&self) -> AdlCandidate {
        AdlCandidate { key: self.key.to_bytes(), size: Base(self.size), score: AdlScore(self.score.get()) }
    }
}

impl AdlRound {
    /// Entries in use (the stored count, never more than the array holds).
    pub fn entry_count(&self) -> usize {
        (self.num_entries as usize).min(ADL_TOP)
    }

    /// Inserts a candidate keeping entries in ranking order (score desc, key asc); the lowest
    /// falls off when full.
    pub fn insert(&mut self, c: &AdlCandidate) {
        let n = self.entry_count();
        let pos = self.entries[..n].iter().position(|e| perp_core::adl::ranks_before(c, &e.candidate())).unwrap_or(n);
        if pos >= ADL_TOP {
            return;
        }
        let last = n.min(ADL_TOP - 1);
        let mut i = last;
        while i > pos {
            self.entries[i] = self.entries[i - 1];
            i -= 1;
        }
        self.entries[pos] =
            AdlEntry { key: Pubkey::new_from_array(c.key), score: WideI128::new(c.score.0), size: c.size.0 };
        if n < ADL_TOP {
            self.num_entries += 1;
        }
    }

    /// Index of the first entry that still has size (the next candidate to deleverage).
    pub fn cursor(&self) -> usize {
        self.entries[..self.entry_count()].iter().position(|e| e.size > 0).unwrap_or(self.entry_count())
    }

    /// True when every profitable counterparty position of the market is among the entries.
    pub fn holds_all_profitable(&self) -> bool {
        self.profitable_seen as usize <= ADL_TOP
    }

    pub fn is_expired(&self, now: i64) -> bool {
        now.saturating_sub(self.started_at) > ADL_ROUND_MAX_AGE
    }

    pub fn is_stalled(&self, now: i64) -> bool {
        now.saturating_sub(self.last_progress) > ADL_ROUND_TTL
    }
}
