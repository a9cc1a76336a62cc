//! Price vectors: a real market's bytes (after trades moved its vAMM) varied field by field, real
//! oracle account bytes (legacy and pull, fresh, stale, ahead, wide, outlying, partial, another
//! feed, wrong owner, missing), and the index and mark the Rust SDK computes from them
//! (`perp_client::preview::{index_view, market_state}`, the program's own code). The TypeScript
//! port (`app/ts/src/prices.ts`) must reproduce every case.

use perp::instructions::OrderSide;
use perp::state::Market;
use perp_client::chain::AccountData;
use perp_client::oracle_data::{
    legacy_account, pull_account, LEGACY_TEMPLATE, PYTH_LEGACY_PROGRAM, PYTH_RECEIVER_PROGRAM,
};
use perp_client::preview::{index_view, market_state};
use perp_core::Price;
use perp_tests::*;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;

const FEED: [u8; 32] = [9; 32];

fn hexd(d: &[u8]) -> Value {
    json!(hex::encode(d))
}

pub async fn prices() -> Value {
    let mut env = Env::new().await;
    let (a, b, c) = (Keypair::new().pubkey(), Keypair::new().pubkey(), Keypair::new().pubkey());
    env.set_legacy_oracle(a, usd(20_000), usd(10), T0);
    env.set_legacy_oracle(b, usd(20_010), usd(10), T0);
    env.set_pull_oracle(c, FEED, usd(19_990), usd(5), T0, true);
    let mut params = default_market_params(vec![legacy_oracle(a), legacy_oracle(b), pull_oracle(c, FEED)]);
    params.mark_method = 1;
    params.sample_period = 300;
    env.create_market(0, params, 1_000, usd(20_000)).await;
    let alice = env.user(100_000 * USDC, 10_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, BTC / 3)).await.unwrap();
    let base: Market = env.market(0).await;
    let ex = env.exchange().await;
    let raw = env.account_data(&perp_client::pda::market(0)).await.unwrap();

    // market variants: (label, edit)
    type Edit = fn(&mut Market);
    let variants: Vec<(&str, Edit)> = vec![
        ("impact median, stored twap", |_| {}),
        ("impact median, no twap yet", |m| {
            m.twap_time = 0;
            m.twap_bid = 0;
            m.twap_ask = 0;
        }),
        ("impact median, displaced twap", |m| {
            m.twap_bid = m.twap_bid * 11 / 10;
            m.twap_ask = m.twap_ask * 11 / 10;
        }),
        ("funding basis, positive rate", |m| {
            m.mark_method = 0;
            m.last_funding_rate = 400_000;
        }),
        ("funding basis, negative rate", |m| {
            m.mark_method = 0;
            m.last_funding_rate = -7_000_000;
        }),
        ("volume weighted, two sources needed", |m| {
            m.index_method = 1;
            m.min_sources = 2;
            m.oracles[0].weight = 3;
            m.oracles[1].weight = 5;
            m.oracles[2].weight = 7;
        }),
        ("partial verification accepted", |m| {
            m.allow_partial_verification = 1;
            m.min_signatures = 5;
        }),
        ("partial verification needs more", |m| {
            m.allow_partial_verification = 1;
            m.min_signatures = 6;
        }),
        ("three sources needed, cached index", |m| {
            m.min_sources = 3;
        }),
        ("no cached index", |m| {
            m.min_sources = 3;
            m.last_index = 0;
        }),
    ];
    let leg = |p: u64, conf: u64, t: i64| {
        Some(AccountData {
            owner: PYTH_LEGACY_PROGRAM,
            lamports: 1,
            data: legacy_account(LEGACY_TEMPLATE, Price(p), Price(conf), t),
        })
    };
    let pull = |p: u64, conf: u64, t: i64, full: bool, feed: [u8; 32]| {
        Some(AccountData {
            owner: PYTH_RECEIVER_PROGRAM,
            lamports: 1,
            data: pull_account(feed, Price(p), Price(conf), t, full),
        })
    };
    let u = |x: u64| usd(x).0;
    // oracle sets: (label, [a, b, c])
    let sets: Vec<(&str, [Option<AccountData>; 3])> = vec![
        ("all fresh", [leg(u(20_000), u(10), T0), leg(u(20_010), u(10), T0), pull(u(19_990), u(5), T0, true, FEED)]),
        (
            "one stale",
            [leg(u(20_000), u(10), T0 - 61), leg(u(20_010), u(10), T0), pull(u(19_990), u(5), T0, true, FEED)],
        ),
        (
            "one ahead",
            [leg(u(20_000), u(10), T0 + 11), leg(u(20_010), u(10), T0), pull(u(19_990), u(5), T0 + 10, true, FEED)],
        ),
        ("one wide", [leg(u(20_000), u(500), T0), leg(u(20_010), u(10), T0), pull(u(19_990), u(5), T0, true, FEED)]),
        ("one outlier", [leg(u(22_000), u(10), T0), leg(u(20_010), u(10), T0), pull(u(19_990), u(5), T0, true, FEED)]),
        (
            "partial pull",
            [leg(u(20_000), u(10), T0), leg(u(20_020), u(10), T0), pull(u(19_990), u(5), T0, false, FEED)],
        ),
        (
            "other feed",
            [leg(u(20_000), u(10), T0), leg(u(20_020), u(10), T0), pull(u(19_990), u(5), T0, true, [8; 32])],
        ),
        (
            "wrong owner and missing",
            [
                Some(AccountData {
                    owner: PYTH_RECEIVER_PROGRAM,
                    lamports: 1,
                    data: legacy_account(LEGACY_TEMPLATE, usd(20_000), usd(10), T0),
                }),
                None,
                pull(u(19_990), u(5), T0, true, FEED),
            ],
        ),
        (
            "bad data",
            [
                Some(AccountData { owner: PYTH_LEGACY_PROGRAM, lamports: 1, data: vec![0; 100] }),
                Some(AccountData {
                    owner: PYTH_LEGACY_PROGRAM,
                    lamports: 1,
                    data: {
                        let mut d = legacy_account(LEGACY_TEMPLATE, usd(20_000), usd(10), T0);
                        d[224..228].copy_from_slice(&2u32.to_le_bytes());
                        d
                    },
                }),
                Some(AccountData { owner: PYTH_RECEIVER_PROGRAM, lamports: 1, data: vec![1; 60] }),
            ],
        ),
        (
            "two stale",
            [leg(u(20_000), u(10), T0 - 100), leg(u(20_010), u(10), T0), pull(u(19_990), u(5), T0 - 100, true, FEED)],
        ),
        (
            "odd cents",
            [
                leg(20_000_123_457, 1_000_001, T0),
                leg(20_000_123_458, 10_000_000, T0 - 3),
                pull(20_000_123_451, 123, T0 - 7, true, FEED),
            ],
        ),
    ];
    let mut cases = Vec::new();
    for (vl, edit) in &variants {
        let mut m = base;
        edit(&mut m);
        let mut data = raw.clone();
        data[8..8 + std::mem::size_of::<Market>()].copy_from_slice(bytemuck::bytes_of(&m));
        for (sl, accts) in &sets {
            for dt in [0i64, 7, 45, 200, 3_000] {
                let now = T0 + dt;
                let view = index_view(&m, &ex, accts, now);
                let state = market_state(&m, &view, now);
                cases.push(json!({
                    "label": format!("{vl}; {sl}; now +{dt} s"),
                    "market": hexd(&data),
                    "oracles": accts.iter().map(|a| a.as_ref().map(|a| json!({"owner": a.owner.to_string(), "data": hexd(&a.data)}))).collect::<Vec<_>>(),
                    "now": now.to_string(),
                    "issues": view.issues.iter().map(|i| i.is_some()).collect::<Vec<_>>(),
                    "index": view.price().map(|p| p.0.to_string()),
                    "valid": view.report.as_ref().map(|r| r.valid),
                    "state": state.map(|s| json!({"index": s.index.0.to_string(), "live": s.live, "mark": s.view.mark.0.to_string()})),
                }));
            }
        }
    }
    json!({
        "pythLegacy": ex.pyth_legacy_program.to_string(),
        "pythReceiver": ex.pyth_receiver_program.to_string(),
        "cases": cases,
    })
}
