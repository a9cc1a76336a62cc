//! The two Pyth account layouts, byte for byte.
//!
//! Legacy v2 price account (pyth-client's `pc_price_t`, 3,312 bytes; offsets in bytes): magic u32
//! @0, version u32 @4, account type u32 @8 (3 = price), size u32 @12, price type u32 @16, exponent
//! i32 @20, component count u32 @24, quoters u32 @28, last slot u64 @32, valid slot u64 @40, EMA
//! price (value, numerator, denominator: i64 each) @48, EMA confidence @72, timestamp i64 @96,
//! minimum publishers u8 @104, product key @112, next key @144, previous slot u64 @176, previous
//! price i64 @184, previous confidence u64 @192, previous timestamp i64 @200, aggregate price i64
//! @208, confidence u64 @216, status u32 @224 (1 = trading), corporate action u32 @228, publish
//! slot u64 @232, then 32 publisher components of 96 bytes @240.
//!
//! `PriceUpdateV2` (receiver program, 134 bytes): Anchor discriminator, write authority, the
//! verification level (Borsh enum: `Partial { num_signatures }` or `Full`), the price feed message
//! and the posted slot, serialized by the receiver SDK's own type and zero-padded to 134 bytes as
//! the receiver allocates it.

use anchor_lang::prelude::*;
use anchor_lang::{AccountDeserialize, AccountSerialize};
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

pub const LEGACY_SIZE: usize = 3312;
pub const PULL_SIZE: usize = 134;
pub const LEGACY_MAGIC: u32 = 0xa1b2_c3d4;
pub const LEGACY_VERSION: u32 = 2;
pub const LEGACY_TYPE_PRICE: u32 = 3;
pub const LEGACY_STATUS_TRADING: u32 = 1;

/// A price as Pyth publishes it: mantissas at exponent `expo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
}

impl Quote {
    /// No price yet: zero price at publish time 0.
    pub fn empty(expo: i32) -> Quote {
        Quote { price: 0, conf: 0, expo, publish_time: 0 }
    }
}

fn put(d: &mut [u8], at: usize, bytes: &[u8]) {
    d[at..at + bytes.len()].copy_from_slice(bytes);
}

fn get8(d: &[u8], at: usize) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[at..at + 8]);
    b
}

/// Writes the header of an empty legacy price account (no price: status unknown, time 0).
pub fn legacy_init(d: &mut [u8], expo: i32) {
    put(d, 0, &LEGACY_MAGIC.to_le_bytes());
    put(d, 4, &LEGACY_VERSION.to_le_bytes());
    put(d, 8, &LEGACY_TYPE_PRICE.to_le_bytes());
    put(d, 12, &(LEGACY_SIZE as u32).to_le_bytes());
    put(d, 16, &1u32.to_le_bytes()); // price type: price
    put(d, 20, &expo.to_le_bytes());
}

/// The exponent of a legacy price account.
pub fn legacy_expo(d: &[u8]) -> i32 {
    i32::from_le_bytes([d[20], d[21], d[22], d[23]])
}

/// Publishes `q` (its exponent must be the account's) as the aggregate price at `slot`: the
/// previous aggregate moves to the `prev_*` fields, the EMA is set to the price, status trading.
pub fn legacy_write(d: &mut [u8], q: &Quote, slot: u64) -> Result<()> {
    require!(d.len() == LEGACY_SIZE && legacy_expo(d) == q.expo, crate::TestOracleError::BadKind);
    let (prev_price, prev_conf, prev_slot, prev_time) = (get8(d, 208), get8(d, 216), get8(d, 232), get8(d, 96));
    put(d, 176, &prev_slot);
    put(d, 184, &prev_price);
    put(d, 192, &prev_conf);
    put(d, 200, &prev_time);
    put(d, 32, &slot.to_le_bytes());
    put(d, 40, &slot.to_le_bytes());
    // EMA price and confidence: value, numerator, denominator
    for (at, v) in [(48usize, q.price), (72, q.conf as i64)] {
        put(d, at, &v.to_le_bytes());
        put(d, at + 8, &v.to_le_bytes());
        put(d, at + 16, &1i64.to_le_bytes());
    }
    put(d, 96, &q.publish_time.to_le_bytes());
    put(d, 208, &q.price.to_le_bytes());
    put(d, 216, &q.conf.to_le_bytes());
    put(d, 224, &LEGACY_STATUS_TRADING.to_le_bytes());
    put(d, 232, &slot.to_le_bytes());
    Ok(())
}

/// Decodes a `PriceUpdateV2` account.
pub fn pull_read(d: &[u8]) -> Result<PriceUpdateV2> {
    let mut s = d;
    PriceUpdateV2::try_deserialize(&mut s).map_err(|_| error!(crate::TestOracleError::NotAPriceUpdate))
}

/// The `PriceUpdateV2` of `q` for `feed_id`, written by `authority` (`signatures` 0: fully
/// verified; n: partially, with n signatures).
pub fn pull_update(
    authority: &Pubkey,
    feed_id: [u8; 32],
    q: &Quote,
    prev_publish_time: i64,
    signatures: u8,
    slot: u64,
) -> PriceUpdateV2 {
    PriceUpdateV2 {
        write_authority: *authority,
        verification_level: if signatures == 0 {
            VerificationLevel::Full
        } else {
            VerificationLevel::Partial { num_signatures: signatures }
        },
        price_message: PriceFeedMessage {
            feed_id,
            price: q.price,
            conf: q.conf,
            exponent: q.expo,
            publish_time: q.publish_time,
            prev_publish_time,
            ema_price: q.price,
            ema_conf: q.conf,
        },
        posted_slot: slot,
    }
}

/// Serializes `u` into the 134-byte account, zero-padding the rest.
pub fn pull_store(d: &mut [u8], u: &PriceUpdateV2) -> Result<()> {
    require!(d.len() == PULL_SIZE, crate::TestOracleError::NotAPriceUpdate);
    let mut buf = Vec::with_capacity(PULL_SIZE);
    u.try_serialize(&mut buf)?;
    require!(buf.len() <= PULL_SIZE, crate::TestOracleError::NotAPriceUpdate);
    buf.resize(PULL_SIZE, 0);
    d.copy_from_slice(&buf);
    Ok(())
}
