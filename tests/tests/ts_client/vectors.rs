//! Vectors the TypeScript client must reproduce, written by the Rust SDK and perp-core.
//!
//! - `instructions`: every instruction a wallet, keeper or integrator builds, from fixed keys and
//!   arguments, as `perp_client::ix` builds it (data and account metas); committed as
//!   `app/ts/test/fixtures/instructions.json` and checked fresh.
//! - `risk`: perp-core's liquidation price, bankruptcy price, requirements, health and ADL quantile
//!   over a grid of sizes, entries, collaterals, marks and two tier tables, plus seeded
//!   full-width cases; written to the target directory at each run.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use perp::instructions::{OrderParams, OrderSide};
use perp_client::{ix, pda};
use perp_core::liquidation::{bankruptcy_price, liquidation_price};
use perp_core::margin::{requirement, Health, MarginKind, PositionState, Tier};
use perp_core::units::{Base, Price, Quote, Rate};
use serde_json::{json, Value};

pub fn key(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

fn metas(i: &Instruction) -> Value {
    i.accounts.iter().map(|m| json!([m.pubkey.to_string(), m.is_signer, m.is_writable])).collect()
}

pub fn case(name: &str, builder: &str, inputs: Value, i: Instruction) -> Value {
    assert_eq!(i.program_id, perp::ID);
    json!({
        "name": name,
        "builder": builder,
        "inputs": inputs,
        "data": hex::encode(&i.data),
        "accounts": metas(&i),
    })
}

pub fn keys(v: &[Pubkey]) -> Value {
    v.iter().map(|k| k.to_string()).collect()
}

fn order_json(p: &OrderParams) -> Value {
    json!({
        "side": match p.side { OrderSide::Long => "long", OrderSide::Short => "short" },
        "size": p.size.to_string(),
        "limitPrice": p.limit_price.to_string(),
        "reduceOnly": p.reduce_only,
        "isolated": p.isolated,
        "isolatedCollateral": p.isolated_collateral.to_string(),
        "maxIndexDeviation": p.max_index_deviation.to_string(),
    })
}

pub fn instructions() -> Value {
    let (owner, delegate, token, liquidator) = (key(1), key(2), key(3), key(4));
    let acct = pda::margin_account(&owner, 0);
    let liq_acct = pda::margin_account(&liquidator, 7);
    let oracles = [key(10), key(11), key(12)];
    let mut out = vec![
        case(
            "create_margin_account",
            "createMarginAccount",
            json!({"owner": owner.to_string(), "accountId": 0}),
            ix::create_margin_account(owner, 0),
        ),
        case(
            "create_margin_account id 513",
            "createMarginAccount",
            json!({"owner": owner.to_string(), "accountId": 513}),
            ix::create_margin_account(owner, 513),
        ),
        case(
            "deposit",
            "deposit",
            json!({"authority": owner.to_string(), "marginAccount": acct.to_string(), "userToken": token.to_string(), "amount": "1234567890"}),
            ix::deposit(owner, acct, token, 1_234_567_890),
        ),
        case(
            "withdraw with two position markets",
            "withdraw",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string(), "userToken": token.to_string(), "amount": "18446744073709551615", "positionMarkets": [1, 3]}),
            ix::withdraw(owner, acct, token, u64::MAX, &[1, 3]),
        ),
        case(
            "set_delegate",
            "setDelegate",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string(), "delegate": delegate.to_string()}),
            ix::set_delegate(owner, acct, delegate),
        ),
        case(
            "close_margin_account",
            "closeMarginAccount",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string()}),
            ix::close_margin_account(owner, acct),
        ),
        case(
            "move_isolated_collateral out",
            "moveIsolatedCollateral",
            json!({"authority": delegate.to_string(), "marginAccount": acct.to_string(), "marketIndex": 2, "amount": "-5000000", "positionMarkets": [0, 2]}),
            ix::move_isolated_collateral(delegate, acct, 2, -5_000_000, &[0, 2]),
        ),
        case(
            "update_funding",
            "updateFunding",
            json!({"marketIndex": 0, "oracles": keys(&oracles)}),
            ix::update_funding(0, &oracles),
        ),
        case(
            "settle_funding",
            "settleFunding",
            json!({"marginAccount": acct.to_string(), "positionMarkets": [0, 4]}),
            ix::settle_funding(acct, &[0, 4]),
        ),
        case(
            "deposit_insurance",
            "depositInsurance",
            json!({"depositor": owner.to_string(), "depositorToken": token.to_string(), "marketIndex": 3, "amount": "5000000000"}),
            ix::deposit_insurance(owner, token, 3, 5_000_000_000),
        ),
        case("sweep_insurance", "sweepInsurance", json!({"marketIndex": 65535}), ix::sweep_insurance(u16::MAX)),
        case(
            "liquidate",
            "liquidate",
            json!({"liquidator": liquidator.to_string(), "liquidatorAccount": liq_acct.to_string(), "marginAccount": acct.to_string(), "marketIndex": 1, "oracles": keys(&oracles[..2]), "otherMarkets": [0, 2], "maxBase": "0"}),
            ix::liquidate(liquidator, liq_acct, acct, 1, &oracles[..2], &[0, 2], 0),
        ),
        case(
            "begin_adl_round",
            "beginAdlRound",
            json!({"marketIndex": 1, "oracles": keys(&oracles), "bankruptAccount": acct.to_string()}),
            ix::begin_adl_round(1, &oracles, acct),
        ),
        case(
            "adl_scan",
            "adlScan",
            json!({"marketIndex": 1, "accounts": keys(&[acct, liq_acct, key(20)])}),
            ix::adl_scan(1, &[acct, liq_acct, key(20)]),
        ),
        case(
            "auto_deleverage",
            "autoDeleverage",
            json!({"marketIndex": 1, "oracles": keys(&oracles[..1]), "bankruptAccount": acct.to_string(), "candidates": keys(&[liq_acct, key(21)])}),
            ix::auto_deleverage(1, &oracles[..1], acct, &[liq_acct, key(21)]),
        ),
        case(
            "resolve_bankruptcy",
            "resolveBankruptcy",
            json!({"marketIndex": 1, "oracles": keys(&oracles), "bankruptAccount": acct.to_string()}),
            ix::resolve_bankruptcy(1, &oracles, acct),
        ),
        case("repeg", "repeg", json!({"marketIndex": 0, "oracles": keys(&oracles)}), ix::repeg(0, &oracles)),
        case(
            "close_position",
            "closePosition",
            json!({"authority": owner.to_string(), "marginAccount": acct.to_string(), "marketIndex": 0, "oracles": keys(&oracles), "otherMarkets": [2], "limitPrice": "19000000000"}),
            ix::close_position(owner, acct, 0, &oracles, &[2], 19_000_000_000),
        ),
        case("set_pause", "setPause", json!({"admin": key(9).to_string(), "pauseFlags": 5}), ix::set_pause(key(9), 5)),
        case(
            "cancel_proposal",
            "cancelProposal",
            json!({"admin": key(9).to_string(), "id": "42"}),
            ix::cancel_proposal(key(9), 42),
        ),
    ];
    let orders = [
        OrderParams {
            side: OrderSide::Long,
            size: 1_000_000_000,
            limit_price: 0,
            reduce_only: false,
            isolated: false,
            isolated_collateral: 0,
            max_index_deviation: 0,
        },
        OrderParams {
            side: OrderSide::Short,
            size: 250_000_000,
            limit_price: 20_100_000_000,
            reduce_only: true,
            isolated: false,
            isolated_collateral: 0,
            max_index_deviation: 5_000_000,
        },
        OrderParams {
            side: OrderSide::Long,
            size: u64::MAX,
            limit_price: u64::MAX,
            reduce_only: false,
            isolated: true,
            isolated_collateral: 777_000_000,
            max_index_deviation: 0,
        },
    ];
    for (n, p) in orders.iter().enumerate() {
        let auth = if n == 1 { delegate } else { owner };
        let other: &[u16] = if n == 0 { &[] } else { &[1, 5] };
        out.push(case(
            &format!("place_market_order {n}"),
            "placeMarketOrder",
            json!({"authority": auth.to_string(), "marginAccount": acct.to_string(), "marketIndex": n as u16 * 3, "oracles": keys(&oracles[..n + 1]), "otherMarkets": other, "params": order_json(p)}),
            ix::place_market_order(auth, acct, n as u16 * 3, &oracles[..n + 1], other, *p),
        ));
    }
    let markets: Vec<Value> = (0..4u16).chain([255, 65535]).map(|i| json!([i, pda::market(i).to_string()])).collect();
    let margins: Vec<Value> = [(owner, 0u16), (owner, 513), (liquidator, 7)]
        .iter()
        .map(|(o, i)| json!([o.to_string(), i, pda::margin_account(o, *i).to_string()]))
        .collect();
    let rounds: Vec<Value> = (0..3u16).map(|i| json!([i, pda::adl_round(i).to_string()])).collect();
    let proposals: Vec<Value> =
        [0u64, 1, 42].iter().map(|i| json!([i.to_string(), pda::proposal(*i).to_string()])).collect();
    let pdas = json!({
        "exchange": pda::exchange().to_string(),
        "collateralVault": pda::collateral_vault().to_string(),
        "insuranceVault": pda::insurance_vault().to_string(),
        "market": markets,
        "marginAccount": margins,
        "adlRound": rounds,
        "proposal": proposals,
    });
    out.extend(super::orders::instruction_cases());
    json!({ "programId": perp::ID.to_string(), "instructions": out, "pdas": pdas })
}

/// The tier tables of the risk vectors: the tests' 4-tier table and Binance's BTCUSDT 10 brackets.
pub fn tier_tables() -> Vec<Vec<Tier>> {
    let t = |cap: i64, imr: i64, mmr: i64| Tier { cap: Quote(cap * 1_000_000), imr: Rate(imr), mmr: Rate(mmr) };
    let u = i64::MAX / 1_000_000;
    vec![
        vec![
            t(50_000, 20_000_000, 10_000_000),
            t(250_000, 40_000_000, 20_000_000),
            t(1_000_000, 100_000_000, 50_000_000),
            t(10_000_000, 200_000_000, 100_000_000),
        ],
        vec![
            t(50_000, 8_000_000, 4_000_000),
            t(600_000, 10_000_000, 5_000_000),
            t(3_000_000, 20_000_000, 10_000_000),
            t(12_000_000, 40_000_000, 20_000_000),
            t(70_000_000, 50_000_000, 25_000_000),
            t(100_000_000, 100_000_000, 50_000_000),
            t(230_000_000, 200_000_000, 100_000_000),
            t(480_000_000, 250_000_000, 125_000_000),
            t(600_000_000, 500_000_000, 250_000_000),
            t(u, 1_000_000_000, 500_000_000),
        ],
    ]
}

fn tiers_json(t: &[Tier]) -> Value {
    t.iter().map(|t| json!([t.cap.0.to_string(), t.imr.0.to_string(), t.mmr.0.to_string()])).collect()
}

fn res<T>(r: Result<T, perp_core::CoreError>, f: impl FnOnce(T) -> Value) -> Value {
    match r {
        Ok(v) => f(v),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

/// One risk case: everything a wallet shows for one position.
fn risk_case(table: usize, tiers: &[Tier], base: i64, quote_entry: i64, collateral: i64, mark: u64) -> Value {
    let pos = PositionState { base: Base(base), quote_entry: Quote(quote_entry) };
    let notional = pos.notional(Price(mark));
    let health = (|| {
        let mut h = Health::new(Quote(collateral));
        h.add_position(&pos, Price(mark), Quote::ZERO, tiers)?;
        Ok::<_, perp_core::CoreError>(h)
    })();
    let liq = if base == 0 {
        Value::Null
    } else {
        res(liquidation_price(&pos, Quote(collateral), tiers), |l| {
            l.map(|l| json!({"price": l.price.0.to_string(), "tier": l.tier})).unwrap_or(Value::Null)
        })
    };
    let bank = if base == 0 {
        Value::Null
    } else {
        res(bankruptcy_price(&pos, Quote(collateral)), |p| json!(p.0.to_string()))
    };
    json!({
        "table": table,
        "base": base.to_string(),
        "quoteEntry": quote_entry.to_string(),
        "collateral": collateral.to_string(),
        "mark": mark.to_string(),
        "upnl": res(pos.upnl(Price(mark)), |q| json!(q.0.to_string())),
        "notional": res(notional, |q| json!(q.0.to_string())),
        "initial": res(notional.and_then(|n| requirement(tiers, n, MarginKind::Initial)), |q| json!(q.0.to_string())),
        "maintenance": res(notional.and_then(|n| requirement(tiers, n, MarginKind::Maintenance)), |q| json!(q.0.to_string())),
        "health": res(health, |h| json!({
            "equity": h.equity.0.to_string(),
            "initial": h.initial.0.to_string(),
            "maintenance": h.maintenance.0.to_string(),
            "liquidatable": h.is_liquidatable(),
            "freeCollateral": res(h.free_collateral(), |q| json!(q.0.to_string())),
            "marginRatio": res(h.margin_ratio(), |r| r.map(|r| json!(r.0.to_string())).unwrap_or(Value::Null)),
        })),
        "liquidationPrice": liq,
        "bankruptcyPrice": bank,
    })
}

/// A small deterministic generator (splitmix64) for the full-width cases.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A value of a random bit width (so small, mid and extreme values all occur).
    fn wide(&mut self) -> u64 {
        let bits = self.next() % 64;
        self.next() >> (63 - bits)
    }
}

pub fn risk() -> Value {
    let tables = tier_tables();
    let mut cases = Vec::new();
    let bases = [
        1_000_000i64,
        3_000_001,
        10_000_000,
        250_000_000,
        1_000_000_000,
        3_333_333_333,
        100_000_000_000,
        2_500_000_000_000,
    ];
    let entries = [1_000_000u64, 999_999_999, 20_000_000_000, 65_432_100_001, 100_000_000_000];
    let collaterals = [0i64, 1, 50_000_000, 1_000_000_000, 25_000_000_000, 5_000_000_000_000, -3_000_000];
    let marks = [0.5f64, 0.97, 1.0, 1.013, 1.6];
    for (t, tiers) in tables.iter().enumerate() {
        for &b in &bases {
            for sign in [1i64, -1] {
                let base = b * sign;
                for &e in &entries {
                    // quote_entry = -(base x entry) rounded as the program opens it (down for longs' cost)
                    let qe = -((base as i128 * e as i128).div_euclid(1_000_000_000)) as i64;
                    for &c in &collaterals {
                        for &m in &marks {
                            let mark = (e as f64 * m) as u64;
                            cases.push(risk_case(t, tiers, base, qe, c, mark));
                        }
                    }
                }
            }
        }
    }
    let grid = cases.len();
    let mut rng = Mix(0x5eed_0f7a_2026);
    for n in 0..3000 {
        let t = n % tables.len();
        // sizes from 0.001 base up (below that the liquidation price's rounding walk is long)
        let base = (rng.wide().max(1_000_000) as i64).wrapping_mul(if rng.next().is_multiple_of(2) { 1 } else { -1 });
        let qe = (rng.wide() as i64).wrapping_mul(if rng.next().is_multiple_of(2) { 1 } else { -1 });
        let c = (rng.wide() as i64).wrapping_mul(if rng.next().is_multiple_of(5) { -1 } else { 1 });
        let mark = rng.wide();
        cases.push(risk_case(t, &tables[t], base, qe, c, mark));
    }
    let mut quantiles = Vec::new();
    for n in 0..=64usize {
        for r in 0..=n + 1 {
            quantiles.push(json!([r, n, perp_core::adl::adl_quantile(r, n)]));
        }
    }
    for (r, n) in [(1usize, 1_000_000usize), (200_000, 1_000_000), (200_001, 1_000_000), (999_999, 1_000_000)] {
        quantiles.push(json!([r, n, perp_core::adl::adl_quantile(r, n)]));
    }
    eprintln!(
        "risk vectors: {} grid + {} full-width cases, {} ADL quantiles",
        grid,
        cases.len() - grid,
        quantiles.len()
    );
    json!({
        "tables": tables.iter().map(|t| tiers_json(t)).collect::<Vec<_>>(),
        "cases": cases,
        "adlQuantile": quantiles,
    })
}
