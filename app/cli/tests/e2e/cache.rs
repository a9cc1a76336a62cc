//! The keeper's websocket cache against a local node: how many new accounts per second it picks
//! up from `programSubscribe` notifications, and how fast a full resync reads them.

use crate::cluster::*;
use perp_client::chain::Chain;
use perp_client::rpc::{Retry, RpcChain};
use perp_client::ws::{WsChain, WsConfig};
use perp_client::{ix, MarginAccount};
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;
use std::time::{Duration, Instant};

const ACCOUNTS: u16 = 240;
const PER_TX: u16 = 8;

#[test]
#[ignore = "needs the SBF build and perp-validator (scripts/build-sbf; run with --include-ignored)"]
fn e2e_ws_cache_tracks_new_accounts() {
    let _g = serial();
    let dir = crate::tempdir();
    let ports = Ports { base: 27_000 };
    let (_localnet, ready) = start_localnet(ports, &dir.join("ledger"), true, true);
    let rpc = ready["rpc"].as_str().unwrap().to_string();
    let (_, owner) = keypair(&dir, "owner");
    cli(&rpc, None, &["localnet", "faucet", "--to", &owner.pubkey().to_string(), "--usdc", "0", "--sol", "100"]);
    let r = crate::rt();
    r.block_on(async {
        let chain = || RpcChain::new(&rpc, CommitmentConfig::confirmed(), Retry::default());
        // resyncing every second: periodic resyncs run while the notifications of the burst arrive
        let mut wc = WsConfig::new(&ports.ws_url());
        wc.resync = Duration::from_secs(1);
        let cache = WsChain::start(chain(), wc);
        let t = Instant::now();
        while !cache.stats().live {
            assert!(t.elapsed() < Duration::from_secs(30), "cache never live");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let before = cache.stats().margin_accounts;
        // a burst: ACCOUNTS margin accounts in transactions of PER_TX, sent without waiting
        let c = chain();
        let bh = c.client().get_latest_blockhash().await.unwrap();
        let start = Instant::now();
        let mut sigs = Vec::new();
        for first in (0..ACCOUNTS).step_by(PER_TX as usize) {
            let ixs: Vec<_> = (first..first + PER_TX).map(|id| ix::create_margin_account(owner.pubkey(), id)).collect();
            let tx = solana_transaction::Transaction::new_signed_with_payer(&ixs, Some(&owner.pubkey()), &[&owner], bh);
            sigs.push(c.client().send_transaction(&tx).await.expect("sent"));
        }
        let sent = start.elapsed();
        let want = before + ACCOUNTS as usize;
        while cache.stats().margin_accounts < want {
            assert!(start.elapsed() < Duration::from_secs(120), "cache has {} of {want}", cache.stats().margin_accounts);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let tracked = start.elapsed();
        let s = cache.stats();
        assert!(s.notifications >= ACCOUNTS as u64, "{s:?}");
        // a few more periodic resyncs, merged with what the notifications said: nothing lost or doubled
        let r0 = cache.stats().resyncs;
        while cache.stats().resyncs < r0 + 2 {
            assert!(start.elapsed() < Duration::from_secs(120), "no periodic resync");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(cache.stats().margin_accounts, want);
        assert_eq!(cache.stats().disconnects, 0, "{:?}", cache.stats());
        // the cache answers the keeper's scan with every account, as getProgramAccounts does
        let from_cache = perp_client::chain::fetch_all_margin_accounts(&cache).await.unwrap();
        let from_rpc = perp_client::chain::fetch_all_margin_accounts(&c).await.unwrap();
        assert_eq!(from_cache.len(), from_rpc.len());
        assert_eq!(from_cache.iter().map(|(k, _)| *k).collect::<Vec<_>>(), {
            let mut v: Vec<_> = from_rpc.iter().map(|(k, _)| *k).collect();
            v.sort();
            v
        });
        // the node says which slot it read them at (the cache labels its entries with it)
        let slot_before = c.client().get_slot().await.unwrap();
        let (read_at, listed) = c
            .program_accounts_at(<MarginAccount as anchor_lang::Discriminator>::DISCRIMINATOR, 8 + perp::state::MARGIN_ACCOUNT_SIZE)
            .await
            .unwrap();
        assert_eq!(listed.len(), from_rpc.len());
        assert!(read_at > 0 && read_at + 64 >= slot_before, "context slot {read_at}, slot before {slot_before}");
        let (multi_at, _) = c.accounts_at(&[perp_client::pda::exchange()]).await.unwrap();
        assert!(multi_at > 0 && multi_at + 64 >= slot_before, "context slot {multi_at}, slot before {slot_before}");
        let hits_before = cache.stats().hits;
        let _ = cache.program_accounts(<MarginAccount as anchor_lang::Discriminator>::DISCRIMINATOR, 8 + perp::state::MARGIN_ACCOUNT_SIZE).await;
        assert_eq!(cache.stats().hits, hits_before + 1, "served from the cache");
        // a second cache starting now reads them all in its first resync
        let fresh = WsChain::start(chain(), WsConfig::new(&ports.ws_url()));
        let t = Instant::now();
        while !fresh.stats().live {
            assert!(t.elapsed() < Duration::from_secs(30), "second cache never live");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let f = fresh.stats();
        assert!(f.margin_accounts >= want);
        eprintln!(
            "[e2e] websocket cache: {ACCOUNTS} new margin accounts ({} transactions sent in {:.0} ms) tracked from notifications \
             {:.0} ms after the first send: {:.0} accounts/s end to end; a full resync read {} accounts at {:.0} accounts/s",
            sigs.len(),
            sent.as_secs_f64() * 1e3,
            tracked.as_secs_f64() * 1e3,
            ACCOUNTS as f64 / tracked.as_secs_f64(),
            f.accounts,
            f.resync_accounts_per_s
        );
    });
}
