//! The fuzzer's world: two markets (one on three feeds, legacy and pull, one on a single feed),
//! four traders with thin margins (one of them on SOL collateral alone), a rich liquidator, a thin
//! insurance fund, SOL listed as collateral, and the feeds' and prices' state the actions move.

use crate::model::*;
use anchor_lang::prelude::Pubkey;
use perp::state::{AdlRound, MarketParams};
use perp_client::{decode::decode, ix, pda};
use perp_core::Price;
use perp_tests::world::clone_user;
use perp_tests::*;
use solana_signer::Signer;

/// Base raw units per thousandth of a size step, per market (0.001 BTC; 0.02 ETH).
pub const SIZE_STEP: [i64; 2] = [1_000_000, 20_000_000];
pub const FEED_ID: [u8; 32] = [7; 32];

pub struct Fz {
    pub env: Env,
    pub users: Vec<User>,
    /// Per market: oracle keys in the market's order.
    pub oracles: Vec<Vec<Pubkey>>,
    /// Per market and source: what the feed does.
    pub feeds: Vec<Vec<Feed>>,
    /// Per market and source: last publish time.
    pub published: Vec<Vec<i64>>,
    /// Per market: the true price.
    pub price: Vec<Price>,
    pub params: Vec<MarketParams>,
    pub stats: crate::Stats,
    /// Listed collateral 1 (SOL, 9 decimals): its oracle, true price, mint and each user's token
    /// account.
    pub sol_oracle: Pubkey,
    pub sol_price: Price,
    pub sol_mint: Pubkey,
    pub sol_tokens: Vec<Pubkey>,
}

/// Raw units of one SOL.
pub const SOL: u64 = 1_000_000_000;
/// The listed collateral's index.
pub const SOL_INDEX: u16 = 1;

pub fn market_params(m: usize, oracles: &[Pubkey]) -> MarketParams {
    let srcs = oracles
        .iter()
        .enumerate()
        .map(|(i, k)| if m == 0 && i == 2 { pull_oracle(*k, FEED_ID) } else { legacy_oracle(*k) })
        .collect();
    let mut p = default_market_params(srcs);
    // repegs on: a fifth of the fee pool per repeg, from a 0.2% gap
    p.repeg_budget = 200_000_000;
    p.repeg_threshold = 2_000_000;
    if m == 0 {
        p.min_sources = 2;
    } else {
        p.name = [0; 16];
        p.name[..8].copy_from_slice(b"ETH-PERP");
        // the second market deleverages pro rata (both ADL policies run in every sequence)
        p.adl_policy = 1;
    }
    p
}

impl Fz {
    pub async fn new() -> Fz {
        let env = Env::new().await;
        let oracles: Vec<Vec<Pubkey>> = vec![
            (0..3).map(|_| solana_keypair::Keypair::new().pubkey()).collect(),
            vec![solana_keypair::Keypair::new().pubkey()],
        ];
        let price = vec![usd(20_000), usd(1_000)];
        let mut fz = Fz {
            feeds: oracles.iter().map(|o| vec![Feed::Fresh; o.len()]).collect(),
            published: oracles.iter().map(|o| vec![T0; o.len()]).collect(),
            params: (0..2).map(|m| market_params(m, &oracles[m])).collect(),
            oracles,
            price,
            users: vec![],
            env,
            stats: Default::default(),
            sol_oracle: solana_keypair::Keypair::new().pubkey(),
            sol_price: usd(100),
            sol_mint: Pubkey::default(),
            sol_tokens: vec![],
        };
        fz.publish_all();
        let (depth, peg) = ([200u64, 4_000], [usd(20_000), usd(1_000)]);
        for m in 0..2 {
            let p = fz.params[m].clone();
            fz.env.create_market(m as u16, p, depth[m], peg[m]).await;
        }
        // user 2 trades on SOL alone (its USDC balance goes negative, backed by SOL)
        for deposit in [2_000, 5_000, 0, 20_000] {
            let u = fz.env.user(1_000_000 * USDC, deposit * USDC).await;
            fz.users.push(u);
        }
        let larry = fz.env.user(50_000_000 * USDC, 2_000_000 * USDC).await;
        for m in 0..2u16 {
            fz.env
                .send(&[ix::deposit_insurance(larry.key(), larry.token, m, 1_000 * USDC)], &[&larry.kp])
                .await
                .unwrap();
        }
        fz.users.push(larry);
        // SOL listed as collateral (0.8 / 0.9, 5% discount), each user holding 1,000 in its wallet
        fz.sol_mint = fz.env.create_mint_with(9, None).await;
        let mut cp = collateral_params(fz.sol_oracle, 1_000_000 * SOL);
        cp.sample_period = 60;
        let ci = fz.env.list_collateral(fz.sol_mint, cp).await.unwrap();
        assert_eq!(ci, SOL_INDEX);
        fz.env.refresh_collateral(SOL_INDEX).await.unwrap();
        for k in fz.users.iter().map(|u| u.key()).collect::<Vec<_>>() {
            let t = fz.env.token_account_of(&fz.sol_mint, &k, 1_000 * SOL).await;
            fz.sol_tokens.push(t);
        }
        let (u0, t0) = (clone_user(&fz.users[2]), fz.sol_tokens[2]);
        let dep = perp_client::collateral::deposit_collateral(u0.key(), u0.account, ci, &fz.sol_mint, t0, 30 * SOL);
        fz.env.send(&[dep], &[&u0.kp]).await.unwrap();
        fz
    }

    pub fn user(&self, u: u8) -> User {
        clone_user(&self.users[u as usize % self.users.len()])
    }

    /// Writes source `s` of market `m` as its feed state says, published now.
    pub fn publish(&mut self, m: usize, s: usize) {
        let now = self.env.now;
        let p = self.price[m];
        let key = self.oracles[m][s];
        let pull = m == 0 && s == 2;
        let (price, conf) = match self.feeds[m][s] {
            Feed::Stale => return,
            Feed::Missing => {
                self.env.set_raw_account(key, vec![], anchor_lang::solana_program::system_program::ID);
                return;
            }
            Feed::Fresh => (p, Price(p.0 / 10_000)),
            Feed::Outlier(bps) => {
                (Price((p.0 as i128 * (10_000 + bps as i128) / 10_000).max(1) as u64), Price(p.0 / 10_000))
            }
            Feed::WideConf => (p, Price(p.0 / 20)),
        };
        if pull {
            self.env.set_pull_oracle(key, FEED_ID, price, conf, now, true);
        } else {
            self.env.set_legacy_oracle(key, price, conf, now);
        }
        self.published[m][s] = now;
    }

    pub fn publish_all(&mut self) {
        for m in 0..self.oracles.len() {
            for s in 0..self.oracles[m].len() {
                self.publish(m, s);
            }
        }
        let now = self.env.now;
        self.env.set_legacy_oracle(self.sol_oracle, self.sol_price, Price(self.sol_price.0 / 10_000), now);
    }

    /// Every key whose bytes a failed transaction must leave unchanged.
    pub fn watched(&self) -> Vec<Pubkey> {
        let mut v = vec![pda::exchange(), pda::collateral_vault(), pda::insurance_vault()];
        for m in 0..2u16 {
            v.push(pda::market(m));
            v.push(pda::adl_round(m));
        }
        for u in &self.users {
            v.push(u.account);
            v.push(u.token);
        }
        v.push(pda::collateral(SOL_INDEX));
        v.push(pda::mint_vault(&self.sol_mint));
        v.extend(self.sol_tokens.iter().copied());
        v
    }

    pub async fn snapshot(&mut self) -> Vec<Option<Vec<u8>>> {
        let mut out = vec![];
        for k in self.watched() {
            out.push(self.env.account_data(&k).await);
        }
        out
    }

    pub async fn round(&mut self, m: u16) -> Option<AdlRound> {
        let d = self.env.account_data(&pda::adl_round(m)).await?;
        decode(&d).ok()
    }

    /// Margin accounts of all users, decoded.
    pub async fn accounts(&mut self) -> Vec<(Pubkey, perp::state::MarginAccount)> {
        let mut v = vec![];
        for k in self.users.iter().map(|u| u.account).collect::<Vec<_>>() {
            v.push((k, self.env.margin(&k).await));
        }
        v
    }
}
