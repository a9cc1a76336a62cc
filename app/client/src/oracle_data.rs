//! Pyth account bytes: the program ids that own them, and writers that put a price into a real
//! legacy account template or a `PriceUpdateV2` account. Used by tests and the simulator to drive
//! the program's oracle reader with the exact layouts it reads on mainnet.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use perp::oracle::legacy;
use perp_core::Price;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

/// Owner of legacy Pyth v2 push price accounts on Solana mainnet and Pythnet.
pub const PYTH_LEGACY_PROGRAM: Pubkey = anchor_lang::pubkey!("FsJ3A3u2vn5cTVofAjvy6y5kwABJAqYWpe4975bi2epH");
/// Owner of `PriceUpdateV2` accounts (the Pyth Solana receiver program).
pub const PYTH_RECEIVER_PROGRAM: Pubkey = pyth_solana_receiver_sdk::ID;

/// A real Solana mainnet legacy price account (Nov 2021; expo -8; header rebuilt), used as the
/// template for simulated legacy feeds.
pub const LEGACY_TEMPLATE: &[u8] =
    include_bytes!("../../../tests/fixtures/pyth/solana_mainnet_2021_price_account_synthheader_padded3312.bin");

/// Mantissa of `p` (price precision 10^-6) at exponent `expo` (<= -6), rounded down.
fn mantissa(p: u64, expo: i32) -> i64 {
    let shift = (-expo - 6).max(0) as u32;
    (p as i128 * 10i128.pow(shift)) as i64
}

/// A legacy price account: `template` with its aggregate price, confidence, status (trading) and
/// timestamp replaced. Every other byte (magic, version, type, exponent, publishers) is kept.
pub fn legacy_account(template: &[u8], price: Price, conf: Price, publish_time: i64) -> Vec<u8> {
    let mut d = template.to_vec();
    let expo = i32::from_le_bytes([d[20], d[21], d[22], d[23]]);
    legacy::write_price(&mut d, mantissa(price.0, expo), mantissa(conf.0, expo) as u64, publish_time);
    d
}

/// [`legacy_account`] with Pyth's moving average at `ema` instead of the price (a print far from
/// its average: a wick, or the first prints of a fast move).
pub fn legacy_account_with_ema(template: &[u8], price: Price, conf: Price, publish_time: i64, ema: Price) -> Vec<u8> {
    let mut d = legacy_account(template, price, conf, publish_time);
    let expo = i32::from_le_bytes([d[20], d[21], d[22], d[23]]);
    legacy::write_ema(&mut d, mantissa(ema.0, expo));
    d
}

/// A `PriceUpdateV2` account at exponent -8.
pub fn pull_account(feed_id: [u8; 32], price: Price, conf: Price, publish_time: i64, full: bool) -> Vec<u8> {
    let update = PriceUpdateV2 {
        write_authority: Pubkey::new_from_array([7; 32]),
        verification_level: if full {
            VerificationLevel::Full
        } else {
            VerificationLevel::Partial { num_signatures: 5 }
        },
        price_message: PriceFeedMessage {
            feed_id,
            price: mantissa(price.0, -8),
            conf: mantissa(conf.0, -8) as u64,
            exponent: -8,
            publish_time,
            prev_publish_time: publish_time - 1,
            ema_price: mantissa(price.0, -8),
            ema_conf: mantissa(conf.0, -8) as u64,
        },
        posted_slot: 0,
    };
    let mut d = Vec::with_capacity(134);
    update.try_serialize(&mut d).expect("serialize PriceUpdateV2");
    d.resize(134, 0);
    d
}
