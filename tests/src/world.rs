//! A one-market world most liquidation scenarios share: BTC at 20,000 with 1,000 BTC of vAMM
//! depth on a legacy oracle, a funded liquidator (Larry: takeovers need margin) and an
//! arbitrageur who trades the vAMM to the index.

use crate::*;
use anchor_lang::prelude::Pubkey;
use perp::instructions::OrderSide;
use perp_client::ix;
use solana_instruction::Instruction;
use solana_program_test::BanksClientError;

/// One BTC market (1,000 BTC of vAMM depth at 20,000, legacy oracle), an arbitrageur, a funded
/// honest liquidator, and `insurance` in the market's insurance fund.
pub struct World {
    pub env: Env,
    pub oracle: Pubkey,
    pub larry: User,
    pub arb: User,
}

pub async fn world(insurance: u64) -> World {
    let mut env = Env::new().await;
    let oracle = Keypair::new().pubkey();
    env.set_legacy_oracle(oracle, usd(20_000), usd(2), T0);
    env.create_market(0, default_market_params(vec![legacy_oracle(oracle)]), 1_000, usd(20_000)).await;
    let larry = env.user(10_000_000 * USDC, 1_000_000 * USDC).await;
    let arb = env.user(10_000_000 * USDC, 3_000_000 * USDC).await;
    if insurance > 0 {
        env.send(&[ix::deposit_insurance(arb.key(), arb.token, 0, insurance)], &[&arb.kp]).await.unwrap();
    }
    World { env, oracle, larry, arb }
}

impl World {
    /// Moves the index to `price` (published now) and has the arbitrageur trade the vAMM to it.
    pub async fn move_price(&mut self, price: Price) {
        let t = self.env.now;
        self.env.set_legacy_oracle(self.oracle, price, usd(2), t);
        let v = self.env.market(0).await.vamm();
        let d = v.size_to_price(price).unwrap();
        if d.0 != 0 {
            let side = if d.0 > 0 { OrderSide::Long } else { OrderSide::Short };
            let arb = clone_user(&self.arb);
            self.env.trade(&arb, 0, order(side, d.0.abs())).await.unwrap();
        }
    }

    /// A liquidation of `victim`'s position in `market` by `liquidator` (its account `lacct`).
    pub async fn liquidate_ix(
        &mut self,
        liquidator: &User,
        lacct: Pubkey,
        victim: &User,
        market: u16,
        max: u64,
    ) -> Instruction {
        let m = self.env.market(market).await;
        let a = self.env.margin(&victim.account).await;
        let l = self.env.margin(&lacct).await;
        ix::liquidate(
            liquidator.key(),
            lacct,
            victim.account,
            market,
            &ix::market_oracles(&m),
            &ix::liquidation_markets(&a, &l, market),
            max,
        )
    }

    pub async fn liquidate(&mut self, victim: &User, max: u64) -> Result<(), BanksClientError> {
        let larry = clone_user(&self.larry);
        let i = self.liquidate_ix(&larry, larry.account, victim, 0, max).await;
        self.env.send(&[i], &[&larry.kp]).await
    }
}

pub fn clone_user(u: &User) -> User {
    User { kp: u.kp.insecure_clone(), token: u.token, account: u.account }
}
