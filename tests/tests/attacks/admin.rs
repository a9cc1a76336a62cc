//! The admin threat model (a stolen admin key drained Drift in 2026 by listing a fake oracle):
//! every power that could move money waits out a public timelock, and no admin path moves user
//! collateral or the insurance fund.

use super::*;
use perp::error::PerpError;
use perp::state::{pause, AdminAction};

const DAY: i64 = 86_400;

async fn with_timelock(w: &mut World) {
    let admin = w.env.admin.insecure_clone();
    w.env.send(&[ix::set_timelock_delay(admin.pubkey(), DAY)], &[&admin]).await.unwrap();
}

/// A stolen admin key tries to list its own oracle. Instantly: refused. Through a proposal: it
/// sits on chain for the whole delay, during which the real admin cancels it.
#[tokio::test(flavor = "current_thread")]
async fn attack_stolen_admin_lists_a_fake_oracle() {
    let mut w = world(100_000 * USDC).await;
    with_timelock(&mut w).await;
    let admin = w.env.admin.insecure_clone();
    let fake = Keypair::new().pubkey();
    w.env.set_legacy_oracle(fake, usd(1), usd(0), T0);
    let evil = default_market_params(vec![legacy_oracle(fake)]);
    assert_error(
        w.env.send(&[ix::update_market(admin.pubkey(), 0, evil.clone())], &[&admin]).await,
        PerpError::TimelockRequired,
    );
    let version = w.env.market(0).await.params_version;
    let id = w.env.propose(AdminAction::UpdateMarket { market_index: 0, params: evil, version }).await.unwrap();
    let exec = ix::execute_update_market(w.larry.key(), id, admin.pubkey(), 0);
    let larry = clone_user(&w.larry);
    assert_error(w.env.send(std::slice::from_ref(&exec), &[&larry.kp]).await, PerpError::TimelockNotElapsed);
    w.env.advance(DAY - 10).await;
    assert_error(w.env.send(std::slice::from_ref(&exec), &[&larry.kp]).await, PerpError::TimelockNotElapsed);
    // the owner of the key sees it and cancels it
    w.env.send(&[ix::cancel_proposal(admin.pubkey(), id)], &[&admin]).await.unwrap();
    w.env.advance(20).await;
    assert!(w.env.send(&[exec], &[&larry.kp]).await.is_err(), "a cancelled proposal cannot run");
    assert_eq!(w.env.market(0).await.oracles[0].key, w.oracle);
    // nor can the delay be lowered to hurry a proposal
    assert_error(
        w.env.send(&[ix::set_timelock_delay(admin.pubkey(), 60)], &[&admin]).await,
        PerpError::TimelockDecrease,
    );
    w.env.assert_conservation().await;
}

/// A stolen key would make everyone liquidatable by raising maintenance rates, then liquidate
/// them from its own accounts. Maintenance changes wait for the timelock; an instant tightening
/// (initial margin) never makes an existing position liquidatable.
#[tokio::test(flavor = "current_thread")]
async fn attack_stolen_admin_raises_maintenance_to_liquidate_everyone() {
    let mut w = world(0).await;
    with_timelock(&mut w).await;
    let admin = w.env.admin.insecure_clone();
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    let mut harsh = default_market_params(vec![legacy_oracle(w.oracle)]);
    for t in harsh.tiers.iter_mut() {
        t.mmr = t.imr - 1;
    }
    assert_error(
        w.env.send(&[ix::update_market(admin.pubkey(), 0, harsh)], &[&admin]).await,
        PerpError::TimelockRequired,
    );
    // raising the initial rates applies at once but liquidates nobody
    let mut tight = default_market_params(vec![legacy_oracle(w.oracle)]);
    for t in tight.tiers.iter_mut() {
        t.imr = (t.imr * 2).min(500_000_000);
    }
    w.env.send(&[ix::update_market(admin.pubkey(), 0, tight.clone())], &[&admin]).await.unwrap();
    assert_error(w.liquidate(&alice, 0).await, PerpError::NotLiquidatable);
    // but not to 100% (which would price every liquidator out): at most doubled, at most 50%
    let mut all_in = tight;
    for t in all_in.tiers.iter_mut() {
        t.imr = 1_000_000_000;
    }
    assert_error(
        w.env.send(&[ix::update_market(admin.pubkey(), 0, all_in)], &[&admin]).await,
        PerpError::TimelockRequired,
    );
    assert_eq!(w.env.margin(&alice.account).await.positions[0].base, 5 * BTC);
    w.env.assert_conservation().await;
}

/// No admin path moves user collateral or the insurance fund; a withdrawal pause lapses after a
/// day and cannot be renewed for another.
#[tokio::test(flavor = "current_thread")]
async fn attack_stolen_admin_holds_or_takes_the_money() {
    let mut w = world(100_000 * USDC).await;
    let admin = w.env.admin.insecure_clone();
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    // the admin signs for nobody's account
    let admin_token = w.env.token_account(&admin.pubkey(), 0).await;
    let steal = ix::withdraw(admin.pubkey(), alice.account, admin_token, USDC, &[]);
    assert_error(w.env.send(&[steal], &[&admin]).await, PerpError::Unauthorized);
    assert_eq!(w.env.token_balance(&admin_token).await, 0);
    // pausing withdrawals holds them for at most 24 h
    w.env.send(&[ix::set_pause(admin.pubkey(), pause::WITHDRAW)], &[&admin]).await.unwrap();
    let wd = ix::withdraw(alice.key(), alice.account, alice.token, USDC, &[]);
    assert_error(w.env.send(std::slice::from_ref(&wd), &[&alice.kp]).await, PerpError::OperationPaused);
    w.env.advance(DAY).await;
    w.env.send(std::slice::from_ref(&wd), &[&alice.kp]).await.unwrap();
    // the switch is still set but lapsed; switching it on again waits out the cooldown
    w.env.send(&[ix::set_pause(admin.pubkey(), 0)], &[&admin]).await.unwrap();
    assert_error(
        w.env.send(&[ix::set_pause(admin.pubkey(), pause::WITHDRAW)], &[&admin]).await,
        PerpError::PauseCooldown,
    );
    w.env.advance(DAY).await;
    w.env.send(&[ix::set_pause(admin.pubkey(), pause::WITHDRAW)], &[&admin]).await.unwrap();
    assert_error(w.env.send(&[wd], &[&alice.kp]).await, PerpError::OperationPaused);
    w.env.send(&[ix::set_pause(admin.pubkey(), 0)], &[&admin]).await.unwrap();
    w.env.assert_conservation().await;
}

/// Handing the exchange to another key waits for the timelock; anyone may then execute it.
#[tokio::test(flavor = "current_thread")]
async fn attack_stolen_admin_takes_the_exchange() {
    let mut w = world(0).await;
    with_timelock(&mut w).await;
    let admin = w.env.admin.insecure_clone();
    let thief = Keypair::new().pubkey();
    let id = w.env.propose(AdminAction::SetAdmin { new_admin: thief }).await.unwrap();
    let larry = clone_user(&w.larry);
    let exec = ix::execute_exchange_action(larry.key(), id, admin.pubkey());
    assert_error(w.env.send(std::slice::from_ref(&exec), &[&larry.kp]).await, PerpError::TimelockNotElapsed);
    w.env.advance(DAY).await;
    w.env.send(&[exec], &[&larry.kp]).await.unwrap();
    assert_eq!(w.env.exchange().await.admin, thief);
}

/// Front-running the deployment: only the program's upgrade authority may create the exchange.
#[tokio::test(flavor = "current_thread")]
async fn attack_front_run_initialize_exchange() {
    let mut env = Env::bare().await;
    let deployer = Keypair::new();
    env.set_program_data(&deployer.pubkey());
    let stranger = env.admin.insecure_clone();
    let i = ix::initialize_exchange(stranger.pubkey(), env.mint, Env::exchange_params());
    assert_error(env.send(&[i], &[&stranger]).await, PerpError::NotUpgradeAuthority);
    assert!(env.account_data(&perp_client::pda::exchange()).await.is_none());
    // the deployer can
    env.set_program_data(&stranger.pubkey());
    let i = ix::initialize_exchange(stranger.pubkey(), env.mint, Env::exchange_params());
    env.send(&[i], &[&stranger]).await.unwrap();
    assert_eq!(env.exchange().await.admin, stranger.pubkey());
}

/// Liquidations are paused per market only (a PAUSED status, which also stops new risk there, and
/// lapses after a day with a day's cooldown): there is no second switch to alternate with.
#[tokio::test(flavor = "current_thread")]
async fn attack_stolen_admin_rotates_pauses_to_stop_liquidations() {
    let mut w = world(0).await;
    let admin = w.env.admin.insecure_clone();
    let alice = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    w.env.trade(&alice, 0, order(OrderSide::Long, 5 * BTC)).await.unwrap();
    // no exchange-wide liquidation switch exists (bit 8 is refused)
    assert_error(w.env.send(&[ix::set_pause(admin.pubkey(), 8)], &[&admin]).await, PerpError::InvalidMarketParams);
    w.env
        .send(&[ix::set_market_status(admin.pubkey(), 0, perp::state::market_status::PAUSED)], &[&admin])
        .await
        .unwrap();
    let bob = w.env.user(100_000 * USDC, 10_000 * USDC).await;
    assert_error(w.env.trade(&bob, 0, order(OrderSide::Long, BTC)).await, PerpError::MarketPaused);
    // the price falls (a takeover needs no vAMM, only the oracle)
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_250), usd(2), t);
    assert_error(w.liquidate(&alice, 0).await, PerpError::MarketPaused);
    // a day later the pause has lapsed: liquidations resume, the market stays reduce-only
    w.env.advance(DAY).await;
    let t = w.env.now;
    w.env.set_legacy_oracle(w.oracle, usd(18_250), usd(2), t);
    w.liquidate(&alice, 0).await.unwrap();
    assert_error(w.env.trade(&bob, 0, order(OrderSide::Long, BTC)).await, PerpError::MarketReduceOnly);
    // and it cannot be paused again until the cooldown has passed
    w.env
        .send(&[ix::set_market_status(admin.pubkey(), 0, perp::state::market_status::ACTIVE)], &[&admin])
        .await
        .unwrap();
    assert_error(
        w.env.send(&[ix::set_market_status(admin.pubkey(), 0, perp::state::market_status::PAUSED)], &[&admin]).await,
        PerpError::PauseCooldown,
    );
    w.env.assert_conservation().await;
}

/// A matured proposal made against parameters that have changed since (say, an instant
/// tightening) cannot run and undo them; nor can one left unexecuted for more than a week.
#[tokio::test(flavor = "current_thread")]
async fn attack_replay_an_old_proposal() {
    let mut w = world(0).await;
    with_timelock(&mut w).await;
    let admin = w.env.admin.insecure_clone();
    let mut p = default_market_params(vec![legacy_oracle(w.oracle)]);
    p.taker_fee = 1_000_000;
    let version = w.env.market(0).await.params_version;
    let old = w.env.propose(AdminAction::UpdateMarket { market_index: 0, params: p.clone(), version }).await.unwrap();
    let later = w.env.propose(AdminAction::UpdateMarket { market_index: 0, params: p, version }).await.unwrap();
    // an instant tightening in between
    let mut tight = default_market_params(vec![legacy_oracle(w.oracle)]);
    tight.max_leverage = 25;
    tight.tiers[0].imr = 40_000_000;
    w.env.send(&[ix::update_market(admin.pubkey(), 0, tight)], &[&admin]).await.unwrap();
    w.env.advance(DAY).await;
    let larry = clone_user(&w.larry);
    let exec = ix::execute_update_market(larry.key(), old, admin.pubkey(), 0);
    assert_error(w.env.send(&[exec], &[&larry.kp]).await, PerpError::ProposalMismatch);
    assert_eq!(w.env.market(0).await.max_leverage, 25, "the tightening stands");
    // a week and a day after maturity the other one has expired
    w.env.advance(8 * DAY).await;
    let exec = ix::execute_update_market(larry.key(), later, admin.pubkey(), 0);
    assert_error(w.env.send(&[exec], &[&larry.kp]).await, PerpError::ProposalExpired);
    w.env.send(&[ix::cancel_proposal(admin.pubkey(), later)], &[&admin]).await.unwrap();
}
