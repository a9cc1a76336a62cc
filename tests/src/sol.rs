//! The BTC world with SOL listed as collateral, shared by the collateral tests and attacks.

use crate::world::*;
use crate::*;
use anchor_lang::prelude::Pubkey;
use perp_client::collateral as cix;
use perp_client::ix;
use solana_instruction::Instruction;

pub const SOL: u64 = 1_000_000_000;

pub struct Sol {
    pub w: World,
    pub oracle: Pubkey,
    pub mint: Pubkey,
    pub ci: u16,
    /// A trader with no USDC and `sol` SOL in its account.
    pub sam: User,
    pub sam_sol: Pubkey,
    /// Larry's SOL token account, once created.
    pub larry_token: Option<Pubkey>,
}

/// The BTC world with SOL listed at 100 (9 decimals, 0.8 / 0.9 weights, 5% discount) and Sam
/// holding `sol` SOL as his only collateral.
pub async fn sol_world(sol: u64) -> Sol {
    let mut w = world(1_000_000 * USDC).await;
    let oracle = Keypair::new().pubkey();
    w.env.set_legacy_oracle(oracle, usd(100), Price(50_000), T0);
    let mint = w.env.create_mint_with(9, None).await;
    let ci = w.env.list_collateral(mint, collateral_params(oracle, 1_000_000 * SOL)).await.unwrap();
    w.env.refresh_collateral(ci).await.unwrap();
    let sam = w.env.user(0, 0).await;
    let sam_sol = w.env.token_account_of(&mint, &sam.key(), sol).await;
    if sol > 0 {
        w.env
            .send(&[cix::deposit_collateral(sam.key(), sam.account, ci, &mint, sam_sol, sol)], &[&sam.kp])
            .await
            .unwrap();
    }
    Sol { w, oracle, mint, ci, sam, sam_sol, larry_token: None }
}

impl Sol {
    /// Publishes SOL at `price` now.
    pub fn sol_price(&mut self, price: Price) {
        let t = self.w.env.now;
        self.w.env.set_legacy_oracle(self.oracle, price, Price(50_000), t);
    }

    /// Holds SOL at `price` for a whole time-weighting window (601 s), refreshed at both ends, BTC
    /// republished where it stands: the time-weighted price has caught up.
    pub async fn hold_sol(&mut self, price: Price) {
        self.sol_price(price);
        self.w.env.refresh_collateral(self.ci).await.unwrap();
        self.w.env.advance(601).await;
        self.sol_price(price);
        self.w.env.refresh_collateral(self.ci).await.unwrap();
        let btc = Price(self.w.env.market(0).await.last_index);
        self.w.move_price(btc).await;
        self.w.env.crank_funding(0).await.unwrap();
    }

    /// The refreshes a withdrawal or a liquidation needs in front: BTC's index and SOL's price.
    pub async fn refreshes(&mut self) -> Vec<Instruction> {
        let m = self.w.env.market(0).await;
        vec![ix::update_funding(0, &ix::market_oracles(&m)), cix::refresh_collateral(self.ci, &[self.oracle])]
    }

    pub async fn withdraw_sol(&mut self, amount: u64) -> Result<(), solana_program_test::BanksClientError> {
        let a = self.w.env.margin(&self.sam.account).await;
        let mut ixs = self.refreshes().await;
        ixs.push(cix::withdraw_collateral(
            self.sam.key(),
            self.sam.account,
            self.ci,
            &self.mint,
            self.sam_sol,
            amount,
            &ix::cross_markets(&a, None),
            &[],
        ));
        let kp = self.sam.kp.insecure_clone();
        self.w.env.send(&ixs, &[&kp]).await
    }

    /// Larry's SOL token account (created the first time): where what he buys arrives.
    pub async fn larry_sol(&mut self) -> Pubkey {
        if let Some(k) = self.larry_token {
            return k;
        }
        let larry = self.w.larry.key();
        let k = self.w.env.token_account_of(&self.mint, &larry, 0).await;
        self.larry_token = Some(k);
        k
    }

    /// Larry buys up to `max` of Sam's SOL (insurance share to market 0).
    pub async fn liquidate_sol(&mut self, max: u64) -> Result<(), solana_program_test::BanksClientError> {
        let mut ixs = self.refreshes().await;
        let larry = clone_user(&self.w.larry);
        let a = self.w.env.margin(&self.sam.account).await;
        let l = self.w.env.margin(&larry.account).await;
        let markets = cix::sale_markets(&a, &l);
        let dest = self.larry_sol().await;
        ixs.push(cix::liquidate_collateral(
            larry.key(),
            self.sam.account,
            larry.account,
            self.ci,
            &self.mint,
            dest,
            0,
            max,
            &markets,
            &[],
        ));
        self.w.env.send(&ixs, &[&larry.kp]).await
    }
}
