//! Resting-order vectors: the three order instructions as `perp_client::orders` builds them, and
//! perp-core's order rules (trigger, bound, the vAMM's fill within a bound, fill size) over a
//! grid and seeded cases, which `app/ts/src/orders.ts` must reproduce exactly.

use super::vectors::{case, key, keys};
use perp::instructions::{OrderSide, OrderType, OrdersToCancel, PlaceOrderParams};
use perp_client::{orders, pda};
use perp_core::orders::{fill_bound, fill_size, max_size_within, order_fill_size, trigger_met, OrderKind, OrderSpec};
use perp_core::vamm::{Side, Vamm};
use perp_core::{Base, Price, Rate};
use serde_json::{json, Value};

fn type_name(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "limit",
        OrderType::StopMarket => "stopMarket",
        OrderType::TakeProfitMarket => "takeProfitMarket",
        OrderType::StopLimit => "stopLimit",
        OrderType::TakeProfitLimit => "takeProfitLimit",
    }
}

fn params_json(p: &PlaceOrderParams) -> Value {
    json!({
        "orderType": type_name(p.order_type),
        "side": if p.side == OrderSide::Long { "long" } else { "short" },
        "size": p.size.to_string(),
        "limitPrice": p.limit_price.to_string(),
        "triggerPrice": p.trigger_price.to_string(),
        "maxSlippage": p.max_slippage.to_string(),
        "reduceOnly": p.reduce_only,
        "expiry": p.expiry.to_string(),
        "clientOrderId": p.client_order_id.to_string(),
    })
}

pub fn instruction_cases() -> Vec<Value> {
    let (owner, keeper) = (key(1), key(4));
    let acct = pda::margin_account(&owner, 0);
    let kacct = pda::margin_account(&keeper, 7);
    let oracles = [key(10), key(11), key(12)];
    let mut out = Vec::new();
    let types = [
        (OrderType::Limit, 20_000_000_000u64, 0u64, 0u64),
        (OrderType::StopMarket, 0, 19_000_000_000, 5_000_000),
        (OrderType::TakeProfitMarket, 0, 21_000_000_000, 0),
        (OrderType::StopLimit, 18_900_000_000, 19_000_000_000, 0),
        (OrderType::TakeProfitLimit, 21_100_000_000, 21_000_000_000, 0),
    ];
    for (n, (t, limit, trigger, slip)) in types.into_iter().enumerate() {
        let p = PlaceOrderParams {
            order_type: t,
            side: if n % 2 == 0 { OrderSide::Long } else { OrderSide::Short },
            size: 1_000_000_000 + n as u64,
            limit_price: limit,
            trigger_price: trigger,
            max_slippage: slip,
            reduce_only: n > 0,
            expiry: if n == 3 { 1_700_000_000 } else { 0 },
            client_order_id: if n == 4 { u64::MAX } else { n as u64 },
        };
        let cross: Vec<u16> = (0..n as u16).collect();
        out.push(case(
            &format!("place_order {}", type_name(t)),
            "placeOrder",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string(), "marketIndex": n as u16 * 2, "crossMarkets": cross, "params": params_json(&p)}),
            orders::place_order(owner, acct, n as u16 * 2, &cross, p),
        ));
    }
    for (name, which, js) in [
        ("by id", OrdersToCancel::ById(42), json!({"byId": "42"})),
        ("by client id", OrdersToCancel::ByClientId(u64::MAX), json!({"byClientId": u64::MAX.to_string()})),
        ("all", OrdersToCancel::All { market_index: None }, json!({"all": true})),
        ("all of market 3", OrdersToCancel::All { market_index: Some(3) }, json!({"all": true, "marketIndex": 3})),
    ] {
        out.push(case(
            &format!("cancel_orders {name}"),
            "cancelOrders",
            json!({"owner": owner.to_string(), "marginAccount": acct.to_string(), "which": js}),
            orders::cancel_orders(owner, acct, which),
        ));
    }
    out.push(case(
        "fill_order",
        "fillOrder",
        json!({"filler": keeper.to_string(), "fillerAccount": kacct.to_string(), "marginAccount": acct.to_string(), "marketIndex": 1, "oracles": keys(&oracles[..2]), "otherMarkets": [0, 5], "orderId": "7"}),
        orders::fill_order(keeper, kacct, acct, 1, &oracles[..2], &[0, 5], 7),
    ));
    out
}

fn spec(kind: OrderKind, side: Side, limit: u64, trigger: u64, slip: i64) -> OrderSpec {
    OrderSpec { kind, side, limit: Price(limit), trigger: Price(trigger), slippage: Rate(slip) }
}

fn side_name(s: Side) -> &'static str {
    if s == Side::Long {
        "long"
    } else {
        "short"
    }
}

/// perp-core's order rules over a grid: every kind and side against indices around its trigger;
/// bounds for limits, slippages and bands; the largest fill within a bound on curves of several
/// depths and pegs; fill sizes.
pub fn math() -> Value {
    let kinds = [
        OrderKind::Limit,
        OrderKind::StopMarket,
        OrderKind::TakeProfitMarket,
        OrderKind::StopLimit,
        OrderKind::TakeProfitLimit,
    ];
    let mut triggers = Vec::new();
    let mut bounds = Vec::new();
    for k in kinds {
        for side in [Side::Long, Side::Short] {
            for limit in [0u64, 3, 19_999_999_999, 20_000_000_000, 20_500_000_001] {
                for slip in [0i64, 1, 2_500_000, 10_000_000, 600_000_000] {
                    let o = spec(k, side, limit, 20_000_000_000, slip);
                    for index in [1u64, 3, 19_999_999_999, 20_000_000_000, 20_000_000_001, 41_000_000_000] {
                        if limit == 0 && slip == 0 {
                            triggers.push(json!({"kind": k as u8, "side": side_name(side), "trigger": "20000000000", "index": index.to_string(), "met": trigger_met(&o, Price(index))}));
                        }
                        for band in [0i64, 1, 10_000_000, 100_000_000, 500_000_000, 500_000_001] {
                            let r = fill_bound(&o, Price(index), Rate(band));
                            bounds.push(json!({
                                "kind": k as u8, "side": side_name(side), "limit": limit.to_string(), "slippage": slip.to_string(),
                                "index": index.to_string(), "band": band.to_string(),
                                "bound": r.map(|p| json!(p.0.to_string())).unwrap_or(Value::Null),
                            }));
                        }
                    }
                }
            }
        }
    }
    let mut sizes = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for n in 0..400 {
        let reserve = 10 + next() % 1_000_000;
        let peg = 1_000_000 + next() % 100_000_000_000;
        let v = Vamm::new(reserve as u128 * 1_000_000_000, Price(peg)).unwrap();
        let side = if n % 2 == 0 { Side::Long } else { Side::Short };
        let away = (next() % 300_000_000) as i64 - 50_000_000;
        let mid = v.price().unwrap();
        let bound = mid.scale_by_one_plus(Rate(away * side.sign()), perp_core::Round::Down).unwrap();
        let cap = Base((1 + next() % (reserve * 1_000_000_000)) as i64);
        let d = max_size_within(&v, side, bound, cap).unwrap();
        sizes.push(json!({
            "baseReserve": v.base_reserve.to_string(), "k": v.k.to_string(), "peg": v.peg.0.to_string(),
            "side": side_name(side), "bound": bound.0.to_string(), "cap": cap.0.to_string(), "size": d.0.to_string(),
        }));
    }
    let mut fills = Vec::new();
    for remaining in [0i64, 1, 999_999, 1_000_000, 1_500_000, 2_000_000, 5_000_000_000] {
        for available in [0i64, 1, 500_000, 1_000_000, 1_499_999, 4_000_000_000, 6_000_000_000] {
            for min in [0i64, 1_000_000] {
                let r = fill_size(Base(remaining), Base(available), Base(min));
                fills.push(json!({"remaining": remaining.to_string(), "available": available.to_string(), "min": min.to_string(), "size": r.map(|b| json!(b.0.to_string())).unwrap_or(Value::Null)}));
            }
        }
    }
    let mut order_fills = Vec::new();
    let grid = [0i64, 1, 499_999, 500_000, 999_999, 1_000_000, 1_500_000, 2_000_000, 4_500_000, 6_000_000];
    for left in grid {
        for available in grid {
            for against in grid {
                for min in [0i64, 1_000_000] {
                    for ro in [false, true] {
                        let r = order_fill_size(Base(left), Base(available), Base(min), Base(against), ro);
                        order_fills.push(json!({
                            "left": left.to_string(), "available": available.to_string(), "min": min.to_string(),
                            "against": against.to_string(), "reduceOnly": ro,
                            "size": r.map(|b| json!(b.0.to_string())).unwrap_or(Value::Null),
                        }));
                    }
                }
            }
        }
    }
    json!({ "triggers": triggers, "bounds": bounds, "maxSize": sizes, "fillSize": fills, "orderFillSize": order_fills })
}
