//! Account-view vectors: accounts from a bank run (cross positions in two markets, an isolated
//! position, listed SOL collateral, a wBTC-like collateral that follows the BTC market, funding
//! accrued) at several prices, and what the Rust SDK computes for them
//! (`perp_client::preview::account_health_with`: health, and per position the liquidation price,
//! unrealized PnL, notional, funding owed, entry). `app/ts/src/account-view.ts` must reproduce them.

use perp::instructions::OrderSide;
use perp_client::chain::AccountData;
use perp_client::collateral_view::Collaterals;
use perp_client::oracle_data::PYTH_LEGACY_PROGRAM;
use perp_client::preview::{account_health_with, index_view, market_state, MarketState};
use perp_tests::*;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::collections::BTreeMap;

fn hexd(d: &[u8]) -> Value {
    json!(hex::encode(d))
}

pub async fn views() -> Value {
    let mut env = Env::new().await;
    let (btc, eth, sol) = (Keypair::new().pubkey(), Keypair::new().pubkey(), Keypair::new().pubkey());
    env.set_legacy_oracle(btc, usd(20_000), usd(2), T0);
    env.set_legacy_oracle(eth, usd(1_000), usd(1), T0);
    env.set_legacy_oracle(sol, usd(20), usd(0), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(btc)]), 1_000, usd(20_000)).await;
    let mut p1 = default_market_params(vec![legacy_oracle(eth)]);
    p1.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    env.create_market(1, p1, 10_000, usd(1_000)).await;
    // SOL (its own oracle) and wBTC (the BTC market's oracle: it follows the market)
    let sol_mint = env.create_mint_with(9, None).await;
    let ci_sol = env.list_collateral(sol_mint, collateral_params(sol, 1_000_000 * 1_000_000_000)).await.unwrap();
    let wbtc_mint = env.create_mint_with(8, None).await;
    let mut wp = collateral_params(btc, 1_000 * 100_000_000);
    wp.name = *b"wBTC\0\0\0\0\0\0\0\0\0\0\0\0";
    let ci_wbtc = env.list_collateral(wbtc_mint, wp).await.unwrap();
    env.refresh_collateral(ci_sol).await.unwrap();
    env.refresh_collateral(ci_wbtc).await.unwrap();

    let alice = env.user(100_000 * USDC, 5_000 * USDC).await; // cross long BTC + cross short ETH
    let bob = env.user(100_000 * USDC, 5_000 * USDC).await; // isolated short BTC + cross long ETH
    let carol = env.user(100_000 * USDC, 500 * USDC).await; // cross long BTC on SOL collateral
    let dave = env.user(100_000 * USDC, 300 * USDC).await; // cross short BTC on wBTC collateral
    env.trade(&alice, 0, order(OrderSide::Long, BTC / 5)).await.unwrap();
    env.trade(&alice, 1, order(OrderSide::Short, 3 * BTC)).await.unwrap();
    let mut iso = order(OrderSide::Short, BTC / 10);
    iso.isolated = true;
    iso.isolated_collateral = 700 * USDC;
    env.trade(&bob, 0, iso).await.unwrap();
    env.trade(&bob, 1, order(OrderSide::Long, BTC)).await.unwrap();
    for (u, mint, ci, amount) in
        [(&carol, sol_mint, ci_sol, 100 * 1_000_000_000u64), (&dave, wbtc_mint, ci_wbtc, 5_000_000u64)]
    {
        let t = env.token_account_of(&mint, &u.key(), amount).await;
        let dep = perp_client::collateral::deposit_collateral(u.key(), u.account, ci, &mint, t, amount);
        env.send(&[dep], &[&u.kp]).await.unwrap();
    }
    env.refresh_collateral(ci_sol).await.unwrap();
    env.refresh_collateral(ci_wbtc).await.unwrap();
    env.trade(&carol, 0, order(OrderSide::Long, BTC / 10)).await.unwrap();
    env.trade(&dave, 0, order(OrderSide::Short, BTC / 20)).await.unwrap();
    // funding accrues: an hour later the crank runs with the vAMM displaced
    env.set_clock(T0 + 3_600).await;
    for (k, p) in [(btc, 20_000), (eth, 1_000), (sol, 20)] {
        env.set_legacy_oracle(k, usd(p), usd(1), T0 + 3_600);
    }
    env.crank_funding(0).await.unwrap();
    env.crank_funding(1).await.unwrap();
    let ex = env.exchange().await;
    let users = [("alice", &alice), ("bob", &bob), ("carol", &carol), ("dave", &dave)];

    let mut cases = Vec::new();
    for (label, btc_p, eth_p, sol_p) in
        [("as traded", 20_000, 1_000, 20), ("BTC -8%", 18_400, 1_010, 19), ("BTC +6%, SOL -30%", 21_200, 940, 14)]
    {
        let now = T0 + 3_600;
        let mut oracles = BTreeMap::new();
        for (k, p) in [(btc, btc_p), (eth, eth_p), (sol, sol_p)] {
            let data = perp_client::oracle_data::legacy_account(
                perp_client::oracle_data::LEGACY_TEMPLATE,
                usd(p),
                usd(1),
                now,
            );
            oracles.insert(k, AccountData { owner: PYTH_LEGACY_PROGRAM, lamports: 1, data });
        }
        let mut states: BTreeMap<u16, MarketState> = BTreeMap::new();
        let mut markets = Vec::new();
        for i in 0..2u16 {
            let m = env.market(i).await;
            let accts: Vec<Option<AccountData>> =
                m.oracles[..m.oracle_count()].iter().map(|o| oracles.get(&o.key).cloned()).collect();
            let st = market_state(&m, &index_view(&m, &ex, &accts, now), now).unwrap();
            markets.push(json!({
                "data": hexd(&env.account_data(&perp_client::pda::market(i)).await.unwrap()),
                "index": st.index.0.to_string(), "mark": st.view.mark.0.to_string(),
            }));
            states.insert(i, st);
        }
        let mut collaterals: Collaterals = BTreeMap::new();
        let mut cjson = Vec::new();
        for ci in [ci_sol, ci_wbtc] {
            let c = env.collateral(ci).await;
            cjson.push(json!({ "index": ci, "data": hexd(&env.account_data(&perp_client::pda::collateral(ci)).await.unwrap()) }));
            collaterals.insert(ci, c);
        }
        let mut accounts = Vec::new();
        for (name, u) in users {
            let a = env.margin(&u.account).await;
            let h = account_health_with(&a, &states, &collaterals, now);
            accounts.push(json!({
                "name": name,
                "data": hexd(&env.account_data(&u.account).await.unwrap()),
                "equity": h.cross.equity.0.to_string(),
                "initial": h.cross.initial.0.to_string(),
                "maintenance": h.cross.maintenance.0.to_string(),
                "isolated": h.isolated.iter().map(|(i, g)| json!([i, g.equity.0.to_string(), g.maintenance.0.to_string()])).collect::<Vec<_>>(),
                "positions": h.positions.iter().map(|p| json!({
                    "slot": p.slot, "market": p.market_index,
                    "liquidationPrice": p.liquidation_price.map(|x| x.0.to_string()),
                    "upnl": p.upnl.0.to_string(), "notional": p.notional.0.to_string(),
                    "fundingOwed": p.funding_owed.0.to_string(),
                    "entry": p.entry_price.map(|x| x.0.to_string()),
                    "maintenance": p.maintenance.0.to_string(),
                })).collect::<Vec<_>>(),
            }));
        }
        cases.push(json!({ "label": label, "now": now.to_string(), "markets": markets, "collaterals": cjson, "accounts": accounts }));
    }
    json!({ "cases": cases })
}
