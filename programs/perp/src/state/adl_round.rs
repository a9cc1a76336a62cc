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
/// An incomplete round may be restarted by anyone after this many seconds.
pub const ADL_ROUND_TTL: i64 = 300;

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
    /// Mark price frozen at the start of the round; scores use it.
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

pub const ADL_ROUND_SIZE: usize = 936;
const _: () = assert!(size_of::<AdlEntry>() == 56);
const _: () = assert!(size_of::<AdlRound>() == ADL_ROUND_SIZE);

impl AdlEntry {
    pub fn candidate(&self) -> AdlCandidate {
        AdlCandidate { key: self.key.to_bytes(), size: Base(self.size), score: AdlScore(self.score.get()) }
    }
}

impl AdlRound {
    /// Inserts a candidate keeping entries in ranking order (score desc, key asc); the lowest
    /// falls off when full.
    pub fn insert(&mut self, c: &AdlCandidate) {
        let n = self.num_entries as usize;
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
        self.entries[..self.num_entries as usize].iter().position(|e| e.size > 0).unwrap_or(self.num_entries as usize)
    }

    /// True when every profitable counterparty position of the market is among the entries.
    pub fn holds_all_profitable(&self) -> bool {
        self.profitable_seen as usize <= ADL_TOP
    }
}
