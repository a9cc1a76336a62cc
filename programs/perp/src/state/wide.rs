//! 128-bit integers stored as little-endian bytes, so zero-copy accounts have the same layout
//! (alignment 8) on the host and on SBF, where u128 alignment differs.

use anchor_lang::prelude::*;

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct WideI128 {
    bytes: [u8; 16],
}

impl WideI128 {
    pub fn new(v: i128) -> Self {
        Self { bytes: v.to_le_bytes() }
    }
    pub fn get(&self) -> i128 {
        i128::from_le_bytes(self.bytes)
    }
    pub fn set(&mut self, v: i128) {
        self.bytes = v.to_le_bytes();
    }
}

#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct WideU128 {
    bytes: [u8; 16],
}

impl WideU128 {
    pub fn new(v: u128) -> Self {
        Self { bytes: v.to_le_bytes() }
    }
    pub fn get(&self) -> u128 {
        u128::from_le_bytes(self.bytes)
    }
    pub fn set(&mut self, v: u128) {
        self.bytes = v.to_le_bytes();
    }
}
