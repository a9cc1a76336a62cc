//! Pyth pull-oracle `PriceUpdateV2` accounts (written by the Pyth receiver program), decoded with
//! the receiver SDK's own account type.

use anchor_lang::AccountDeserialize;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PullPrice {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub expo: i32,
    pub publish_time: i64,
    pub full: bool,
    pub signatures: u8,
    /// Pyth's exponential moving average of the price (same exponent).
    pub ema: i64,
}

pub fn parse(data: &[u8]) -> Option<PullPrice> {
    let mut d = data;
    let u = PriceUpdateV2::try_deserialize(&mut d).ok()?;
    let (full, signatures) = match u.verification_level {
        VerificationLevel::Full => (true, 0),
        VerificationLevel::Partial { num_signatures } => (false, num_signatures),
    };
    Some(PullPrice {
        feed_id: u.price_message.feed_id,
        price: u.price_message.price,
        conf: u.price_message.conf,
        expo: u.price_message.exponent,
        publish_time: u.price_message.publish_time,
        full,
        signatures,
        ema: u.price_message.ema_price,
    })
}
