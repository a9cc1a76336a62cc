//! Pro-rata ADL vectors: a bank run of a pro-rata crash (Carol bankrupt, Dan, Erin and the
//! arbitrageur short and in profit), after the round's step and before any winner is touched, and
//! what the Rust SDK computes for each winner: the haircut it owes
//! (`perp_client::preview::haircut_owed`, the program's function), its cross equity with that
//! haircut settled (`account_health_with`), and its expected share of a deficit (`adl_share`).
//! `app/ts/src/account-view.ts` must reproduce them.

use perp_client::chain::AccountData;
use perp_client::oracle_data::PYTH_LEGACY_PROGRAM;
use perp_client::preview::{account_health_with, adl_share, haircut_owed, index_view, market_state};
use perp_tests::pro_rata::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub async fn adl() -> Value {
    let (mut w, carol, dan, erin) = pro_rata_world().await;
    let arb = w.arb.account;
    round(&mut w, &carol, &[dan.account, erin.account, arb]).await;
    step(&mut w, &carol).await.unwrap();
    let now = w.env.now;
    let m = w.env.market(0).await;
    let ex = w.env.exchange().await;
    let oracle =
        AccountData { owner: PYTH_LEGACY_PROGRAM, lamports: 1, data: w.env.account_data(&w.oracle).await.unwrap() };
    let st = market_state(&m, &index_view(&m, &ex, &[Some(oracle)], now), now).unwrap();
    let names = [("dan", dan.account), ("erin", erin.account), ("arb", arb), ("carol", carol.account)];
    let mut all = Vec::new();
    for (_, k) in names {
        all.push((k, w.env.margin(&k).await));
    }
    let states = BTreeMap::from([(0u16, st.clone())]);
    let mut accounts = Vec::new();
    for ((name, k), (_, a)) in names.iter().zip(&all) {
        let owed = a.find(0).map(|s| haircut_owed(&m, &a.positions[s]).0).unwrap_or(0);
        if let (Some(s), true) = (a.find(0), owed > 0) {
            // the SDK's settled copy is what the program leaves: nothing owed, the share off the
            // entry; and a trade preview on it runs the program's fill (which refuses an unsettled
            // share) without error
            let settled = perp_client::preview::settled(a, &states);
            assert_eq!(haircut_owed(&m, &settled.positions[s]).0, 0);
            assert_eq!(settled.positions[s].quote_entry, a.positions[s].quote_entry - owed);
            let p = perp_client::preview::preview_trade_with(
                a,
                &st,
                &BTreeMap::new(),
                &BTreeMap::new(),
                ex.fee_insurance_share,
                perp_core::vamm::Side::Long,
                perp_core::Base(a.positions[s].base.abs() / 2),
                false,
                perp_core::Quote::ZERO,
                now,
            );
            assert!(p.is_ok(), "{name}: a reducing preview works while a share is owed: {:?}", p.err());
        }
        let h = account_health_with(a, &states, &BTreeMap::new(), now);
        let share = adl_share(k, &st, &all);
        accounts.push(json!({
            "name": name,
            "address": k.to_string(),
            "data": hex::encode(w.env.account_data(k).await.unwrap()),
            "haircutOwed": owed.to_string(),
            "equity": h.cross.equity.0.to_string(),
            "share": share.map(|(s, _)| s.to_string()),
            "winners": share.map(|(_, n)| n),
        }));
    }
    assert!(accounts.iter().filter(|a| a["haircutOwed"] != "0").count() == 3, "every winner owes: {accounts:?}");
    json!({
        "now": now.to_string(),
        "market": hex::encode(w.env.account_data(&perp_client::pda::market(0)).await.unwrap()),
        "index": st.index.0.to_string(),
        "mark": st.view.mark.0.to_string(),
        "accounts": accounts,
    })
}
