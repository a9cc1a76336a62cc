//! The fuzzer's world: two markets (one on three feeds, legacy and pull, one on a single feed),
//! four traders with thin margins, a rich liquidator, a thin insurance fund, and the feeds' and
//! prices' state the actions move.

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
}

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
        };
        fz.publish_all();
        let (depth, peg) = ([200u64, 4_000], [usd(20_000), usd(1_000)]);
        for m in 0..2 {
            let p = fz.params[m].clone();
            fz.env.create_market(m as u16, p, depth[m], peg[m]).await;
        }
        for deposit in [2_000, 5_000, 10_000, 20_000] {
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
