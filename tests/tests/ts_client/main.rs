//! The TypeScript client (`app/ts`) against the Rust SDK and the program.
//!
//! Writes the vectors (see [`vectors`]) and real account bytes and event logs from a bank run,
//! then runs the package's tests with node's test runner (`npm test`), which must reproduce them:
//! instruction data and metas byte for byte, PDAs, decoded accounts and events, and perp-core's
//! risk and collateral numbers. With `PERP_SBF` set the TypeScript tests also run a deposit and a trade through
//! LiteSVM on the `.so`. `PERP_TS_WRITE=1` rewrites the committed instruction vectors.

mod adl;
mod orders;
mod prices;
mod vectors;
mod views;

use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine;
use perp::events::TradeExecuted;
use perp::instructions::OrderSide;
use perp_client::ix;
use perp_tests::*;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"))
}

fn write_json(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap() + "\n").unwrap();
}

/// Raw account bytes written by the program and the values the Rust types decode them to.
async fn accounts_and_events() -> Value {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(10), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let alice = env.user(100_000 * USDC, 10_000 * USDC).await;
    let bob = env.user(100_000 * USDC, 20_000 * USDC).await;
    env.trade(&alice, 0, order(OrderSide::Long, BTC / 4)).await.unwrap();
    let mut iso = order(OrderSide::Short, BTC / 10);
    iso.isolated = true;
    iso.isolated_collateral = 1_500 * USDC;
    let trade = env.order_ix(&bob, 0, iso).await;
    let meta = env.send_with_metadata(&[trade], &[&bob.kp]).await.unwrap();
    assert!(meta.result.is_ok(), "{:?}", meta.result);
    let mut logs = meta.metadata.unwrap().log_messages;
    let find = |logs: &[String]| {
        logs.iter()
            .filter_map(|l| l.strip_prefix("Program data: "))
            .filter_map(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .find(|d| d.starts_with(TradeExecuted::DISCRIMINATOR))
            .map(|d| TradeExecuted::deserialize(&mut &d[8..]).unwrap())
    };
    let events_source = if find(&logs).is_some() {
        "program logs (SBF)"
    } else {
        // The native processor's `sol_log_data` is not captured by solana-program-test; the
        // program's `emit!` logs `Program data: base64(event.data())`, built here the same way
        // from the state the trade left.
        let b = env.margin(&bob.account).await;
        let m = env.market(0).await;
        let ev = TradeExecuted {
            seq: m.event_seq,
            margin_account: bob.account,
            market_index: 0,
            base: b.positions[0].base,
            quote: b.positions[0].quote_entry,
            avg_price: b.positions[0].state().entry_price().unwrap().0,
            fee: b.fees_paid,
            insurance_fee: 0,
            realized_pnl: 0,
            new_base: b.positions[0].base,
            new_quote_entry: b.positions[0].quote_entry,
            index_price: m.last_index,
            mark_price: m.last_index,
            vamm_price: m.peg,
            isolated: true,
            index_was_fallback: false,
            by_delegate: false,
        };
        let data = base64::engine::general_purpose::STANDARD.encode(anchor_lang::Event::data(&ev));
        logs.insert(logs.len() - 1, format!("Program data: {data}"));
        "Anchor's event encoding (native run: the runtime does not capture sol_log_data)"
    };
    let ev = find(&logs).unwrap();
    // the index 1.5 % above the vAMM for four premium samples, then the funding time: a negative
    // rate, so the cumulative funding indices (128-bit) go negative and alice's settled snapshot too
    for _ in 0..4 {
        env.advance(60).await;
        env.set_legacy_oracle(oracle, usd(20_300), usd(10), env.now);
        env.crank_funding(0).await.unwrap();
    }
    env.advance(3_600 - 240).await;
    env.set_legacy_oracle(oracle, usd(20_300), usd(10), env.now);
    env.crank_funding(0).await.unwrap();
    let settle = ix::settle_funding(alice.account, &[0]);
    env.send(&[settle], &[]).await.unwrap();
    env.assert_conservation().await;
    let m = env.market(0).await;
    assert!(m.last_funding_rate < 0, "rate {}", m.last_funding_rate);
    assert!(m.cum_funding_long.get() < 0 || m.cum_funding_short.get() < 0, "no negative 128-bit value");

    let ex_key = perp_client::pda::exchange();
    let m_key = perp_client::pda::market(0);
    let ex = env.exchange().await;
    let m = env.market(0).await;
    let a = env.margin(&alice.account).await;
    let b = env.margin(&bob.account).await;
    let s = |v: i64| json!(v.to_string());
    let pos = |p: &perp::state::Position| {
        json!({
            "marketIndex": p.market_index, "base": s(p.base), "quoteEntry": s(p.quote_entry),
            "isolatedCollateral": s(p.isolated_collateral), "fundingSnapshot": p.funding_snapshot.get().to_string(),
            "flags": p.flags,
        })
    };
    let margin = |k: &anchor_lang::prelude::Pubkey, a: &perp::state::MarginAccount, data: Vec<u8>| {
        json!({
            "address": k.to_string(), "data": hex::encode(data),
            "owner": a.owner.to_string(), "delegate": a.delegate.to_string(),
            "crossCollateral": s(a.cross_collateral), "totalDeposits": a.total_deposits.to_string(),
            "realizedPnl": s(a.realized_pnl), "feesPaid": s(a.fees_paid), "accountId": a.account_id, "bump": a.bump,
            "positions": a.positions.iter().filter(|p| p.in_use()).map(pos).collect::<Vec<_>>(),
        })
    };
    let ex_data = env.account_data(&ex_key).await.unwrap();
    let m_data = env.account_data(&m_key).await.unwrap();
    let a_data = env.account_data(&alice.account).await.unwrap();
    let b_data = env.account_data(&bob.account).await.unwrap();
    json!({
        "exchange": {
            "address": ex_key.to_string(), "data": hex::encode(ex_data),
            "admin": ex.admin.to_string(), "collateralMint": ex.collateral_mint.to_string(),
            "feeInsuranceShare": s(ex.fee_insurance_share), "marketCount": ex.market_count, "bump": ex.bump,
        },
        "market": {
            "address": m_key.to_string(), "data": hex::encode(m_data),
            "name": String::from_utf8_lossy(&m.name).trim_end_matches('\0'),
            "oracle0": m.oracles[0].key.to_string(),
            "peg": m.peg.to_string(), "baseReserve": m.base_reserve.get().to_string(), "k": m.k.get().to_string(),
            "oiLong": s(m.oi_long), "oiShort": s(m.oi_short), "feePool": s(m.fee_pool), "pnlPool": s(m.pnl_pool),
            "cumFundingLong": m.cum_funding_long.get().to_string(), "cumFundingShort": m.cum_funding_short.get().to_string(),
            "lastFundingRate": s(m.last_funding_rate), "takerFee": s(m.taker_fee),
            "tiers": m.tiers[..4].iter().map(|t| json!([t.cap.to_string(), t.imr.to_string(), t.mmr.to_string()])).collect::<Vec<_>>(),
        },
        "marginAccounts": [margin(&alice.account, &a, a_data), margin(&bob.account, &b, b_data)],
        "tradeLogs": logs,
        "eventsSource": events_source,
        "tradeEvent": {
            "name": "TradeExecuted",
            "marginAccount": ev.margin_account.to_string(), "marketIndex": ev.market_index,
            "base": s(ev.base), "quote": s(ev.quote), "avgPrice": ev.avg_price.to_string(), "fee": s(ev.fee),
            "newBase": s(ev.new_base), "newQuoteEntry": s(ev.new_quote_entry), "isolated": ev.isolated,
            "byDelegate": ev.by_delegate,
        },
    })
}

fn npm(dir: &Path, args: &[&str], envs: &[(&str, String)]) {
    let mut cmd = Command::new("npm");
    cmd.args(args).current_dir(dir);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("npm {args:?}: {e} (node 20 and npm are needed)"));
    assert!(status.success(), "npm {args:?} failed in {}", dir.display());
}

#[tokio::test(flavor = "current_thread")]
async fn typescript_client_matches_rust() {
    let root = repo_root();
    let committed = root.join("app/ts/test/fixtures/instructions.json");
    let fresh = vectors::instructions();
    if std::env::var_os("PERP_TS_WRITE").is_some() {
        write_json(&committed, &fresh);
    } else {
        let old: Value =
            serde_json::from_str(&std::fs::read_to_string(&committed).unwrap_or_default()).unwrap_or(Value::Null);
        assert!(
            old == fresh,
            "app/ts/test/fixtures/instructions.json is stale: rewrite it with \
             `PERP_TS_WRITE=1 cargo test -p perp-tests --test ts_client` and commit it"
        );
    }
    let out = target_dir().join("ts-fixtures");
    write_json(&out.join("risk.json"), &vectors::risk());
    write_json(&out.join("collateral.json"), &vectors::collateral());
    write_json(&out.join("accounts.json"), &accounts_and_events().await);
    write_json(&out.join("orders.json"), &orders::math());
    write_json(&out.join("prices.json"), &prices::prices().await);
    write_json(&out.join("views.json"), &views::views().await);
    write_json(&out.join("adl.json"), &adl::adl().await);

    let ts = root.join("app/ts");
    // install when node_modules is missing or older than the lock file
    let mtime = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let installed = mtime(ts.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < mtime(ts.join("package-lock.json")) {
        npm(&ts, &["ci", "--no-audit", "--no-fund"], &[]);
    }
    let mut envs = vec![("PERP_TS_FIXTURES", out.display().to_string()), ("PERP_REPO", root.display().to_string())];
    if let Some(dir) = perp_client::bank::sbf_dir() {
        envs.push(("PERP_SBF_SO", dir.join("perp.so").display().to_string()));
    }
    npm(&ts, &["test"], &envs);
}

/// The risk vectors' own sanity: the grid covers liquidatable, healthy, bankrupt and every tier.
#[test]
fn risk_vectors_cover_every_outcome() {
    let v = vectors::risk();
    let cases = v["cases"].as_array().unwrap();
    let count = |f: &dyn Fn(&Value) -> bool| cases.iter().filter(|c| f(c)).count();
    assert!(count(&|c| c["health"]["liquidatable"] == true) > 100);
    assert!(count(&|c| c["health"]["liquidatable"] == false) > 100);
    assert!(count(&|c| c["liquidationPrice"].is_null() && c["base"] != "0") > 50);
    assert!(count(&|c| c["liquidationPrice"].get("error").is_some() || c["upnl"].get("error").is_some()) > 50);
    for tier in 0..10 {
        assert!(count(&|c| c["table"] == 1 && c["liquidationPrice"]["tier"] == tier) > 0, "tier {tier} never reached");
    }
}

/// The collateral vectors' own sanity: every function has values and errors, every price need
/// both values and refusals.
#[test]
fn collateral_vectors_cover_every_outcome() {
    let v = vectors::collateral();
    let cases = |name: &str, field: &str| -> (usize, usize) {
        let all = v[name].as_array().unwrap();
        let errors = all.iter().filter(|c| c[field].get("error").is_some()).count();
        (all.len() - errors, errors)
    };
    for (name, field) in [
        ("tokenValue", "value"),
        ("tokensForValue", "tokens"),
        ("collateralValue", "result"),
        ("saleOf", "sale"),
        ("liquidation", "sale"),
        ("holding", "result"),
    ] {
        let (ok, errors) = cases(name, field);
        assert!(ok > 20 && errors > 5, "{name}: {ok} values, {errors} errors");
    }
    let liq = v["liquidation"].as_array().unwrap();
    assert!(liq.iter().filter(|c| c["sale"]["tokens"].as_str().is_some_and(|t| t != "0")).count() > 100);
    for need in ["adding", "withdraw", "tolerant", "liquidation", "lenient"] {
        let of = |f: &dyn Fn(&Value) -> bool| {
            v["holding"].as_array().unwrap().iter().filter(|c| c["need"] == need && f(c)).count()
        };
        assert!(of(&|c| c["result"]["maintenance"].as_str().is_some_and(|m| m != "0")) > 0, "{need}: never counted");
        assert!(
            of(&|c| c["result"].get("error").is_some() || c["result"]["maintenance"] == "0") > 0,
            "{need}: never refused"
        );
    }
}

/// The price vectors' own sanity: live, cached and missing prices, both mark methods, and
/// unusable sources all occur.
#[tokio::test(flavor = "current_thread")]
async fn price_vectors_cover_every_outcome() {
    let v = prices::prices().await;
    let cases = v["cases"].as_array().unwrap();
    let count = |f: &dyn Fn(&Value) -> bool| cases.iter().filter(|c| f(c)).count();
    assert!(count(&|c| c["state"]["live"] == true) > 50);
    assert!(count(&|c| c["state"]["live"] == false) > 10);
    assert!(count(&|c| c["state"].is_null()) > 5);
    assert!(count(&|c| c["issues"].as_array().unwrap().iter().any(|i| i == true)) > 20);
    let marks: std::collections::BTreeSet<String> =
        cases.iter().filter_map(|c| c["state"]["mark"].as_str().map(str::to_string)).collect();
    assert!(marks.len() > 20, "marks vary: {}", marks.len());
}
