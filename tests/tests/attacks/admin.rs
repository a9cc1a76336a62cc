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
    let id = w.env.propose(AdminAction::UpdateMarket { market_index: 0, params: evil }).await.unwrap();
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
        t.imr = (t.imr * 3).min(1_000_000_000);
    }
    w.env.send(&[ix::update_market(admin.pubkey(), 0, tight)], &[&admin]).await.unwrap();
    assert_error(w.liquidate(&alice, 0).await, PerpError::NotLiquidatable);
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
