//! The cache's contents and how reads merge into them, by slot. Kept apart from the connection
//! handling so each rule is a unit test:
//!
//! 1. An entry keeps the slot it was read at; a read or notification older than the entry is
//!    dropped (a lagging node behind a load balancer cannot put an older state back).
//! 2. A closed account is a tombstone at the slot it was seen closed, so an older notification
//!    still queued cannot bring it back; a resync's tombstones last until the next resync.
//! 3. The margin set is what `getProgramAccounts` lists (unless closed since) plus what margin
//!    notifications add; an account stored first by a newer read-back stays in the set.
//! 4. A read-back after a transaction only updates accounts still tracked (a reconnect may have
//!    emptied the cache meanwhile).

use super::CacheStats;
use crate::chain::AccountData;
use anchor_lang::prelude::Pubkey;
use std::collections::{HashMap, HashSet};

/// A cached account at the slot it was read; `None`: known closed at that slot (a tombstone).
pub(super) struct Entry {
    pub slot: u64,
    pub data: Option<AccountData>,
}

#[derive(Default)]
pub(super) struct State {
    pub live: bool,
    /// The highest slot a read or notification may carry (N-5): set from an independent JSON-RPC
    /// node's `getSlot` (or, without one, this connection's own slot stream) plus a margin. Until
    /// it is known, nothing is stored. An entry labelled beyond the chain's real slot could never
    /// be overwritten by the truth; with the ceiling it lasts at most the margin.
    pub ceiling: u64,
    pub entries: HashMap<Pubkey, Entry>,
    pub margin: HashSet<Pubkey>,
    /// Exchange, markets and oracles (subscribed one by one).
    pub watched: HashSet<Pubkey>,
    pub stats: CacheStats,
}

impl State {
    /// Stores what was read at `slot` unless a newer read (or closure) is already there (rule 1).
    pub fn put(&mut self, key: Pubkey, slot: u64, data: Option<AccountData>) -> bool {
        if slot > self.ceiling {
            self.stats.refused_ahead += 1;
            return false;
        }
        match self.entries.get(&key) {
            Some(e) if e.slot > slot => false,
            _ => {
                if data.is_none() {
                    self.margin.remove(&key);
                }
                self.entries.insert(key, Entry { slot, data });
                true
            }
        }
    }

    pub fn tracks(&self, key: &Pubkey) -> bool {
        self.margin.contains(key) || self.watched.contains(key)
    }

    /// A notification: applied unless older than the entry; a margin account joins the set.
    pub fn apply_notification(&mut self, key: Pubkey, slot: u64, data: AccountData, is_margin: bool) -> bool {
        if !self.put(key, slot, Some(data)) {
            return false;
        }
        if is_margin {
            self.margin.insert(key);
        }
        self.stats.notifications += 1;
        true
    }

    /// A full read: the margin accounts at `slot` (the whole set), the watched accounts at
    /// `watched_slot` (rules 1-3).
    pub fn apply_resync(
        &mut self,
        slot: u64,
        margin: Vec<(Pubkey, AccountData)>,
        watched: &[Pubkey],
        watched_slot: u64,
        others: Vec<Option<AccountData>>,
    ) {
        let listed: HashSet<Pubkey> = margin.iter().map(|(k, _)| *k).collect();
        // margin accounts gone since (closed): a tombstone, unless a newer notification has them
        let gone: Vec<Pubkey> = self.margin.difference(&listed).copied().collect();
        for k in gone {
            self.put(k, slot, None);
        }
        for (k, a) in margin {
            self.put(k, slot, Some(a));
            if self.entries.get(&k).is_some_and(|e| e.data.is_some()) {
                self.margin.insert(k);
            }
        }
        self.watched = watched.iter().copied().collect();
        for (k, a) in watched.iter().zip(others) {
            self.put(*k, watched_slot, a);
        }
        // tombstones older than this read have done their job; this read's own stay
        self.entries.retain(|_, e| e.data.is_some() || e.slot >= slot);
    }

    /// What a transaction wrote, read again at `slot` (rule 4).
    pub fn read_back(&mut self, keys: &[Pubkey], slot: u64, accounts: Vec<Option<AccountData>>) {
        for (k, a) in keys.iter().zip(accounts) {
            if self.tracks(k) {
                self.put(*k, slot, a);
            }
        }
    }

    /// Raises the slot ceiling to `slot` (never lowers it).
    pub fn raise_ceiling(&mut self, slot: u64) {
        self.ceiling = self.ceiling.max(slot);
    }

    /// A new connection: what the last one said is forgotten.
    pub fn forget(&mut self) {
        self.entries.clear();
        self.margin.clear();
        self.watched.clear();
    }

    pub fn refresh_counts(&mut self) {
        self.stats.accounts = self.entries.values().filter(|e| e.data.is_some()).count();
        self.stats.margin_accounts = self.margin.len();
        self.stats.live = self.live;
    }

    /// The margin accounts with data, by key.
    pub fn margin_accounts(&self) -> Vec<(Pubkey, Vec<u8>)> {
        let mut v: Vec<(Pubkey, Vec<u8>)> = self
            .margin
            .iter()
            .filter_map(|k| self.entries.get(k)?.data.as_ref().map(|d| (*k, d.data.clone())))
            .collect();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(tag: u8) -> AccountData {
        AccountData { owner: perp::ID, lamports: 1, data: vec![tag; 4] }
    }

    /// A state whose slot bound is far away (the merge rules alone).
    fn open() -> State {
        State { ceiling: u64::MAX, ..Default::default() }
    }

    fn data(s: &State, k: &Pubkey) -> Option<u8> {
        s.entries.get(k).and_then(|e| e.data.as_ref()).map(|d| d.data[0])
    }

    #[test]
    fn a_lagging_node_s_older_read_loses_to_a_newer_notification() {
        // a notification at slot 110; then a resync answered by a node behind, at slot 100
        let mut s = open();
        let (m, oracle) = (Pubkey::new_unique(), Pubkey::new_unique());
        s.apply_resync(90, vec![(m, acc(1))], &[oracle], 90, vec![Some(acc(1))]);
        assert!(s.apply_notification(m, 110, acc(2), true));
        assert!(s.apply_notification(oracle, 110, acc(2), false));
        s.apply_resync(100, vec![(m, acc(1))], &[oracle], 100, vec![Some(acc(1))]);
        assert_eq!(data(&s, &m), Some(2));
        assert_eq!(data(&s, &oracle), Some(2));
        // a read-back from the lagging node, labelled with its own context slot, loses too
        s.read_back(&[m, oracle], 105, vec![Some(acc(3)), Some(acc(3))]);
        assert_eq!((data(&s, &m), data(&s, &oracle)), (Some(2), Some(2)));
        // a newer read wins
        s.read_back(&[m], 111, vec![Some(acc(4))]);
        assert_eq!(data(&s, &m), Some(4));
        assert_eq!(s.margin_accounts().len(), 1);
    }

    #[test]
    fn a_lagging_resync_does_not_drop_an_account_created_after_it() {
        let mut s = open();
        let new = Pubkey::new_unique();
        assert!(s.apply_notification(new, 120, acc(1), true));
        // the node read at 100 does not list it yet
        s.apply_resync(100, vec![], &[], 100, vec![]);
        assert_eq!(data(&s, &new), Some(1));
        assert!(s.margin.contains(&new));
    }

    #[test]
    fn a_resync_tombstone_keeps_an_older_notification_from_reviving_a_closed_account() {
        let mut s = open();
        let m = Pubkey::new_unique();
        s.apply_resync(100, vec![(m, acc(1))], &[], 100, vec![]);
        // closed by slot 200: the resync at 200 does not list it
        s.apply_resync(200, vec![], &[], 200, vec![]);
        assert!(!s.margin.contains(&m));
        assert!(s.entries.get(&m).is_some_and(|e| e.data.is_none()), "the tombstone stays until the next resync");
        // a notification from slot 150, still queued, arrives now
        assert!(!s.apply_notification(m, 150, acc(2), true));
        assert!(s.margin_accounts().is_empty());
        // the next resync retires the tombstone
        s.apply_resync(300, vec![], &[], 300, vec![]);
        assert!(!s.entries.contains_key(&m));
    }

    #[test]
    fn an_account_read_back_across_a_reconnect_stays_in_the_margin_set() {
        let m = Pubkey::new_unique();
        // a send decided to read m back; a reconnect forgot everything before the read returned
        let mut s = open();
        s.apply_resync(100, vec![(m, acc(1))], &[], 100, vec![]);
        s.forget();
        s.read_back(&[m], 210, vec![Some(acc(2))]);
        assert!(!s.entries.contains_key(&m), "not tracked any more: not stored");
        // the new session's resync (read at 200) lists it
        s.apply_resync(200, vec![(m, acc(1))], &[], 200, vec![]);
        assert_eq!(s.margin_accounts(), vec![(m, vec![1; 4])]);

        // an entry newer than the resync, stored while m was not in the set (the old code lost
        // m from the set for good: the resync's older read was refused, and membership with it)
        let mut s = open();
        s.entries.insert(m, Entry { slot: 210, data: Some(acc(2)) });
        s.apply_resync(205, vec![(m, acc(1))], &[], 205, vec![]);
        assert!(s.margin.contains(&m), "listed by getProgramAccounts: in the margin set");
        assert_eq!(s.margin_accounts(), vec![(m, vec![2; 4])]);
    }
}

/// N-5: a node that labels a poisoned account with a slot far ahead cannot pin it: beyond the
/// slot bound it is not stored, and within the bound it lasts only until the honest chain reaches
/// that slot; the honest resync then wins.
#[cfg(test)]
#[test]
fn attack_ws_node_pins_a_poisoned_oracle() {
    let mut s = State { ceiling: 1_000 + 150, ..Default::default() };
    let oracle = Pubkey::new_unique();
    let honest = AccountData { owner: perp::ID, lamports: 1, data: vec![1; 4] };
    let poison = AccountData { owner: perp::ID, lamports: 1, data: vec![9; 4] };
    s.apply_resync(1_000, vec![], &[oracle], 1_000, vec![Some(honest.clone())]);
    // labelled u64::MAX (or anything past the bound): refused, the honest entry stays
    assert!(!s.apply_notification(oracle, u64::MAX, poison.clone(), false));
    assert!(!s.apply_notification(oracle, 1_151, poison.clone(), false));
    assert_eq!(s.entries[&oracle].data.as_ref().unwrap().data[0], 1);
    assert_eq!(s.stats.refused_ahead, 2);
    // within the bound it is stored, at most 150 slots ahead of the independent slot
    assert!(s.apply_notification(oracle, 1_150, poison, false));
    assert_eq!(s.entries[&oracle].data.as_ref().unwrap().data[0], 9);
    // the honest chain passes slot 1,150 (the independent source raises the bound): the next
    // honest read wins
    s.raise_ceiling(1_160 + 150);
    s.apply_resync(1_160, vec![], &[oracle], 1_160, vec![Some(honest)]);
    assert_eq!(s.entries[&oracle].data.as_ref().unwrap().data[0], 1);
    // before any bound is known nothing is stored at all
    let mut fresh = State::default();
    assert!(!fresh.apply_notification(oracle, 1, AccountData { owner: perp::ID, lamports: 1, data: vec![9] }, false));
}
