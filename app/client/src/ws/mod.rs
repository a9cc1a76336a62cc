//! A keeper's account cache fed by websocket subscriptions, as a [`Chain`] over an [`RpcChain`].
//!
//! - `programSubscribe` on the perp program, filtered to margin accounts (data size and
//!   discriminator), and `accountSubscribe` for the exchange, every market and every market's
//!   oracle accounts, at the chain's commitment.
//! - A full resync over JSON-RPC (`getProgramAccounts` with the same filters, `getMultipleAccounts`)
//!   right after subscribing, then every `resync` interval in a task of its own (notifications keep
//!   being applied meanwhile, merged by slot): what a notification missed is
//!   repaired, margin accounts that no longer exist leave the cache. A market added since the
//!   last subscription makes the task subscribe again.
//! - A `slotSubscribe` stream is the heartbeat: no slot for 10 s counts as a dropped connection
//!   (a half-open TCP connection delivers nothing and reports no error).
//! - A dropped connection (the node restarted, a proxy cut it, the stream ended) marks the cache
//!   not live: reads go to JSON-RPC until the task has reconnected (backing off from 250 ms to
//!   `max_backoff`), subscribed again and resynced.
//! - Each entry keeps the slot it was read at (a notification's slot, a JSON-RPC read's context
//!   slot); an older read never overwrites a newer one, so a lagging node behind a load balancer
//!   cannot put an older state over a newer notification. Reads and notifications labelled
//!   beyond the slot bound (an independent JSON-RPC node's `getSlot`, asked every 2 s, or without
//!   one the connection's own slot stream, plus 150 slots) are refused, so a lying node can pin
//!   an entry for a minute at most (N-5); notifications with keys that do not parse, or that are
//!   not margin accounts of the program, are ignored.
//! - After a transaction is sent, the accounts it wrote are read again over JSON-RPC, so the next
//!   read of the same pass does not see the state before it; after a refusal too, so a stale
//!   entry that made the keeper try is repaired before it tries again.
//!
//! Reads of accounts the cache does not track, transactions and the clock go to JSON-RPC.
//! [`WsChain::wake`] is notified when a market or oracle account changes, so a keeper can run its
//! pass as soon as a price moves instead of at its next interval.

use crate::chain::{AccountData, Chain, ChainError, ChainResult, SendOptions};
use crate::rpc::{program_filters, RpcChain};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::Discriminator;
use futures_util::stream::{select_all, BoxStream, StreamExt};
use perp::state::{Exchange, MarginAccount, Market};
use solana_account_decoder_client_types::{UiAccount, UiAccountEncoding};
use solana_keypair::Keypair;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

mod state;
use state::State;

#[cfg(test)]
mod url_tests {
    use super::{check_ws_url, SlotBound, SILENCE};
    use std::time::{Duration, Instant};

    /// F-5: a slot source that stops rising (repeats a slot, goes back, errors) is silent: the
    /// session's deadline stays where the last rise put it, and only a higher slot moves it.
    #[test]
    fn attack_slot_source_repeats_a_frozen_slot() {
        let t0 = Instant::now();
        let mut b = SlotBound::new(t0);
        assert_eq!(b.answer(Some(100), t0), Some(100));
        assert_eq!(b.deadline(), t0 + SILENCE);
        for (i, got) in [Some(100), Some(99), None, Some(100)].into_iter().enumerate() {
            let t = t0 + Duration::from_secs(3 * (i as u64 + 1));
            assert_eq!(b.answer(got, t), None, "{got:?} is no progress");
            assert_eq!(b.deadline(), t0 + SILENCE, "the deadline did not move");
        }
        let t = t0 + Duration::from_secs(9);
        assert_eq!(b.answer(Some(101), t), Some(101));
        assert_eq!(b.deadline(), t + SILENCE);
    }

    #[test]
    fn plain_websockets_only_to_this_machine() {
        for ok in ["ws://127.0.0.1:8900", "ws://localhost:8900/", "ws://[::1]:8900", "wss://rpc.example.com"] {
            assert!(check_ws_url(ok).is_ok(), "{ok}");
        }
        for bad in
            ["ws://10.0.0.5:8900", "ws://rpc.example.com", "ws://127.0.0.1.example.com:8900", "http://127.0.0.1:8899"]
        {
            assert!(check_ws_url(bad).is_err(), "{bad}");
        }
    }
}

/// The independent slot source's answers: the highest slot seen, and when it last rose.
struct SlotBound {
    slot: u64,
    rose: Instant,
}

impl SlotBound {
    fn new(now: Instant) -> Self {
        SlotBound { slot: 0, rose: now }
    }

    /// Takes one answer (`None`: an error); the new slot when it is higher than any before.
    fn answer(&mut self, got: Option<u64>, now: Instant) -> Option<u64> {
        let slot = got.filter(|s| *s > self.slot)?;
        (self.slot, self.rose) = (slot, now);
        Some(slot)
    }

    /// When the session ends unless the slot has risen by then.
    fn deadline(&self) -> Instant {
        self.rose + SILENCE
    }
}

#[derive(Clone)]
pub struct WsConfig {
    /// Websocket endpoint (`ws://host:port`, the JSON-RPC port + 1 on a validator).
    pub url: String,
    /// Full resync over JSON-RPC this often.
    pub resync: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// An independent JSON-RPC node whose `getSlot` bounds the slots the cache accepts (N-5);
    /// without one, the websocket node's own slot stream does (a lying node can then pin an entry
    /// for as long as it keeps its slot stream ahead).
    pub slot_source: Option<Arc<RpcChain>>,
}

impl WsConfig {
    pub fn new(url: &str) -> WsConfig {
        WsConfig {
            url: url.to_string(),
            resync: Duration::from_secs(30),
            max_backoff: Duration::from_secs(10),
            slot_source: None,
        }
    }
}

/// Refuses a websocket URL without TLS to a host that is not this machine (N-5): an unencrypted
/// connection over a network lets anyone on the path feed the keeper's cache.
pub fn check_ws_url(url: &str) -> Result<(), String> {
    if url.starts_with("wss://") {
        return Ok(());
    }
    if !url.starts_with("ws://") {
        return Err(format!("{url}: not a websocket URL (ws:// or wss://)"));
    }
    if crate::rpc::is_loopback_url(url) {
        Ok(())
    } else {
        Err(format!("{url}: an unencrypted websocket to another host; use wss:// (TLS)"))
    }
}

/// What the cache has done so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheStats {
    pub live: bool,
    /// Accounts tracked now (margin accounts + exchange, markets, oracles).
    pub accounts: usize,
    pub margin_accounts: usize,
    /// Account notifications applied.
    pub notifications: u64,
    pub resyncs: u64,
    /// Connections made (the first one included).
    pub connections: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Accounts read per second by the last full resync.
    pub resync_accounts_per_s: f64,
    /// Reads and notifications refused for a slot beyond the bound.
    pub refused_ahead: u64,
    /// Reads served from the cache / sent to JSON-RPC.
    pub hits: u64,
    pub misses: u64,
}

/// What wakes a keeper: notified on each market or oracle change, with the time of the latest.
#[derive(Clone)]
pub struct Wake {
    notify: Arc<Notify>,
    last: Arc<Mutex<Option<Instant>>>,
}

impl Wake {
    pub async fn notified(&self) {
        self.notify.notified().await
    }
    /// When the latest market or oracle notification arrived.
    pub fn last_update(&self) -> Option<Instant> {
        *self.last.lock().unwrap()
    }
    fn fire(&self) {
        *self.last.lock().unwrap() = Some(Instant::now());
        self.notify.notify_one();
    }
}

struct Shared {
    state: Mutex<State>,
    wake: Wake,
}

pub struct WsChain {
    rpc: Arc<RpcChain>,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WsChain {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A connection that delivers no slot notification for this long is treated as dead.
const SILENCE: Duration = Duration::from_secs(10);
/// A read or notification this many slots past the slot bound (about a minute) is refused: an
/// entry labelled with a slot far ahead would never be overwritten by the truth.
const MAX_SLOTS_AHEAD: u64 = 150;
/// How often the independent slot source is asked.
const SLOT_POLL: Duration = Duration::from_secs(2);

fn margin_len() -> usize {
    8 + perp::state::MARGIN_ACCOUNT_SIZE
}

impl WsChain {
    /// Starts the subscription task (on the current tokio runtime) and returns at once: until the
    /// first resync has finished every read goes to JSON-RPC.
    pub fn start(rpc: RpcChain, cfg: WsConfig) -> WsChain {
        let rpc = Arc::new(rpc);
        let wake = Wake { notify: Arc::new(Notify::new()), last: Arc::default() };
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), wake });
        let task = tokio::spawn(run(rpc.clone(), shared.clone(), cfg));
        WsChain { rpc, shared, task }
    }

    /// Notified when a market or oracle account changes.
    pub fn wake(&self) -> Wake {
        self.shared.wake.clone()
    }

    pub fn stats(&self) -> CacheStats {
        let mut s = self.shared.state.lock().unwrap();
        s.refresh_counts();
        s.stats.clone()
    }

    pub fn rpc(&self) -> &RpcChain {
        &self.rpc
    }

    fn cached(&self, key: &Pubkey) -> Option<AccountData> {
        let mut s = self.shared.state.lock().unwrap();
        if !s.live || !s.tracks(key) {
            s.stats.misses += 1;
            return None;
        }
        let hit = s.entries.get(key).and_then(|e| e.data.clone());
        if hit.is_some() {
            s.stats.hits += 1;
        } else {
            s.stats.misses += 1;
        }
        hit
    }
}

impl Chain for WsChain {
    async fn account(&self, key: &Pubkey) -> ChainResult<Option<AccountData>> {
        match self.cached(key) {
            Some(a) => Ok(Some(a)),
            None => self.rpc.account(key).await,
        }
    }

    async fn accounts(&self, keys: &[Pubkey]) -> ChainResult<Vec<Option<AccountData>>> {
        let mut out: Vec<Option<AccountData>> = keys.iter().map(|k| self.cached(k)).collect();
        let missing: Vec<Pubkey> = keys.iter().zip(&out).filter(|(_, a)| a.is_none()).map(|(k, _)| *k).collect();
        if !missing.is_empty() {
            let mut fetched = self.rpc.accounts(&missing).await?.into_iter();
            for slot in out.iter_mut().filter(|a| a.is_none()) {
                *slot = fetched.next().flatten();
            }
        }
        Ok(out)
    }

    async fn program_accounts(&self, discriminator: &[u8], data_len: usize) -> ChainResult<Vec<(Pubkey, Vec<u8>)>> {
        if discriminator == MarginAccount::DISCRIMINATOR && data_len == margin_len() {
            let mut s = self.shared.state.lock().unwrap();
            if s.live {
                s.stats.hits += 1;
                return Ok(s.margin_accounts());
            }
        }
        self.rpc.program_accounts(discriminator, data_len).await
    }

    async fn send(&self, ixs: &[Instruction], signers: &[&Keypair], opts: &SendOptions) -> ChainResult<String> {
        let sent = self.rpc.send(ixs, signers, opts).await;
        // read back what the transaction wrote, so this pass does not act on the state before it;
        // after a refusal too (the program refused what the cache showed: it may be stale), but
        // not when the node is unreachable
        if matches!(&sent, Err(ChainError::Transport(_))) {
            return sent;
        }
        let mut written: Vec<Pubkey> = Vec::new();
        for m in ixs.iter().flat_map(|i| i.accounts.iter()).filter(|m| m.is_writable) {
            if !written.contains(&m.pubkey) {
                written.push(m.pubkey);
            }
        }
        let tracked: Vec<Pubkey> = {
            let s = self.shared.state.lock().unwrap();
            written.into_iter().filter(|k| s.tracks(k)).collect()
        };
        if !tracked.is_empty() {
            // labelled with the slot the node read them at: a lagging node's older state loses
            // to the transaction's own notification
            if let Ok((slot, accs)) = self.rpc.accounts_at(&tracked).await {
                self.shared.state.lock().unwrap().read_back(&tracked, slot, accs);
            }
        }
        sent
    }

    async fn unix_time(&self) -> ChainResult<i64> {
        self.rpc.unix_time().await
    }
}

fn is_margin_account(a: &AccountData) -> bool {
    a.owner == perp::ID && a.data.len() == margin_len() && a.data.starts_with(MarginAccount::DISCRIMINATOR)
}

fn decode_ui(a: &UiAccount) -> Option<AccountData> {
    Some(AccountData { owner: a.owner.parse().ok()?, lamports: a.lamports, data: a.data.decode()? })
}

/// The exchange, markets and oracle keys the chain has now.
async fn watch_list(rpc: &RpcChain) -> ChainResult<Vec<Pubkey>> {
    let mut keys = vec![crate::pda::exchange()];
    let ex = match rpc.account(&keys[0]).await? {
        Some(a) => crate::decode::decode::<Exchange>(&a.data).map_err(|e| ChainError::Account(e.to_string()))?,
        None => return Ok(keys),
    };
    let markets: Vec<Pubkey> = (0..ex.market_count).map(crate::pda::market).collect();
    for a in rpc.accounts(&markets).await?.into_iter().flatten() {
        if let Ok(m) = crate::decode::decode::<Market>(&a.data) {
            keys.extend(crate::ix::market_oracles(&m));
        }
    }
    keys.extend(markets);
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// A full read over JSON-RPC: margin accounts (replacing the set) and the watched accounts.
async fn resync(rpc: &RpcChain, shared: &Shared, watched: &[Pubkey]) -> ChainResult<usize> {
    let started = Instant::now();
    // each read is labelled with the slot the node answered at (its context slot), not a slot
    // asked for before: a lagging node behind a load balancer then loses to newer notifications
    let (slot, margin) = rpc.program_accounts_at(MarginAccount::DISCRIMINATOR, margin_len()).await?;
    let (watched_slot, others) = rpc.accounts_at(watched).await?;
    let n = margin.len() + watched.len();
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let mut s = shared.state.lock().unwrap();
    s.apply_resync(slot, margin, watched, watched_slot, others);
    s.stats.resyncs += 1;
    s.stats.resync_accounts_per_s = n as f64 / secs;
    s.refresh_counts();
    Ok(n)
}

type Update = (Pubkey, u64, Option<AccountData>, bool);

/// One connection: subscribe, resync, apply notifications until the connection drops or the
/// watched set changes. Returns why it ended.
/// A spawned task aborted when dropped (a session that ends stops its resync).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The periodic resync, in its own task so notifications keep flowing while it reads: `Some`
/// when the watched set changed and the session must subscribe again.
async fn periodic_resync(
    rpc: Arc<RpcChain>,
    shared: Arc<Shared>,
    watched: Vec<Pubkey>,
) -> Result<Option<String>, String> {
    let now = watch_list(&rpc).await.map_err(|e| format!("watch list: {e}"))?;
    if now != watched {
        return Ok(Some("the markets or oracles changed; subscribing again".into()));
    }
    resync(&rpc, &shared, &watched).await.map_err(|e| format!("resync: {e}"))?;
    Ok(None)
}

async fn session(rpc: &Arc<RpcChain>, shared: &Arc<Shared>, cfg: &WsConfig) -> Result<String, String> {
    let watched = watch_list(rpc).await.map_err(|e| format!("watch list: {e}"))?;
    let client = PubsubClient::new(cfg.url.as_str()).await.map_err(|e| format!("connect {}: {e}", cfg.url))?;
    let commitment = Some(rpc.client().commitment());
    let acfg = RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), commitment, ..Default::default() };
    let pcfg = RpcProgramAccountsConfig {
        filters: Some(program_filters(MarginAccount::DISCRIMINATOR, margin_len())),
        account_config: acfg.clone(),
        ..Default::default()
    };
    let mut streams: Vec<BoxStream<'_, Update>> = Vec::new();
    let (program_stream, _unsub) =
        client.program_subscribe(&perp::ID, Some(pcfg)).await.map_err(|e| format!("programSubscribe: {e}"))?;
    streams.push(
        program_stream
            .filter_map(|r| {
                // a key that does not parse is dropped; data that is not a margin account of the
                // program (what the filters asked for) is applied as nothing
                let update = r
                    .value
                    .pubkey
                    .parse::<Pubkey>()
                    .ok()
                    .map(|key| (key, r.context.slot, decode_ui(&r.value.account).filter(is_margin_account), true));
                futures_util::future::ready(update)
            })
            .boxed(),
    );
    let mut unsubs = Vec::new();
    for k in &watched {
        let (st, unsub) =
            client.account_subscribe(k, Some(acfg.clone())).await.map_err(|e| format!("accountSubscribe {k}: {e}"))?;
        let key = *k;
        streams.push(st.map(move |r| (key, r.context.slot, decode_ui(&r.value), false)).boxed());
        unsubs.push(unsub);
    }
    // slots arrive every ~400 ms: none for `SILENCE` means a half-open connection
    let (mut slots, _slot_unsub) = client.slot_subscribe().await.map_err(|e| format!("slotSubscribe: {e}"))?;
    // a new connection may be to a node that restarted at an older slot (or a new chain): forget
    // what the last one said, then, subscribed first, read everything (nothing in between is missed)
    let bound_source: &RpcChain = cfg.slot_source.as_deref().unwrap_or(rpc);
    let anchor = bound_source.client().get_slot().await.map_err(|e| format!("getSlot (slot bound): {e}"))?;
    {
        let mut s = shared.state.lock().unwrap();
        s.forget();
        s.ceiling = anchor.saturating_add(MAX_SLOTS_AHEAD);
    }
    resync(rpc, shared, &watched).await.map_err(|e| format!("resync: {e}"))?;
    {
        let mut s = shared.state.lock().unwrap();
        s.live = true;
        s.stats.connections += 1;
        s.refresh_counts();
    }
    tracing::info!(target: "ws", url = %cfg.url, watched = watched.len(), "subscribed; cache live");
    shared.wake.fire();
    let mut all = select_all(streams);
    let mut resync_timer = tokio::time::interval(cfg.resync);
    resync_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    resync_timer.tick().await;
    let mut report = tokio::time::interval(Duration::from_secs(30));
    report.tick().await;
    let (mut seen, mut since) = (0u64, Instant::now());
    let mut last_slot = Instant::now();
    let mut pending: Option<AbortOnDrop<Result<Option<String>, String>>> = None;
    let mut slot_poll = tokio::time::interval(SLOT_POLL);
    slot_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut slot_ask: Option<AbortOnDrop<Option<u64>>> = None;
    // the independent slot source must keep answering with a rising slot: a ceiling that stops
    // rising would refuse every honest read while the cache still looked live (a source that
    // errors, hangs or repeats itself ends the session after `SILENCE`)
    let mut bound = SlotBound::new(Instant::now());
    loop {
        tokio::select! {
            s = slots.next() => {
                let Some(info) = s else {
                    return Err("slot stream ended (connection closed)".into());
                };
                last_slot = Instant::now();
                // without an independent source the stream itself bounds the slots
                if cfg.slot_source.is_none() {
                    shared.state.lock().unwrap().raise_ceiling(info.slot.saturating_add(MAX_SLOTS_AHEAD));
                }
            }
            _ = slot_poll.tick(), if cfg.slot_source.is_some() && slot_ask.is_none() => {
                let src = cfg.slot_source.clone().expect("guarded");
                slot_ask = Some(AbortOnDrop(tokio::spawn(async move { src.client().get_slot().await.ok() })));
            }
            got = async { (&mut slot_ask.as_mut().expect("guarded").0).await }, if slot_ask.is_some() => {
                slot_ask = None;
                if let Some(slot) = bound.answer(got.ok().flatten(), Instant::now()) {
                    shared.state.lock().unwrap().raise_ceiling(slot.saturating_add(MAX_SLOTS_AHEAD));
                }
            }
            _ = tokio::time::sleep_until(bound.deadline().into()), if cfg.slot_source.is_some() => {
                return Err(format!("the slot source has not shown a new slot for {} s", SILENCE.as_secs()));
            }
            _ = tokio::time::sleep_until((last_slot + SILENCE).into()) => {
                return Err(format!("no slot notification for {} s (connection half-open?)", SILENCE.as_secs()));
            }
            _ = report.tick() => {
                let s = { let mut s = shared.state.lock().unwrap(); s.refresh_counts(); s.stats.clone() };
                let rate = (s.notifications - seen) as f64 / since.elapsed().as_secs_f64();
                (seen, since) = (s.notifications, Instant::now());
                tracing::info!(target: "ws", accounts = s.accounts, margin_accounts = s.margin_accounts,
                    notifications = s.notifications, notifications_per_s = format!("{rate:.1}"),
                    resyncs = s.resyncs, resync_accounts_per_s = format!("{:.0}", s.resync_accounts_per_s),
                    connections = s.connections, disconnects = s.disconnects, hits = s.hits, misses = s.misses, "cache");
            }
            next = all.next() => {
                let Some((key, slot, data, is_margin)) = next else {
                    return Err("subscription stream ended (connection closed)".into());
                };
                let Some(data) = data else { continue };
                let (applied, ceiling) = {
                    let mut s = shared.state.lock().unwrap();
                    (s.apply_notification(key, slot, data, is_margin), s.ceiling)
                };
                if slot > ceiling {
                    tracing::warn!(target: "ws", account = %key, slot, ceiling, "notification beyond the slot bound: ignored");
                }
                if applied && !is_margin {
                    shared.wake.fire();
                }
            }
            _ = resync_timer.tick(), if pending.is_none() => {
                pending = Some(AbortOnDrop(tokio::spawn(periodic_resync(rpc.clone(), shared.clone(), watched.clone()))));
            }
            done = async { (&mut pending.as_mut().expect("guarded").0).await }, if pending.is_some() => {
                pending = None;
                // the next resync a full interval after this one ended, even when it took longer
                // than the interval (a tick missed meanwhile would fire at once)
                resync_timer.reset();
                match done {
                    Ok(Ok(None)) => {}
                    Ok(Ok(Some(reason))) => return Ok(reason),
                    Ok(Err(e)) => return Err(e),
                    Err(e) => return Err(format!("resync task: {e}")),
                }
            }
        }
    }
}

async fn run(rpc: Arc<RpcChain>, shared: Arc<Shared>, cfg: WsConfig) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = Instant::now();
        let why = session(&rpc, &shared, &cfg).await;
        {
            let mut s = shared.state.lock().unwrap();
            if s.live {
                s.stats.disconnects += 1;
            }
            s.live = false;
            s.refresh_counts();
        }
        match why {
            Ok(reason) => tracing::info!(target: "ws", %reason, "resubscribing"),
            Err(reason) => {
                tracing::warn!(target: "ws", %reason, retry_in_ms = backoff.as_millis() as u64, "cache not live; reads go to JSON-RPC")
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}
