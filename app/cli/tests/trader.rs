//! The trader commands (the same functions `perp account|trade|position|market` call) against the
//! in-process bank, and the promise behind them: the liquidation price shown is where the program
//! liquidates.

use perp_cli::output::CliError;
use perp_cli::trader::{
    self, AccountCmd, CloseArgs, IdArg, MarketArg, MarketCmd, MoveArgs, PositionCmd, ShowArgs, TradeArgs, TradeCmd,
};
use perp_client::bank::Bootstrap;
use perp_client::chain::{fetch_margin, fetch_market, Chain, SendOptions};
use perp_client::{ix, oracle_data, pda, Pubkey};
use perp_core::Price;
use serde_json::Value;
use solana_keypair::Keypair;
use solana_signer::Signer;

mod common;
use common::{btc_params, T0, USDC};

fn set_price(b: &Bootstrap, key: Pubkey, p: Price, t: i64) {
    b.chain.set_account(
        key,
        oracle_data::PYTH_LEGACY_PROGRAM,
        oracle_data::legacy_account(oracle_data::LEGACY_TEMPLATE, p, Price(p.0 / 10_000), t),
    );
}

fn trade_args(size: &str) -> TradeArgs {
    TradeArgs {
        market: "BTC-PERP".into(),
        size: size.into(),
        limit: None,
        slippage: None,
        isolated: None,
        reduce_only: false,
        stop_loss: None,
        take_profit: None,
        dry_run: false,
        id: 0,
    }
}

fn val(o: &perp_cli::output::Output, k: &str) -> String {
    match &o.value[k] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn trader_commands_end_to_end() {
    let b = Bootstrap::new(T0, 200_000_000).await.unwrap();
    let oracles = [Keypair::new().pubkey(), Keypair::new().pubkey()];
    for k in &oracles {
        set_price(&b, *k, Price(20_000_000_000), T0);
    }
    b.create_market(0, btc_params(&oracles), 1_000_000_000_000, Price(20_000_000_000)).await.unwrap();
    let kp = Keypair::new();
    b.chain.fund(&kp.pubkey(), 1_000_000_000).await.unwrap();
    let token = b.chain.token_account(&b.mint, &kp.pubkey(), 50_000 * USDC, &b.admin).await.unwrap();
    let c = &b.chain;
    let o = SendOptions::default();

    // account create / deposit / show
    let out = trader::account(c, Some(&kp), &AccountCmd::Create(IdArg { id: 0 }), &o).await.unwrap();
    assert_eq!(val(&out, "margin_account"), pda::margin_account(&kp.pubkey(), 0).to_string());
    let dep = MoveArgs { amount: "10000".into(), mint: None, id: 0, token: Some(token.to_string()) };
    let out = trader::account(c, Some(&kp), &AccountCmd::Deposit(dep), &o).await.unwrap();
    assert_eq!(val(&out, "cross_collateral"), "10000");
    let bad = MoveArgs { amount: "-5".into(), mint: None, id: 0, token: Some(token.to_string()) };
    assert!(matches!(trader::account(c, Some(&kp), &AccountCmd::Deposit(bad), &o).await, Err(CliError::Input(_))));

    // a preview, then the trade
    let mut a = trade_args("2");
    a.dry_run = true;
    let preview = trader::trade(c, Some(&kp), &TradeCmd::Buy(a), &o).await.unwrap();
    let m = fetch_market(c, 0).await.unwrap();
    let fill = m.vamm().quote_trade(perp_core::vamm::Side::Long, perp_core::Base(2_000_000_000)).unwrap();
    assert_eq!(val(&preview, "estimated_fill"), fill.avg_price.to_string());
    assert!(
        fetch_margin(c, &pda::margin_account(&kp.pubkey(), 0)).await.unwrap().find(0).is_none(),
        "a dry run sends nothing"
    );
    let done = trader::trade(c, Some(&kp), &TradeCmd::Buy(trade_args("2")), &o).await.unwrap();
    assert!(done.value.get("signature").is_some());
    // over-leverage is refused before anything is sent, with the program's reason
    let err = trader::trade(c, Some(&kp), &TradeCmd::Buy(trade_args("30")), &o).await.err().unwrap();
    assert!(err.message().contains("insufficient margin"), "{}", err.message());

    // show: the liquidation price the trader sees ...
    let show = trader::account(c, Some(&kp), &AccountCmd::Show(ShowArgs { id: 0, owner: None }), &o).await.unwrap();
    let pos = &show.value["positions"][0];
    assert_eq!(pos["size"], "2");
    let liq: Price = Price::parse(pos["liquidation_price"].as_str().unwrap()).unwrap();
    assert_eq!(val(&preview, "new_liquidation_price"), liq.to_string(), "the preview promised the same price");
    assert_eq!(pos["adl_rank"], Value::Null, "not profitable: not an ADL candidate");
    assert_eq!(pos["adl_quantile"], 0, "not in the queue: no lights");
    // `perp position list` shows the same rows
    let list = trader::position(c, Some(&kp), &PositionCmd::List(ShowArgs { id: 0, owner: None }), &o).await.unwrap();
    assert_eq!(list.value["positions_open"], 1);
    assert_eq!(&list.value["positions"][0], pos);

    // ... is exactly where the program starts to liquidate (the liquidator takes the position
    // over, so it brings margin of its own)
    let liquidator = b.user(100_000 * USDC, 100_000 * USDC).await.unwrap();
    let me = pda::margin_account(&kp.pubkey(), 0);
    let liq_ix = |m: &perp::state::Market| {
        ix::liquidate(liquidator.key(), liquidator.account, me, 0, &ix::market_oracles(m), &[], 0)
    };
    c.set_time(T0 + 10).await;
    for k in &oracles {
        set_price(&b, *k, Price(liq.0 + 1), T0 + 10);
    }
    let r = c.send(&[liq_ix(&m)], &[&liquidator.kp], &o).await;
    assert_eq!(r.err().and_then(|e| e.program_error_name().map(str::to_string)).as_deref(), Some("NotLiquidatable"));

    // market show names every source and why one was dropped
    set_price(&b, oracles[1], Price(liq.0), T0 - 100);
    let ms = trader::market(c, &MarketCmd::Show(MarketArg { market: "0".into() })).await.unwrap();
    assert_eq!(ms.value["sources"][0]["status"], "used");
    assert!(ms.value["sources"][1]["status"].as_str().unwrap().starts_with("dropped: stale: age 110 s > max 60 s"));
    assert_eq!(val(&ms, "index"), Price(liq.0 + 1).to_string());
    let list = trader::market(c, &MarketCmd::List).await.unwrap();
    assert_eq!(list.value["markets"][0]["name"], "BTC-PERP");
    assert!(matches!(
        trader::market(c, &MarketCmd::Show(MarketArg { market: "ETH".into() })).await,
        Err(CliError::Input(_))
    ));

    for k in &oracles {
        set_price(&b, *k, liq, T0 + 10);
    }
    c.send(&[liq_ix(&m)], &[&liquidator.kp], &o).await.unwrap();

    // what is left: close and withdraw
    let acct = fetch_margin(c, &me).await.unwrap();
    if acct.find(0).is_some() {
        let out = trader::position(
            c,
            Some(&kp),
            &PositionCmd::Close(CloseArgs { market: "BTC-PERP".into(), limit: None, id: 0 }),
            &o,
        )
        .await
        .unwrap();
        assert!(out.value.get("realized_pnl").is_some());
    }
    let free = fetch_margin(c, &me).await.unwrap().cross_collateral;
    let w = MoveArgs { amount: perp_core::Quote(free).to_string(), mint: None, id: 0, token: Some(token.to_string()) };
    let out = trader::account(c, Some(&kp), &AccountCmd::Withdraw(w), &o).await.unwrap();
    assert_eq!(val(&out, "cross_collateral"), "0");
    let conservation = b.conservation().await.unwrap();
    assert!(conservation.holds(), "{conservation:?}");
}
