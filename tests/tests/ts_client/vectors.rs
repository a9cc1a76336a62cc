//! Vectors the TypeScript client must reproduce, written by the Rust SDK and perp-core.
//!
//! - `instructions`: every instruction a wallet, keeper or integrator builds, from fixed keys and
//!   arguments, as `perp_client::ix` builds it (data and account metas); committed as
//!   `app/ts/test/fixtures/instructions.json` and checked fresh.
//! - `risk`: perp-core's liquidation price, bankruptcy price, requirements, health and ADL quantile
//!   over a grid of sizes, entries, collaterals, marks and two tier tables, plus seeded
//!   full-width cases; written to the target directory at each run.
//! - `collateral`: perp-core's listed-collateral math (token values across decimals, the size
//!   weight, holding values, sale amounts, liquidation sizes, their errors) and the program's
//!   `holding_value` by price need, over grids and seeded cases; written next to `risk`.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use perp::engine::collateral::holding_value;
use perp::engine::markets::PriceNeed;
use perp::instructions::{OrderParams, OrderSide};
use perp::state::{Collateral, CollateralTightening};
use perp_client::collateral as cix;
use perp_client::{ix, pda};
use perp_core::collateral::{
    ceil_sqrt, collateral_liquidation, collateral_value, sale_of, size_weight, token_value, tokens_for_value,
    CollateralRisk, CollateralSale, SaleTerms,
};
use perp_core::liquidation::{bankruptcy_price, liquidation_price};
use perp_core::margin::{requirement, Health, MarginKind, PositionState, Tier};
use perp_core::units::{Base, Price, Quote, Rate, Round};
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
    let collaterals: Vec<Value> =
        [0u16, 1, 2, 8, 65535].iter().map(|i| json!([i, pda::collateral(*i).to_string()])).collect();
    let mint_vaults: Vec<Value> =
        [key(30), key(31)].iter().map(|m| json!([m.to_string(), pda::mint_vault(m).to_string()])).collect();
    let pdas = json!({
        "exchange": pda::exchange().to_string(),
        "collateralVault": pda::collateral_vault().to_string(),
        "insuranceVault": pda::insurance_vault().to_string(),
        "market": markets,
        "marginAccount": margins,
        "adlRound": rounds,
        "proposal": proposals,
        "collateral": collaterals,
        "mintVault": mint_vaults,
    });
    out.extend(super::orders::instruction_cases());
    out.extend(collateral_instruction_cases());
    json!({ "programId": perp::ID.to_string(), "instructions": out, "pdas": pdas })
}

/// The listed-collateral builders (`perp_client::collateral`).
fn collateral_instruction_cases() -> Vec<Value> {
    let (owner, token, liquidator, admin, proposer) = (key(1), key(3), key(4), key(9), key(8));
    let acct = pda::margin_account(&owner, 0);
    let liq_acct = pda::margin_account(&liquidator, 7);
    let (mint, mint2) = (key(30), key(31));
    let oracles = [key(10), key(11), key(12)];
    let tightening =
        CollateralTightening { initial_weight: 700_000_000, imf: 1_000_000, deposit_cap: u64::MAX, status: 1 };
    vec![
        case(
            "execute_list_collateral",
            "executeListCollateral",
            json!({"payer": admin.to_string(), "id": "7", "proposer": proposer.to_string(), "mint": mint.to_string(), "collateralIndex": 1}),
            cix::execute_list_collateral(admin, 7, proposer, mint, 1),
        ),
        case(
            "execute_update_collateral",
            "executeUpdateCollateral",
            json!({"executor": admin.to_string(), "id": "8", "proposer": proposer.to_string(), "collateralIndex": 3}),
            cix::execute_update_collateral(admin, 8, proposer, 3),
        ),
        case(
            "tighten_collateral",
            "tightenCollateral",
            json!({"admin": admin.to_string(), "collateralIndex": 2, "tightening": {
                "initialWeight": tightening.initial_weight.to_string(), "imf": tightening.imf.to_string(),
                "depositCap": tightening.deposit_cap.to_string(), "status": tightening.status
            }}),
            cix::tighten_collateral(admin, 2, tightening),
        ),
        case(
            "refresh_collateral",
            "refreshCollateral",
            json!({"collateralIndex": 1, "oracles": keys(&oracles[..2])}),
            cix::refresh_collateral(1, &oracles[..2]),
        ),
        case(
            "refresh_collateral 65535 without oracles",
            "refreshCollateral",
            json!({"collateralIndex": 65535, "oracles": keys(&[])}),
            cix::refresh_collateral(u16::MAX, &[]),
        ),
        case(
            "deposit_collateral",
            "depositCollateral",
            json!({"authority": owner.to_string(), "marginAccount": acct.to_string(), "collateralIndex": 1, "mint": mint.to_string(), "userToken": token.to_string(), "amount": "1500000000"}),
            cix::deposit_collateral(owner, acct, 1, &mint, token, 1_500_000_000),
        ),
        case(
            "withdraw_collateral with markets and other collateral",
            "withdrawCollateral",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string(), "collateralIndex": 2, "mint": mint2.to_string(), "userToken": token.to_string(), "amount": "18446744073709551615", "crossMarkets": [0, 2], "otherCollateral": [1, 3]}),
            cix::withdraw_collateral(owner, acct, 2, &mint2, token, u64::MAX, &[0, 2], &[1, 3]),
        ),
        case(
            "withdraw_collateral alone",
            "withdrawCollateral",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string(), "collateralIndex": 1, "mint": mint.to_string(), "userToken": token.to_string(), "amount": "1", "crossMarkets": [], "otherCollateral": []}),
            cix::withdraw_collateral(owner, acct, 1, &mint, token, 1, &[], &[]),
        ),
        case(
            "liquidate_collateral",
            "liquidateCollateral",
            json!({"liquidator": liquidator.to_string(), "marginAccount": acct.to_string(), "liquidatorAccount": liq_acct.to_string(), "collateralIndex": 2, "mint": mint.to_string(), "liquidatorToken": token.to_string(), "marketIndex": 1, "maxTokens": "12345", "markets": [0, 1, 4], "otherCollateral": [1]}),
            cix::liquidate_collateral(liquidator, acct, liq_acct, 2, &mint, token, 1, 12_345, &[0, 1, 4], &[1]),
        ),
    ]
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

// ---- listed collateral -------------------------------------------------------------------

fn round_name(r: Round) -> &'static str {
    match r {
        Round::Down => "down",
        Round::Up => "up",
    }
}

fn sale_json(s: CollateralSale) -> Value {
    json!({
        "tokens": s.tokens.to_string(),
        "toAccount": s.to_account.0.to_string(),
        "fromLiquidator": s.from_liquidator.0.to_string(),
        "toInsurance": s.to_insurance.0.to_string(),
    })
}

fn terms_json(t: &SaleTerms) -> Value {
    json!({
        "price": t.price.0.to_string(),
        "valuePrice": t.value_price.0.to_string(),
        "decimals": t.decimals,
        "maintenanceWeight": t.maintenance_weight.0.to_string(),
        "discount": t.discount.0.to_string(),
        "liquidatorShare": t.liquidator_share.0.to_string(),
    })
}

fn need_name(n: PriceNeed) -> &'static str {
    match n {
        PriceNeed::Adding => "adding",
        PriceNeed::Withdraw => "withdraw",
        PriceNeed::Tolerant => "tolerant",
        PriceNeed::Liquidation => "liquidation",
        PriceNeed::Lenient => "lenient",
    }
}

/// The fields of a `Collateral` that `holding_value` reads.
fn pricing_json(c: &Collateral) -> Value {
    json!({
        "decimals": c.decimals,
        "initialWeight": c.initial_weight.to_string(),
        "maintenanceWeight": c.maintenance_weight.to_string(),
        "imf": c.imf.to_string(),
        "liquidationDiscount": c.liquidation_discount.to_string(),
        "liquidatorShare": c.liquidator_share.to_string(),
        "status": c.status,
        "maxAge": c.max_age.to_string(),
        "samplePeriod": c.sample_period.to_string(),
        "lastPrice": c.last_price.to_string(),
        "lastPriceTime": c.last_price_time.to_string(),
        "lastPriceSlot": c.last_price_slot.to_string(),
        "priceTwap": c.price_twap.to_string(),
        "priceTwapTime": c.price_twap_time.to_string(),
    })
}

/// A listed collateral as `holding_value` reads it: 9 decimals, weights 0.8 / 0.9, imf 0.001, a
/// 60 s max age, cached at 100 (time 1,000, slot 500) with a time-weighted 110; `f` changes it.
fn holding_collateral(f: impl Fn(&mut Collateral)) -> Collateral {
    use bytemuck::Zeroable;
    let mut c = Collateral::zeroed();
    c.collateral_index = 1;
    c.decimals = 9;
    c.initial_weight = 800_000_000;
    c.maintenance_weight = 900_000_000;
    c.imf = 1_000_000;
    c.liquidation_discount = 50_000_000;
    c.liquidator_share = 500_000_000;
    c.max_age = 60;
    c.sample_period = 600;
    c.last_price = 100_000_000;
    c.last_price_time = 1_000;
    c.last_price_slot = 500;
    c.price_twap = 110_000_000;
    c.price_twap_time = 1_000;
    f(&mut c);
    c
}

fn collateral_value_case(amount: u64, risk: CollateralRisk, index: u64, strict: u64, initial_allowed: bool) -> Value {
    let v = collateral_value(amount, &risk, Price(index), Price(strict), initial_allowed);
    let part = match v.as_ref().map(perp::engine::health::collateral_part) {
        Ok(Ok(h)) => json!({
            "equity": h.equity.0.to_string(),
            "equityWithoutProfit": h.equity_without_profit.0.to_string(),
            "initial": h.initial.0.to_string(),
            "maintenance": h.maintenance.0.to_string(),
            "notional": h.notional.0.to_string(),
        }),
        _ => Value::Null,
    };
    json!({
        "amount": amount.to_string(),
        "risk": {
            "decimals": risk.decimals,
            "initialWeight": risk.initial_weight.0.to_string(),
            "maintenanceWeight": risk.maintenance_weight.0.to_string(),
            "imf": risk.imf.0.to_string(),
        },
        "index": index.to_string(),
        "strict": strict.to_string(),
        "initialAllowed": initial_allowed,
        "result": res(v, |v| json!({"maintenance": v.maintenance.0.to_string(), "initial": v.initial.0.to_string()})),
        "part": part,
    })
}

fn sale_case(tokens: u64, t: &SaleTerms) -> Value {
    json!({"tokens": tokens.to_string(), "terms": terms_json(t), "sale": res(sale_of(tokens, t), sale_json)})
}

fn liquidation_case(shortfall: i64, owed: i64, balance: u64, max_tokens: u64, t: &SaleTerms) -> Value {
    json!({
        "shortfall": shortfall.to_string(),
        "owed": owed.to_string(),
        "balance": balance.to_string(),
        "maxTokens": max_tokens.to_string(),
        "terms": terms_json(t),
        "sale": res(collateral_liquidation(Quote(shortfall), Quote(owed), balance, max_tokens, t), sale_json),
    })
}

fn holding_case(c: &Collateral, amount: u64, need: PriceNeed, now: i64, slot: u64) -> Value {
    let result = match holding_value(c, amount, need, now, slot) {
        Ok(v) => json!({"maintenance": v.maintenance.0.to_string(), "initial": v.initial.0.to_string()}),
        Err(anchor_lang::error::Error::AnchorError(e)) => json!({ "error": e.error_name.clone() }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    };
    json!({
        "collateral": pricing_json(c),
        "amount": amount.to_string(),
        "need": need_name(need),
        "now": now.to_string(),
        "slot": slot.to_string(),
        "result": result,
    })
}

/// perp-core's collateral functions (and the program's `holding_value`) over grids across
/// decimals 6, 8, 9, 12 (and 13, refused), prices, weights, size discounts and sale terms, with
/// their error cases, plus seeded full-width cases.
pub fn collateral() -> Value {
    const USD: u64 = 1_000_000;
    const R: i64 = 1_000_000_000;
    let rounds = [Round::Down, Round::Up];
    let decimals = [0u8, 6, 8, 9, 12, 13];
    let prices = [0u64, 1, 870_000, 150_250_000, 60_000 * USD, u64::MAX];
    let mut rng = Mix(0xc011_a7e2_2026);

    let mut token_values = Vec::new();
    for amount in [0u64, 1, 3, 999_999, 1_500_000_000, 10_000_000_000, 123_456_789_012_345, u64::MAX] {
        for &d in &decimals {
            for &p in &prices {
                for &r in &rounds {
                    token_values.push(json!({
                        "amount": amount.to_string(), "decimals": d, "price": p.to_string(), "round": round_name(r),
                        "value": res(token_value(amount, d, Price(p), r), |q| json!(q.0.to_string())),
                    }));
                }
            }
        }
    }
    for _ in 0..300 {
        let (amount, d, p) = (rng.wide(), (rng.next() % 14) as u8, rng.wide());
        let r = rounds[(rng.next() % 2) as usize];
        token_values.push(json!({
            "amount": amount.to_string(), "decimals": d, "price": p.to_string(), "round": round_name(r),
            "value": res(token_value(amount, d, Price(p), r), |q| json!(q.0.to_string())),
        }));
    }

    let mut tokens_for = Vec::new();
    for value in [-1i64, 0, 1, 2_610_000, 225_375_000, 600 * USD as i64, i64::MAX] {
        for &d in &decimals[1..] {
            for &p in &prices {
                for &r in &rounds {
                    tokens_for.push(json!({
                        "value": value.to_string(), "decimals": d, "price": p.to_string(), "round": round_name(r),
                        "tokens": res(tokens_for_value(Quote(value), d, Price(p), r), |t| json!(t.to_string())),
                    }));
                }
            }
        }
    }

    let mut sqrts: Vec<Value> =
        [0u64, 1, 2, 3, 4, 15, 16, 17, 999_999_999_999, 1_000_000_000_000, 1 << 40, (1 << 40) + 1]
            .into_iter()
            .chain([u64::MAX - 1, u64::MAX, (1 << 63) + 1, 4_294_967_295 * 4_294_967_295])
            .map(|n| json!([n.to_string(), ceil_sqrt(n).to_string()]))
            .collect();
    for _ in 0..300 {
        let n = rng.wide();
        sqrts.push(json!([n.to_string(), ceil_sqrt(n).to_string()]));
    }

    let mut size_weights = Vec::new();
    for weight in [0i64, 800_000_000, R] {
        for imf in [-1i64, 0, 1, 1_000_000, 10_000_000, i64::MAX] {
            for value in [i64::MIN, -5, 0, 1, 1_000_000, 10_000_000_000, 1_000_000_000_000, i64::MAX] {
                size_weights.push(json!({
                    "weight": weight.to_string(), "imf": imf.to_string(), "value": value.to_string(),
                    "result": res(size_weight(Rate(weight), Rate(imf), Quote(value)), |w| json!(w.0.to_string())),
                }));
            }
        }
    }

    let mut values = Vec::new();
    let weights = [
        (800_000_000i64, 900_000_000i64, 0i64),
        (500_000_000, 700_000_000, 1_000_000),
        (0, 0, 0),
        (900_000_000, 980_000_000, 10_000_000),
        (R, R, 1),
        (-5, -1, 0),
    ];
    let price_pairs = [
        (100 * USD, 110 * USD),
        (100 * USD, 90 * USD),
        (0, 0),
        (150_250_000, 150_250_001),
        (60_000 * USD, 59_000 * USD),
        (u64::MAX, u64::MAX),
    ];
    for &d in &decimals[1..] {
        for &(iw, mw, imf) in &weights {
            let risk =
                CollateralRisk { decimals: d, initial_weight: Rate(iw), maintenance_weight: Rate(mw), imf: Rate(imf) };
            for amount in [0u64, 1, 1_234_567, 10_000_000_000, 5_000_000_000_000_000, u64::MAX] {
                for &(index, strict) in &price_pairs {
                    for allowed in [true, false] {
                        values.push(collateral_value_case(amount, risk, index, strict, allowed));
                    }
                }
            }
        }
    }
    for _ in 0..500 {
        let mw = (rng.next() % (R as u64 + 1)) as i64;
        let iw = (rng.next() % (mw as u64 + 1)) as i64;
        let imf = (rng.next() % 10_000_001) as i64;
        let risk = CollateralRisk {
            decimals: (rng.next() % 14) as u8,
            initial_weight: Rate(iw),
            maintenance_weight: Rate(mw),
            imf: Rate(imf),
        };
        let index = rng.wide();
        let strict = if rng.next().is_multiple_of(2) {
            index.saturating_add(rng.wide() >> 8)
        } else {
            index.saturating_sub(rng.wide() >> 8)
        };
        values.push(collateral_value_case(rng.wide(), risk, index, strict, !rng.next().is_multiple_of(4)));
    }

    let base = SaleTerms {
        price: Price(100 * USD),
        value_price: Price(100 * USD),
        decimals: 9,
        maintenance_weight: Rate(900_000_000),
        discount: Rate(50_000_000),
        liquidator_share: Rate(500_000_000),
    };
    let mut sale_terms = vec![base];
    for d in [6u8, 8, 12, 13] {
        sale_terms.push(SaleTerms { decimals: d, ..base });
    }
    for (d, s) in [
        (0i64, 500_000_000i64),
        (200_000_000, 333_333_333),
        (200_000_000, R),
        (200_000_000, 0),
        (R, 500_000_000),
        (1_500_000_000, 500_000_000),
        (-100_000_000, 500_000_000),
    ] {
        sale_terms.push(SaleTerms { discount: Rate(d), liquidator_share: Rate(s), ..base });
    }
    for p in [1u64, 150_250_000, 60_000 * USD, u64::MAX] {
        sale_terms.push(SaleTerms { price: Price(p), value_price: Price(p), ..base });
    }
    let mut sales = Vec::new();
    for t in &sale_terms {
        for tokens in
            [0u64, 1, 2, 3, 999, 1_000_000_000, 1_000_000_007, u32::MAX as u64, 1_000_000_000_000_000, u64::MAX]
        {
            sales.push(sale_case(tokens, t));
        }
    }
    for _ in 0..300 {
        let p = rng.wide();
        let t = SaleTerms {
            price: Price(p),
            value_price: Price(p),
            decimals: (rng.next() % 14) as u8,
            maintenance_weight: Rate((rng.next() % 980_000_001) as i64),
            discount: Rate((rng.next() % (R as u64 + 1)) as i64),
            liquidator_share: Rate((rng.next() % (R as u64 + 1)) as i64),
        };
        sales.push(sale_case(rng.wide(), &t));
    }

    let mut liq_terms = vec![base];
    for vp in [104 * USD, 110 * USD, 99 * USD] {
        liq_terms.push(SaleTerms { value_price: Price(vp), ..base });
    }
    for d in [6u8, 8, 12, 13] {
        liq_terms.push(SaleTerms { decimals: d, ..base });
    }
    liq_terms.push(SaleTerms { discount: Rate(100_000_000), ..base }); // 1 - 0.1 - 0.9 = 0: refused
    liq_terms.push(SaleTerms { discount: Rate(-10_000_000), ..base }); // negative discount: refused
    liq_terms.push(SaleTerms { price: Price(0), value_price: Price(0), ..base }); // no price: refused
    liq_terms.push(SaleTerms { maintenance_weight: Rate(0), liquidator_share: Rate(R), ..base });
    liq_terms.push(SaleTerms { price: Price(60_000 * USD), value_price: Price(u64::MAX), decimals: 8, ..base });
    let mut liquidations = Vec::new();
    for t in &liq_terms {
        for shortfall in [-1i64, 0, 1, 12 * USD as i64, 1_000_000 * USD as i64, i64::MAX] {
            for owed in [0i64, 1, 50 * USD as i64, 1_000 * USD as i64, i64::MAX] {
                for balance in [0u64, 7, 10_000_000_000, u64::MAX] {
                    for max_tokens in [7u64, u64::MAX] {
                        liquidations.push(liquidation_case(shortfall, owed, balance, max_tokens, t));
                    }
                }
            }
        }
    }
    for _ in 0..500 {
        let p = rng.wide();
        let t = SaleTerms {
            price: Price(p),
            value_price: Price(p.saturating_add(if rng.next().is_multiple_of(2) { 0 } else { rng.wide() >> 4 })),
            decimals: (rng.next() % 14) as u8,
            maintenance_weight: Rate((rng.next() % 980_000_001) as i64),
            discount: Rate((rng.next() % 200_000_001) as i64),
            liquidator_share: Rate((rng.next() % (R as u64 + 1)) as i64),
        };
        let (shortfall, owed) = (rng.wide() as i64, rng.wide() as i64);
        liquidations.push(liquidation_case(shortfall, owed, rng.wide(), rng.wide(), &t));
    }

    // the program's valuation of a holding by price need
    let holdings_of = [
        holding_collateral(|_| {}),
        holding_collateral(|c| c.price_twap = 90 * USD),
        holding_collateral(|c| c.price_twap = 0),
        holding_collateral(|c| c.price_twap_time = 1_100),
        holding_collateral(|c| c.status = 1),
        holding_collateral(|c| c.status = 2),
        holding_collateral(|c| c.last_price = 0),
        holding_collateral(|c| c.decimals = 13),
        holding_collateral(|c| {
            c.last_price = u64::MAX / 2;
            c.price_twap = u64::MAX / 2;
        }),
    ];
    let needs =
        [PriceNeed::Adding, PriceNeed::Withdraw, PriceNeed::Tolerant, PriceNeed::Liquidation, PriceNeed::Lenient];
    let mut holdings = Vec::new();
    for c in &holdings_of {
        for amount in [0u64, 10_000_000_000, u64::MAX] {
            for &need in &needs {
                for now in [900i64, 1_000, 1_030, 1_061, 1_000 + 960, 1_000 + 961, 1_000 + 21_601] {
                    for slot in [0u64, 500, 504, 505] {
                        holdings.push(holding_case(c, amount, need, now, slot));
                    }
                }
            }
        }
    }

    eprintln!(
        "collateral vectors: {} token values, {} tokens-for-value, {} square roots, {} size weights, {} holding values, \
         {} sales, {} liquidations, {} program holdings",
        token_values.len(),
        tokens_for.len(),
        sqrts.len(),
        size_weights.len(),
        values.len(),
        sales.len(),
        liquidations.len(),
        holdings.len()
    );
    json!({
        "tokenValue": token_values,
        "tokensForValue": tokens_for,
        "ceilSqrt": sqrts,
        "sizeWeight": size_weights,
        "collateralValue": values,
        "saleOf": sales,
        "liquidation": liquidations,
        "holding": holdings,
    })
}
