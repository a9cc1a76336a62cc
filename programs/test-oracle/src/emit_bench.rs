//! The `emit!` / `emit_cpi!` benchmark's event and its self-invocation (see `bench_emit_cpi`).
//! The perp program logs its events with `emit!`; this measures what the alternative would cost
//! on the same runtime, with an event of the same size, without giving perp the extra accounts.

use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::program::invoke_signed;

/// Seed of the PDA that signs event self-invocations (Anchor's `#[event_cpi]` uses this seed).
pub const EVENT_AUTHORITY_SEED: &[u8] = b"__event_authority";

/// Field for field the shape of perp's `TradeExecuted` (with its sequence number): 137 bytes
/// of Borsh after the 8-byte discriminator.
#[event]
pub struct BenchTrade {
    pub seq: u64,
    pub margin_account: Pubkey,
    pub market_index: u16,
    pub base: i64,
    pub quote: i64,
    pub avg_price: u64,
    pub fee: i64,
    pub insurance_fee: i64,
    pub realized_pnl: i64,
    pub new_base: i64,
    pub new_quote_entry: i64,
    pub index_price: u64,
    pub mark_price: u64,
    pub vamm_price: u64,
    pub isolated: bool,
    pub index_was_fallback: bool,
    pub by_delegate: bool,
}

pub fn sample(i: u8) -> BenchTrade {
    let v = i as i64 + 1;
    BenchTrade {
        seq: v as u64,
        margin_account: Pubkey::new_from_array([i; 32]),
        market_index: 1,
        base: 1_000_000_000 * v,
        quote: -65_000_000_000 * v,
        avg_price: 65_000_000_000,
        fee: 32_500_000,
        insurance_fee: 3_250_000,
        realized_pnl: 0,
        new_base: 1_000_000_000 * v,
        new_quote_entry: -65_000_000_000 * v,
        index_price: 65_000_000_000,
        mark_price: 65_010_000_000,
        vamm_price: 65_020_000_000,
        isolated: false,
        index_was_fallback: false,
        by_delegate: false,
    }
}

/// [`event_authority`] as a constant (Anchor computes it at compile time; a test checks it).
pub const EVENT_AUTHORITY: Pubkey = anchor_lang::pubkey!("F95GVRCExZ1fA8mmb4sKiJMrc4EaokrPYjjahojRkLKv");

pub fn event_authority() -> Pubkey {
    Pubkey::find_program_address(&[EVENT_AUTHORITY_SEED], &crate::ID).0
}

/// What `emit_cpi!` expands to, with `event_sink`'s discriminator in place of Anchor's event tag
/// (the same 8 bytes' length; the tag needs Anchor's `event-cpi` feature, which would also change
/// the perp program's dispatch in this workspace's native build).
pub fn emit_by_cpi<'a>(authority: &AccountInfo<'a>, bump: &[u8; 1], event: &BenchTrade) -> Result<()> {
    use anchor_lang::Discriminator;
    let data: Vec<u8> =
        crate::instruction::EventSink::DISCRIMINATOR.iter().copied().chain(anchor_lang::Event::data(event)).collect();
    let ix = Instruction::new_with_bytes(crate::ID, &data, vec![AccountMeta::new_readonly(*authority.key, true)]);
    invoke_signed(&ix, std::slice::from_ref(authority), &[&[EVENT_AUTHORITY_SEED, bump]]).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_event_authority_constant_is_the_pda() {
        assert_eq!(super::EVENT_AUTHORITY, super::event_authority(), "{}", super::event_authority());
    }
}
