//! 128-bit multiplication and division from 64-bit operations.
//!
//! SBF has 64-bit multiply and divide instructions but no 128-bit ones: a `u128` product or
//! quotient becomes a call to a software routine (`__multi3`, `__udivti3`) that costs hundreds to
//! thousands of compute units, and every money formula divides a 128-bit product by a precision or
//! a price that fits in 64 bits. These helpers do that with a handful of native instructions:
//! a 64 x 64 -> 128 product from 32-bit halves, and a 128 / 64 division by Knuth's algorithm D in
//! base 2^32 (Hacker's Delight `divlu`). Results are exactly those of native `u128` arithmetic
//! (property-tested below against it).

/// `a x b` as a 128-bit product, from four 32 x 32 multiplications.
pub fn mul_64_64(a: u64, b: u64) -> u128 {
    const M: u64 = 0xffff_ffff;
    let (a1, a0) = (a >> 32, a & M);
    let (b1, b0) = (b >> 32, b & M);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // middle column: at most 3 x (2^32 - 1)^2 / 2^32 + ... fits in u64 as summed here
    let mid = (p00 >> 32) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 32);
    let hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    ((hi as u128) << 64) | lo as u128
}

/// `a x b` exactly, for any `i64` operands (the product always fits in `i128`).
pub fn mul_i64(a: i64, b: i64) -> i128 {
    let p = mul_64_64(a.unsigned_abs(), b.unsigned_abs()) as i128;
    if (a < 0) != (b < 0) {
        -p
    } else {
        p
    }
}

/// `a x b` for any `u128` operands, `None` on overflow; 64-bit operands take the fast path.
pub fn checked_mul_u128(a: u128, b: u128) -> Option<u128> {
    if a <= u64::MAX as u128 && b <= u64::MAX as u128 {
        return Some(mul_64_64(a as u64, b as u64));
    }
    a.checked_mul(b)
}

/// Divides the 128-bit number `u1:u0` by `v` when `u1 < v` (so the quotient fits in 64 bits):
/// `(quotient, remainder)`.
fn div_128_by_64(u1: u64, u0: u64, v: u64) -> (u64, u64) {
    const B: u64 = 1 << 32;
    const M: u64 = B - 1;
    debug_assert!(u1 < v);
    let s = v.leading_zeros();
    let v = v << s;
    let (vn1, vn0) = (v >> 32, v & M);
    let un32 = if s == 0 { u1 } else { (u1 << s) | (u0 >> (64 - s)) };
    let un10 = u0 << s;
    let (un1, un0) = (un10 >> 32, un10 & M);
    let mut q1 = un32 / vn1;
    let mut rhat = un32 - q1 * vn1;
    while q1 >= B || q1 * vn0 > (rhat << 32) + un1 {
        q1 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let un21 = (un32 << 32).wrapping_add(un1).wrapping_sub(q1.wrapping_mul(v));
    let mut q0 = un21 / vn1;
    rhat = un21 - q0 * vn1;
    while q0 >= B || q0 * vn0 > (rhat << 32) + un0 {
        q0 -= 1;
        rhat += vn1;
        if rhat >= B {
            break;
        }
    }
    let r = (un21 << 32).wrapping_add(un0).wrapping_sub(q0.wrapping_mul(v)) >> s;
    ((q1 << 32) + q0, r)
}

/// `n / d` and `n % d` for a `u128` numerator and a nonzero `u128` divisor; a divisor that fits
/// in 64 bits (every precision and price) takes the fast path.
pub fn div_rem_u128(n: u128, d: u128) -> (u128, u128) {
    if d <= u64::MAX as u128 {
        let d = d as u64;
        let (hi, lo) = ((n >> 64) as u64, n as u64);
        if hi == 0 {
            return ((lo / d) as u128, (lo % d) as u128);
        }
        let (qh, r) = (hi / d, hi % d);
        let (ql, r) = div_128_by_64(r, lo, d);
        return (((qh as u128) << 64) | ql as u128, r as u128);
    }
    (n / d, n % d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        for (a, b) in [(0, 0), (1, u64::MAX), (u64::MAX, u64::MAX), (1 << 32, 1 << 32), (u64::MAX, 2)] {
            assert_eq!(mul_64_64(a, b), a as u128 * b as u128, "{a} x {b}");
        }
        for (n, d) in [
            (u128::MAX, 1u128),
            (u128::MAX, u64::MAX as u128),
            (u128::MAX, 3),
            (1u128 << 64, 1 << 63),
            ((1u128 << 127) + 12345, 1_000_000_007),
            (10u128.pow(36), 10u128.pow(18)),
            (5, 10),
            (u128::MAX, u128::MAX),
            (u128::MAX - 1, u64::MAX as u128 + 1),
        ] {
            assert_eq!(div_rem_u128(n, d), (n / d, n % d), "{n} / {d}");
        }
    }

    proptest! {
        #[test]
        fn mul_matches_u128(a in any::<u64>(), b in any::<u64>()) {
            prop_assert_eq!(mul_64_64(a, b), a as u128 * b as u128);
        }

        #[test]
        fn signed_mul_matches_i128(a in any::<i64>(), b in any::<i64>()) {
            prop_assert_eq!(mul_i64(a, b), a as i128 * b as i128);
        }

        #[test]
        fn div_matches_u128(n in any::<u128>(), d in 1u64..) {
            prop_assert_eq!(div_rem_u128(n, d as u128), (n / d as u128, n % d as u128));
        }

        #[test]
        fn div_small_divisors(n in any::<u128>(), d in 1u64..1_000_000) {
            prop_assert_eq!(div_rem_u128(n, d as u128), (n / d as u128, n % d as u128));
        }

        #[test]
        fn div_wide_divisors(n in any::<u128>(), d in (u64::MAX as u128)..) {
            prop_assert_eq!(div_rem_u128(n, d), (n / d, n % d));
        }
    }
}
