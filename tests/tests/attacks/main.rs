//! Attacks on the program, each named `attack_<what>`: the set-up, the attacker's transaction(s)
//! through the real program, and the amounts afterwards compared with an honest run (computed by
//! perp-core). Every test ends with the conservation check. The findings they answer are in
//! `../shared/reviews/2026-11-adversarial-review.md` (H-1..H-3, M-1..M-9, L-1..L-9) and
//! `2026-12-adversarial-review.md` (N-1..N-12, in `bad_debt`, `oracle_guard`, `limits` and the
//! vault and keeper tests).

mod adl;
mod admin;
mod bad_debt;
mod collateral;
mod economic;
mod limits;
mod margin;
mod oracle_guard;
mod oracles;
mod orders;
mod pro_rata;
mod write_locks;

use anchor_lang::prelude::Pubkey;
use perp::instructions::{OrderParams, OrderSide};
use perp_client::ix;
use perp_core::liquidation::LiquidationFees;
use perp_core::margin::{Health, PositionState, Tier};
use perp_core::position::apply_fill;
use perp_core::takeover::{takeover_penalty, takeover_quote, TakeoverPenalty};
use perp_core::{Base, Price, Quote, Round};
use perp_tests::world::*;
use perp_tests::*;
use solana_instruction::Instruction;
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;

pub fn with_limit(mut p: OrderParams, limit: Price) -> OrderParams {
    p.limit_price = limit.0;
    p
}

pub fn tiers(m: &perp::state::Market) -> Vec<Tier> {
    m.tiers()[..m.tier_count()].to_vec()
}

/// The honest outcome of taking over `x` of a lone position `pos` with collateral `c` at `mark`:
/// the victim's collateral after the close and penalty, and the penalty.
pub fn honest_takeover(
    pos: PositionState,
    c: Quote,
    x: i64,
    mark: Price,
    fees: &LiquidationFees,
    t: &[Tier],
) -> (Quote, TakeoverPenalty) {
    let closed = Base(x * pos.base.signum());
    let out = apply_fill(pos, Base(-closed.0), takeover_quote(closed, mark).unwrap()).unwrap();
    let c1 = c.checked_add(out.realized).unwrap();
    let mut h = Health::new(c1);
    if !out.position.base.is_zero() {
        h.add_position(&out.position, mark, Quote(0), t).unwrap();
    }
    let pen = takeover_penalty(h.equity, closed.notional_at(mark, Round::Up).unwrap(), fees).unwrap();
    (Quote(c1.0 - pen.reward.0 - pen.insurance_fee.0), pen)
}
