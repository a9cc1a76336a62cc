//! Scale: Solana runs transactions that write the same account one after another. Orders,
//! closes, liquidations, ADL steps and funding cranks in different markets, from different users,
//! share no writable account, so one market's traffic (or a spammer write-locking it) never
//! queues another market's. Also prints every instruction's write set (the README's table).

use super::*;
use perp::instructions::OrderParams;
use std::collections::BTreeSet;

fn writable(ixs: &[Instruction]) -> BTreeSet<Pubkey> {
    ixs.iter().flat_map(|i| i.accounts.iter().filter(|m| m.is_writable).map(|m| m.pubkey)).collect()
}

/// Everything a market's hot path sends, for market `m` with its own oracle, trader, victim,
/// liquidator and bankrupt account (the trader also holds a position in `other`, passed read-only).
fn hot_path(m: u16, other: u16) -> Vec<Instruction> {
    let oracle = [Keypair::new().pubkey()];
    let (trader, victim, liquidator, bankrupt, cand) = (
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
        Keypair::new().pubkey(),
    );
    let acct = |k: &Pubkey| perp_client::pda::margin_account(k, 0);
    let p = OrderParams {
        side: OrderSide::Long,
        size: 1,
        limit_price: 0,
        reduce_only: false,
        isolated: false,
        isolated_collateral: 0,
        max_index_deviation: 0,
    };
    vec![
        ix::place_market_order(trader, acct(&trader), m, &oracle, &[other], p),
        ix::close_position(trader, acct(&trader), m, &oracle, &[other], 0),
        ix::liquidate(liquidator, acct(&liquidator), acct(&victim), m, &oracle, &[other], 0),
        ix::update_funding(m, &oracle),
        ix::begin_adl_round(m, &oracle, acct(&bankrupt)),
        ix::adl_scan(m, &[acct(&cand)]),
        ix::auto_deleverage(m, &oracle, acct(&bankrupt), &[acct(&cand)]),
        ix::resolve_bankruptcy(m, &oracle, acct(&bankrupt)),
    ]
}

#[test]
fn attack_one_market_write_locks_another() {
    let btc = hot_path(0, 1);
    let eth = hot_path(1, 0);
    let (a, b) = (writable(&btc), writable(&eth));
    let shared: Vec<_> = a.intersection(&b).collect();
    assert!(shared.is_empty(), "markets 0 and 1 share writable accounts: {shared:?}");
    // the shared singletons are never written on these paths
    for k in [perp_client::pda::exchange(), perp_client::pda::collateral_vault(), perp_client::pda::insurance_vault()] {
        assert!(!a.contains(&k) && !b.contains(&k), "{k} is written on a hot path");
    }
    // the other market a cross order or liquidation reads is read-only
    assert!(!a.contains(&perp_client::pda::market(1)) && !b.contains(&perp_client::pda::market(0)));
}

/// The write set of every instruction (fee payer aside), printed for the README.
#[test]
fn write_sets_of_every_instruction() {
    let names = [
        "place_market_order",
        "close_position",
        "liquidate",
        "update_funding",
        "begin_adl_round",
        "adl_scan",
        "auto_deleverage",
        "resolve_bankruptcy",
    ];
    let hot = hot_path(0, 1);
    let ex = perp_client::pda::exchange();
    for (n, i) in names.iter().zip(&hot) {
        let w: Vec<_> = i.accounts.iter().filter(|m| m.is_writable).map(|m| m.pubkey).collect();
        assert!(!w.contains(&ex), "{n} writes the exchange");
        println!("{n}: {} writable account(s)", w.len());
    }
    let u = Keypair::new().pubkey();
    let a = perp_client::pda::margin_account(&u, 0);
    let token = Keypair::new().pubkey();
    for (n, i) in [
        ("deposit", ix::deposit(u, a, token, 1)),
        ("withdraw", ix::withdraw(u, a, token, 1, &[0])),
        ("deposit_insurance", ix::deposit_insurance(u, token, 0, 1)),
        ("sweep_insurance", ix::sweep_insurance(0)),
        ("settle_funding", ix::settle_funding(a, &[0])),
    ] {
        let w: Vec<_> = i.accounts.iter().filter(|m| m.is_writable).map(|m| m.pubkey).collect();
        assert!(!w.contains(&ex), "{n} writes the exchange");
        println!("{n}: {} writable account(s)", w.len());
    }
}
