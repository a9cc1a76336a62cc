//! Decoding program accounts from raw account data (discriminator checked, alignment-safe).

use anchor_lang::Discriminator;
use core::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    TooShort { expected: usize, got: usize },
    WrongDiscriminator,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort { expected, got } => {
                write!(f, "account data too short: {got} < {expected} bytes")
            }
            DecodeError::WrongDiscriminator => {
                write!(f, "account is not of the expected type (discriminator mismatch)")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a zero-copy program account (`8-byte discriminator || T`).
pub fn decode<T: bytemuck::Pod + Discriminator>(data: &[u8]) -> Result<T, DecodeError> {
    let need = 8 + core::mem::size_of::<T>();
    if data.len() < need {
        return Err(DecodeError::TooShort { expected: need, got: data.len() });
    }
    if &data[..8] != T::DISCRIMINATOR {
        return Err(DecodeError::WrongDiscriminator);
    }
    Ok(bytemuck::pod_read_unaligned(&data[8..need]))
}

/// The account data a program account of type `T` would have (for tests and simulations).
pub fn encode<T: bytemuck::Pod + Discriminator>(v: &T) -> Vec<u8> {
    let mut d = T::DISCRIMINATOR.to_vec();
    d.extend_from_slice(bytemuck::bytes_of(v));
    d
}
