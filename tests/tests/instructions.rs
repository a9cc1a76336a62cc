//! Every instruction's happy path and an error path for each constraint, through the real program.

use anchor_lang::prelude::Pubkey;
use perp::error::PerpError;
use perp::instructions::{OrderParams, OrderSide};
use perp::state::{market_status, pause, TierParams};
use perp_client::{ix, pda};
use perp_core::margin::Health;
use perp_core::vamm::Side;
use perp_core::{Base, Quote, Rate, Round};
use perp_tests::*;
use solana_keypair::Keypair;
use solana_signer::Signer;

struct Setup {
    env: Env,
    oracle: Pubkey,
    alice: User,
}

async fn setup() -> Setup {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(10), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let alice = env.user(100_000 * USDC, 10_000 * USDC).await;
    Setup { env, oracle, alice }
}

fn long(size: i64) -> OrderParams {
    order(OrderSide::Long, size)
}

fn short(size: i64) -> OrderParams {
    order(OrderSide::Short, size)
}

#[tokio::test(flavor = "current_thread")]
async fn trade_amounts_match_perp_core() {
    let Setup { mut env, alice, .. } = setup().await;
    let m0 = env.market(0).await;
    let fill = m0.vamm().quote_trade(Side::Long, Base(BTC)).unwrap();
    env.trade(&alice, 0, long(BTC)).await.unwrap();
    // 1 BTC of 1,000 at 20,000: cost 20,020.02004 (see perp-core's vAMM test)
    assert_eq!(fill.quote, Quote(-20_020_020_040));
    let fee = Quote(20_020_020_040).mul_rate(Rate(500_000), Round::Up).unwrap(); // 0.05%, rounded up
    assert_eq!(fee, Quote(10_010_011));
    let ins = fee.mul_rate(Rate(200_000_000), Round::Down).unwrap(); // 20% to insurance
    assert_eq!(ins, Quote(2_002_002));
    let a = env.margin(&alice.account).await;
    assert_eq!(a.positions[0].base, BTC);
    assert_eq!(a.positions[0].quote_entry, -20_020_020_040);
    assert_eq!(a.cross_collateral, 10_000 * USDC as i64 - fee.0);
    let m = env.market(0).await;
    assert_eq!(m.fee_pool, fee.0 - ins.0);
    assert_eq!(m.oi_long, BTC);
    assert_eq!(m.open_positions_long, 1);
    // the insurance share is booked in the market's ledger; the sweep moves the tokens
    assert_eq!((m.insurance_fund, m.insurance_pending), (ins.0, ins.0));
    env.assert_conservation().await;
    env.sweep(0).await.unwrap();
    let m = env.market(0).await;
    assert_eq!((m.insurance_fund, m.insurance_pending), (ins.0, 0));
    assert_eq!(env.token_balance(&pda::insurance_vault()).await, ins.0 as u64);
    env.assert_conservation().await;

    // close: the vAMM returns to its start, so the round trip realizes exactly -(cost - proceeds)
    let close = m.vamm().quote_trade(Side::Short, Base(BTC)).unwrap();
    env.close(&alice, 0).await.unwrap();
    let realized = close.quote.0 - 20_020_020_040;
    let fee2 = Quote(close.quote.0).mul_rate(Rate(500_000), Round::Up).unwrap();
    let a = env.margin(&alice.account).await;
    assert_eq!(a.cross_collateral, 10_000 * USDC as i64 - fee.0 + realized - fee2.0);
    assert_eq!(realized, 0, "a buy and a sell of the same size on an untouched curve net to zero");
    let m = env.market(0).await;
    assert_eq!(m.pnl_pool, -realized);
    assert_eq!(m.oi_long, 0);
    assert_eq!(m.open_positions_long, 0);
    assert_eq!(env.market(0).await.base_reserve.get(), 1_000 * BTC as u128);
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn admin_instructions_and_their_errors() {
    let Setup { mut env, oracle, alice } = setup().await;
    let admin = env.admin.insecure_clone();
    let stranger = Keypair::new();

    // update_market applies at once only when it tightens new risk (higher IMR, lower leverage)
    let mut p = default_market_params(vec![legacy_oracle(oracle)]);
    p.tiers[0].imr = 25_000_000;
    p.max_leverage = 40;
    env.send(&[ix::update_market(admin.pubkey(), 0, p.clone())], &[&admin]).await.unwrap();
    assert_eq!((env.market(0).await.tiers[0].imr, env.market(0).await.max_leverage), (25_000_000, 40));
    // anything else needs the timelock: a fee, a maintenance rate, the oracle set
    let mut fee = p.clone();
    fee.taker_fee = 1_000_000;
    assert_error(
        env.send(&[ix::update_market(admin.pubkey(), 0, fee.clone())], &[&admin]).await,
        PerpError::TimelockRequired,
    );
    let mut looser = p.clone();
    looser.tiers[0].imr = 20_000_000;
    looser.max_leverage = 50;
    assert_error(
        env.send(&[ix::update_market(admin.pubkey(), 0, looser)], &[&admin]).await,
        PerpError::TimelockRequired,
    );
    // through the timelock (zero here) it applies
    env.update_market(0, fee.clone()).await.unwrap();
    assert_eq!(env.market(0).await.taker_fee, 1_000_000);
    // bad parameters are refused when proposed
    let mut bad = fee.clone();
    bad.tiers[1].cap = bad.tiers[0].cap;
    let version = env.market(0).await.params_version;
    let action = |params| perp::state::AdminAction::UpdateMarket { market_index: 0, params, version };
    assert_error(env.propose(action(bad)).await.map(|_| ()), PerpError::InvalidMarketParams);
    let mut bad = fee.clone();
    bad.tiers[0].mmr = bad.tiers[0].imr;
    assert_error(env.propose(action(bad)).await.map(|_| ()), PerpError::InvalidMarketParams);
    let mut bad = fee.clone();
    bad.max_deviation = 2_000_000_000;
    assert_error(env.propose(action(bad)).await.map(|_| ()), PerpError::InvalidMarketParams);
    let mut bad = fee.clone();
    bad.max_leverage = 20; // tier 0's IMR of 2.5% is below 1/20
    bad.tiers[0].imr = 20_000_000;
    assert_error(env.propose(action(bad)).await.map(|_| ()), PerpError::InvalidMarketParams);
    let mut bad = fee.clone();
    bad.funding_cap = 0; // the funding cap is mandatory
    assert_error(env.propose(action(bad)).await.map(|_| ()), PerpError::InvalidMarketParams);
    assert_error(
        env.send(&[ix::update_market(stranger.pubkey(), 0, p.clone())], &[&stranger]).await,
        PerpError::AdminOnly,
    );
    let id = env.exchange().await.proposal_count;
    let fund = solana_system_interface::instruction::transfer(&env.payer().pubkey(), &stranger.pubkey(), 1_000_000_000);
    env.send(&[fund], &[]).await.unwrap();
    assert_error(
        env.send(&[ix::propose(stranger.pubkey(), id, action(p.clone()))], &[&stranger]).await,
        PerpError::AdminOnly,
    );
    // a new market must use the next index
    let create = perp::state::AdminAction::CreateMarket {
        market_index: 5,
        params: p.clone(),
        base_reserve: 1_000 * BTC as u128,
        peg: usd(1).0,
    };
    let id = env.propose(create).await.unwrap();
    assert_error(
        env.send(&[ix::execute_create_market(admin.pubkey(), id, admin.pubkey(), 5)], &[&admin]).await,
        PerpError::InvalidMarketParams,
    );
    env.send(&[ix::cancel_proposal(admin.pubkey(), id)], &[&admin]).await.unwrap();

    // set_pause: trading paused, then resumed; only the admin may
    env.send(&[ix::set_pause(admin.pubkey(), pause::TRADE)], &[&admin]).await.unwrap();
    assert_error(env.trade(&alice, 0, long(BTC / 10)).await, PerpError::OperationPaused);
    assert_error(env.send(&[ix::set_pause(stranger.pubkey(), 0)], &[&stranger]).await, PerpError::AdminOnly);
    env.send(&[ix::set_pause(admin.pubkey(), pause::DEPOSIT | pause::WITHDRAW | pause::FUNDING)], &[&admin])
        .await
        .unwrap();
    env.trade(&alice, 0, long(BTC / 10)).await.unwrap();
    assert_error(
        env.send(&[ix::deposit(alice.key(), alice.account, alice.token, USDC)], &[&alice.kp]).await,
        PerpError::OperationPaused,
    );
    assert_error(
        env.send(&[ix::withdraw(alice.key(), alice.account, alice.token, USDC, &[0])], &[&alice.kp]).await,
        PerpError::OperationPaused,
    );
    // the FUNDING pause stops samples and funding, not the index refresh
    let before = env.market(0).await;
    env.advance(61).await;
    env.set_legacy_oracle(oracle, usd(20_000), usd(10), env.now);
    env.crank_funding(0).await.unwrap();
    let after = env.market(0).await;
    assert_eq!(after.last_sample_time, before.last_sample_time);
    assert_eq!(after.last_index_time, env.now);
    env.send(&[ix::set_pause(admin.pubkey(), 0)], &[&admin]).await.unwrap();

    // market status: reduce-only lets a position shrink but not grow; paused stops new risk but
    // never a close
    env.send(&[ix::set_market_status(admin.pubkey(), 0, market_status::REDUCE_ONLY)], &[&admin]).await.unwrap();
    assert_error(env.trade(&alice, 0, long(BTC / 10)).await, PerpError::MarketReduceOnly);
    env.trade(&alice, 0, short(BTC / 20)).await.unwrap();
    env.send(&[ix::set_market_status(admin.pubkey(), 0, market_status::PAUSED)], &[&admin]).await.unwrap();
    assert_error(env.trade(&alice, 0, long(BTC / 20)).await, PerpError::MarketPaused);
    env.trade(&alice, 0, short(BTC / 40)).await.unwrap();
    assert_error(env.send(&[ix::set_market_status(stranger.pubkey(), 0, 0)], &[&stranger]).await, PerpError::AdminOnly);
    env.send(&[ix::set_market_status(admin.pubkey(), 0, market_status::ACTIVE)], &[&admin]).await.unwrap();
    env.close(&alice, 0).await.unwrap();
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn deposits_withdrawals_delegates() {
    let Setup { mut env, alice, .. } = setup().await;
    let bob = Keypair::new();
    let stranger = Keypair::new();

    // deposit errors: zero, a token account of another mint
    assert_error(
        env.send(&[ix::deposit(alice.key(), alice.account, alice.token, 0)], &[&alice.kp]).await,
        PerpError::ZeroAmount,
    );
    assert_error(
        env.send(&[ix::deposit(stranger.pubkey(), alice.account, alice.token, USDC)], &[&stranger]).await,
        PerpError::WrongTokenAccount,
    );

    // a delegate may trade and deposit, never withdraw
    env.send(&[ix::set_delegate(alice.key(), alice.account, bob.pubkey())], &[&alice.kp]).await.unwrap();
    assert_eq!(env.margin(&alice.account).await.delegate, bob.pubkey());
    assert_error(
        env.send(&[ix::set_delegate(bob.pubkey(), alice.account, bob.pubkey())], &[&bob]).await,
        PerpError::OwnerOnly,
    );
    assert_error(
        env.send(&[ix::set_delegate(stranger.pubkey(), alice.account, stranger.pubkey())], &[&stranger]).await,
        PerpError::Unauthorized,
    );
    let fund = solana_system_interface::instruction::transfer(&env.payer().pubkey(), &bob.pubkey(), 1_000_000_000);
    env.send(&[fund], &[]).await.unwrap();
    let bob_token = env.token_account(&bob.pubkey(), 1_000 * USDC).await;
    env.send(&[ix::deposit(bob.pubkey(), alice.account, bob_token, 500 * USDC)], &[&bob]).await.unwrap();
    let m = env.market(0).await;
    // a delegate's order needs a limit within the market's band (1%) of the index
    let i = ix::place_market_order(bob.pubkey(), alice.account, 0, &ix::market_oracles(&m), &[], long(BTC / 2));
    assert_error(env.send(&[i], &[&bob]).await, PerpError::DelegateLimitRequired);
    let mut lim = long(BTC / 2);
    lim.limit_price = usd(20_300).0;
    let i = ix::place_market_order(bob.pubkey(), alice.account, 0, &ix::market_oracles(&m), &[], lim);
    assert_error(env.send(&[i], &[&bob]).await, PerpError::DelegateLimitRequired);
    lim.limit_price = usd(20_100).0;
    let i = ix::place_market_order(bob.pubkey(), alice.account, 0, &ix::market_oracles(&m), &[], lim);
    env.send(&[i], &[&bob]).await.unwrap();
    assert_error(
        env.send(&[ix::withdraw(bob.pubkey(), alice.account, bob_token, USDC, &[0])], &[&bob]).await,
        PerpError::OwnerOnly,
    );
    // a stranger can neither trade nor withdraw
    let i = ix::place_market_order(stranger.pubkey(), alice.account, 0, &ix::market_oracles(&m), &[], long(BTC / 2));
    assert_error(env.send(&[i], &[&stranger]).await, PerpError::Unauthorized);
    assert_error(
        env.send(&[ix::withdraw(stranger.pubkey(), alice.account, alice.token, USDC, &[0])], &[&stranger]).await,
        PerpError::Unauthorized,
    );

    // withdraw: exactly the withdrawable amount works, one unit more does not
    let a = env.margin(&alice.account).await;
    let m = env.market(0).await;
    let mark = usd(20_000); // funding basis is zero before the first funding
    let tiers = m.tiers();
    let mut h = Health::new(Quote(a.cross_collateral));
    h.add_position(&a.positions[0].state(), mark, Quote(0), &tiers[..m.tier_count()]).unwrap();
    let free = h.withdrawable(Quote(a.cross_collateral)).unwrap().0 as u64;
    assert!(free > 0 && free < a.cross_collateral as u64);
    // withdrawals need the position's market refreshed within the last 4 slots
    env.advance(2).await;
    let refresh = ix::update_funding(0, &ix::market_oracles(&m));
    assert_error(
        env.send(&[ix::withdraw(alice.key(), alice.account, alice.token, 1, &[0])], &[&alice.kp]).await,
        PerpError::IndexNotRefreshed,
    );
    assert_error(
        env.send(
            &[refresh.clone(), ix::withdraw(alice.key(), alice.account, alice.token, free + 1, &[0])],
            &[&alice.kp],
        )
        .await,
        PerpError::WithdrawExceedsFree,
    );
    // the market of the open position must be passed
    assert_error(
        env.send(&[ix::withdraw(alice.key(), alice.account, alice.token, 1, &[])], &[&alice.kp]).await,
        PerpError::MissingMarketAccount,
    );
    let before = env.token_balance(&alice.token).await;
    env.send(&[refresh.clone(), ix::withdraw(alice.key(), alice.account, alice.token, free, &[0])], &[&alice.kp])
        .await
        .unwrap();
    assert_eq!(env.token_balance(&alice.token).await, before + free);
    let h_after = {
        let a = env.margin(&alice.account).await;
        let mut h = Health::new(Quote(a.cross_collateral));
        h.add_position(&a.positions[0].state(), mark, Quote(0), &tiers[..m.tier_count()]).unwrap();
        h
    };
    assert_eq!(h_after.equity_without_profit.0 - h_after.initial.0, 0);
    env.assert_conservation().await;

    // close_margin_account: not while anything is left; then rent comes back
    assert_error(
        env.send(&[ix::close_margin_account(alice.key(), alice.account)], &[&alice.kp]).await,
        PerpError::AccountNotEmpty,
    );
    env.close(&alice, 0).await.unwrap();
    let rest = env.margin(&alice.account).await.cross_collateral as u64;
    env.send(&[ix::withdraw(alice.key(), alice.account, alice.token, rest, &[])], &[&alice.kp]).await.unwrap();
    assert_error(
        env.send(&[ix::close_margin_account(bob.pubkey(), alice.account)], &[&bob]).await,
        PerpError::OwnerOnly,
    );
    let lamports_before = env.ctx.banks_client.get_balance(alice.key()).await.unwrap();
    env.send(&[ix::close_margin_account(alice.key(), alice.account)], &[&alice.kp]).await.unwrap();
    assert!(env.account_data(&alice.account).await.is_none());
    assert!(env.ctx.banks_client.get_balance(alice.key()).await.unwrap() > lamports_before);
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn order_constraints() {
    let Setup { mut env, oracle, alice } = setup().await;
    let m = env.market(0).await;

    // slippage: a limit below the average fill of a buy
    let fill = m.vamm().quote_trade(Side::Long, Base(BTC)).unwrap();
    let mut p = long(BTC);
    p.limit_price = fill.avg_price.0 - 1;
    assert_error(env.trade(&alice, 0, p).await, PerpError::SlippageExceeded);
    p.limit_price = fill.avg_price.0;
    env.trade(&alice, 0, p).await.unwrap();
    env.close(&alice, 0).await.unwrap();

    // over-leverage: 10,000 collateral cannot carry 30 BTC (600k notional needs ~10% IM)
    assert_error(env.trade(&alice, 0, long(30 * BTC)).await, PerpError::InsufficientMargin);
    // reduce-only that would open
    let mut p = short(BTC);
    p.reduce_only = true;
    assert_error(env.trade(&alice, 0, p).await, PerpError::ReduceOnlyViolation);
    // zero size
    assert_error(env.trade(&alice, 0, long(0)).await, PerpError::InvalidOrderSize);
    // no position to close
    assert_error(env.close(&alice, 0).await, PerpError::NoPosition);

    // a market whose largest tier caps notional at 100k
    let mut small = default_market_params(vec![legacy_oracle(oracle)]);
    small.tiers = vec![
        TierParams { cap: 50_000 * USDC as i64, imr: 20_000_000, mmr: 10_000_000 },
        TierParams { cap: 100_000 * USDC as i64, imr: 40_000_000, mmr: 20_000_000 },
    ];
    env.create_market(1, small, 1_000, usd(20_000)).await;
    let whale = env.user(1_000_000 * USDC, 500_000 * USDC).await;
    assert_error(env.trade(&whale, 1, long(6 * BTC)).await, PerpError::MaxPositionExceeded);
    env.trade(&whale, 1, long(4 * BTC)).await.unwrap();
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn oracle_account_checks_and_fallback() {
    let mut env = Env::new().await;
    let keys: Vec<Pubkey> = (0..3).map(|_| Keypair::new().pubkey()).collect();
    for k in &keys {
        env.set_legacy_oracle(*k, usd(20_000), usd(10), T0);
    }
    let mut p = default_market_params(keys.iter().map(|k| legacy_oracle(*k)).collect());
    p.min_sources = 2;
    env.create_market(0, p, 1_000, usd(20_000)).await;
    let alice = env.user(100_000 * USDC, 10_000 * USDC).await;
    env.trade(&alice, 0, long(BTC)).await.unwrap();

    // wrong key at a position
    let mut wrong = keys.clone();
    wrong.swap(0, 1);
    let i = ix::place_market_order(alice.key(), alice.account, 0, &wrong, &[], long(BTC / 10));
    assert_error(env.send(&[i], &[&alice.kp]).await, PerpError::OracleKeyMismatch);
    // missing oracle accounts
    let i = ix::place_market_order(alice.key(), alice.account, 0, &keys[..2], &[], long(BTC / 10));
    assert_error(env.send(&[i], &[&alice.kp]).await, PerpError::OracleAccountsMissing);
    // right key, wrong owner (a closed or reassigned account): dropped like a stale source, the
    // other two carry the index
    let data = env.account_data(&keys[2]).await.unwrap();
    env.set_raw_account(keys[2], data, Keypair::new().pubkey());
    env.trade(&alice, 0, long(BTC / 10)).await.unwrap();
    env.set_legacy_oracle(keys[2], usd(20_000), usd(10), T0);

    // one stale source of three is fine; two stale is too few (min 2)
    env.advance(30).await;
    env.set_legacy_oracle(keys[0], usd(20_000), usd(10), env.now);
    env.set_legacy_oracle(keys[1], usd(20_010), usd(10), env.now);
    env.set_legacy_oracle(keys[2], usd(20_000), usd(10), env.now - 120);
    env.trade(&alice, 0, long(BTC / 10)).await.unwrap();
    env.set_legacy_oracle(keys[1], usd(20_010), usd(10), env.now - 120);
    assert_error(env.trade(&alice, 0, long(BTC / 10)).await, PerpError::TooFewSources);
    // low confidence (conf 3% > 2%) counts as dropped too
    env.set_legacy_oracle(keys[1], usd(20_010), usd(600), env.now);
    assert_error(env.trade(&alice, 0, long(BTC / 10)).await, PerpError::TooFewSources);

    // ...but reducing still works on the last valid index (30 s old, fallback limit 600 s)
    let mut p = short(BTC / 2);
    p.reduce_only = true;
    env.trade(&alice, 0, p).await.unwrap();
    // and once the last valid index is older than the fallback limit, even reducing stops (a
    // partial reduce still needs a price of the market)
    env.advance(601).await;
    for k in &keys {
        env.set_legacy_oracle(*k, usd(20_000), usd(10), env.now - 100);
    }
    let mut p = short(BTC / 10);
    p.reduce_only = true;
    assert_error(env.trade(&alice, 0, p).await, PerpError::IndexFallbackTooOld);
    // closing in full needs none (M-3): it works on the last index however old
    env.close(&alice, 0).await.unwrap();
    assert!(env.margin(&alice.account).await.find(0).is_none());
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn isolated_positions_and_collateral_moves() {
    let Setup { mut env, alice, .. } = setup().await;
    let mut p = long(BTC);
    p.isolated = true;
    p.isolated_collateral = 2_000 * USDC;
    env.trade(&alice, 0, p).await.unwrap();
    let a = env.margin(&alice.account).await;
    assert!(a.positions[0].is_isolated());
    let fee = Quote(20_020_020_040).mul_rate(Rate(500_000), Round::Up).unwrap().0;
    assert_eq!(a.positions[0].isolated_collateral, 2_000 * USDC as i64 - fee);
    assert_eq!(a.cross_collateral, 8_000 * USDC as i64);
    // trading it as cross is refused
    assert_error(env.trade(&alice, 0, long(BTC)).await, PerpError::PositionModeMismatch);
    // too little isolated collateral for the size
    let mut p2 = long(5 * BTC);
    p2.isolated = true;
    assert_error(env.trade(&alice, 0, p2).await, PerpError::InsufficientMargin);

    // move collateral in and out
    env.send(&[ix::move_isolated_collateral(alice.key(), alice.account, 0, 500 * USDC as i64, &[0])], &[&alice.kp])
        .await
        .unwrap();
    assert_eq!(env.margin(&alice.account).await.cross_collateral, 7_500 * USDC as i64);
    let refresh = ix::update_funding(0, &ix::market_oracles(&env.market(0).await));
    env.send(
        &[refresh.clone(), ix::move_isolated_collateral(alice.key(), alice.account, 0, -1_000 * USDC as i64, &[0])],
        &[&alice.kp],
    )
    .await
    .unwrap();
    // taking out almost everything would leave it under its initial margin
    assert_error(
        env.send(
            &[refresh.clone(), ix::move_isolated_collateral(alice.key(), alice.account, 0, -1_400 * USDC as i64, &[0])],
            &[&alice.kp],
        )
        .await,
        PerpError::IsolatedMarginTooLow,
    );
    // more than cross holds
    assert_error(
        env.send(
            &[ix::move_isolated_collateral(alice.key(), alice.account, 0, 9_000 * USDC as i64, &[0])],
            &[&alice.kp],
        )
        .await,
        PerpError::InsufficientMargin,
    );
    let stranger = Keypair::new();
    assert_error(
        env.send(&[ix::move_isolated_collateral(stranger.pubkey(), alice.account, 0, 1, &[0])], &[&stranger]).await,
        PerpError::Unauthorized,
    );
    env.assert_conservation().await;

    // closing returns the isolated collateral to cross
    let a = env.margin(&alice.account).await;
    let total = a.total_collateral();
    env.close(&alice, 0).await.unwrap();
    let a = env.margin(&alice.account).await;
    assert!(!a.positions[0].in_use());
    let close_fee = a.fees_paid - fee;
    assert_eq!(a.cross_collateral as i128, total - close_fee as i128 + a.realized_pnl as i128);
    env.assert_conservation().await;
}

#[tokio::test(flavor = "current_thread")]
async fn cross_margin_across_markets_needs_every_market() {
    let Setup { mut env, oracle, alice } = setup().await;
    let oracle2 = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle2, usd(1_500), usd(1), T0);
    let mut p = default_market_params(vec![legacy_oracle(oracle2)]);
    p.name = *b"ETH-PERP\0\0\0\0\0\0\0\0";
    env.create_market(1, p, 10_000, usd(1_500)).await;
    env.trade(&alice, 0, long(BTC)).await.unwrap();
    env.trade(&alice, 1, short(10 * BTC)).await.unwrap();
    let a = env.margin(&alice.account).await;
    assert_eq!(ix::position_markets(&a, None), vec![0, 1]);

    // the other market must be in the remaining accounts
    let m0 = env.market(0).await;
    let i = ix::place_market_order(alice.key(), alice.account, 0, &ix::market_oracles(&m0), &[], long(BTC / 10));
    assert_error(env.send(&[i], &[&alice.kp]).await, PerpError::MissingMarketAccount);
    // and only markets it has positions in, each once
    env.create_market(2, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let i = ix::place_market_order(alice.key(), alice.account, 0, &ix::market_oracles(&m0), &[1, 2], long(BTC / 10));
    assert_error(env.send(&[i], &[&alice.kp]).await, PerpError::UnexpectedMarketAccount);
    let i = ix::place_market_order(alice.key(), alice.account, 0, &ix::market_oracles(&m0), &[1, 1], long(BTC / 10));
    assert_error(env.send(&[i], &[&alice.kp]).await, PerpError::UnexpectedMarketAccount);
    // the other market's cached index must be fresh for new risk
    env.advance(120).await;
    env.set_legacy_oracle(oracle, usd(20_000), usd(10), env.now);
    assert_error(env.trade(&alice, 0, long(BTC / 10)).await, PerpError::StaleCachedIndex);
    env.set_legacy_oracle(oracle2, usd(1_500), usd(1), env.now);
    env.crank_funding(1).await.unwrap();
    env.trade(&alice, 0, long(BTC / 10)).await.unwrap();
    env.assert_conservation().await;

    // a program account of the wrong type or owner is refused by the account checks
    let fake = Keypair::new().pubkey();
    let data = env.account_data(&alice.account).await.unwrap();
    env.set_raw_account(fake, data.clone(), Keypair::new().pubkey());
    let i = ix::place_market_order(alice.key(), fake, 0, &ix::market_oracles(&m0), &[1], long(BTC / 10));
    assert_anchor_error(env.send(&[i], &[&alice.kp]).await, 3007); // AccountOwnedByWrongProgram
                                                                   // (owner and discriminator identify program accounts: the program creates margin accounts and
                                                                   // markets only at their PDAs, so no one else can hold one; seeds are checked at creation)
    let mut other_type = data.clone();
    other_type[..8].copy_from_slice(&[9; 8]);
    env.set_raw_account(fake, other_type, perp::ID);
    let i = ix::place_market_order(alice.key(), fake, 0, &ix::market_oracles(&m0), &[1], long(BTC / 10));
    assert_anchor_error(env.send(&[i], &[&alice.kp]).await, 3002); // AccountDiscriminatorMismatch
    let i = ix::place_market_order(alice.key(), alice.account, 0, &ix::market_oracles(&m0), &[1], long(BTC / 10));
    let mut i = i;
    i.accounts[2].pubkey = pda::market(1); // the market slot holding another market's oracles
    assert_error(env.send(&[i], &[&alice.kp]).await, PerpError::OracleKeyMismatch);
}

#[tokio::test(flavor = "current_thread")]
async fn insurance_top_up_and_settle_funding() {
    let Setup { mut env, alice, .. } = setup().await;
    env.send(&[ix::deposit_insurance(alice.key(), alice.token, 0, 5_000 * USDC)], &[&alice.kp]).await.unwrap();
    assert_eq!(env.insurance(0).await, 5_000 * USDC as i64);
    assert_eq!(env.token_balance(&pda::insurance_vault()).await, 5_000 * USDC);
    assert_error(
        env.send(&[ix::deposit_insurance(alice.key(), alice.token, 0, 0)], &[&alice.kp]).await,
        PerpError::ZeroAmount,
    );
    // settle_funding is permissionless and needs every position's market
    env.trade(&alice, 0, long(BTC)).await.unwrap();
    assert_error(env.send(&[ix::settle_funding(alice.account, &[])], &[]).await, PerpError::MissingMarketAccount);
    env.send(&[ix::settle_funding(alice.account, &[0])], &[]).await.unwrap();
    env.assert_conservation().await;
}
