/**
 * The checked-arithmetic kernel shared by the perp-core ports ({@link ./risk.ts},
 * {@link ./collateral-risk.ts}): Rust's `CoreError` as a thrown value turned into a {@link Result}
 * at the API boundary, range checks standing for Rust's `checked_*` and `try_from`, and
 * `units::{div_round, mul_div}`. Internal: the package exports what it needs through `risk`.
 */

/** A value or the name of the `CoreError` that Rust returns for the same inputs. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
export const I128_MIN = -(1n << 127n);
export const I128_MAX = (1n << 127n) - 1n;
export const U128_MAX = (1n << 128n) - 1n;

/** A `CoreError` raised inside a computation; turned into a {@link Result} at the API boundary. */
export class CoreError extends Error {
    constructor(readonly debug: string) {
        super(debug);
    }
}

export const overflow = (): never => {
    throw new CoreError('Overflow');
};

export function attempt<T>(f: () => T): Result<T> {
    try {
        return { ok: true, value: f() };
    } catch (e) {
        if (e instanceof CoreError) return { ok: false, error: e.debug };
        throw e;
    }
}

/** Unwraps a {@link Result} inside a computation (Rust's `?`). */
export function unwrap<T>(r: Result<T>): T {
    if (!r.ok) throw new CoreError(r.error);
    return r.value;
}

// range checks: Rust's `checked_*` and `try_from`
export const i64 = (v: bigint): bigint => (v < I64_MIN || v > I64_MAX ? overflow() : v);
export const u64 = (v: bigint): bigint => (v < 0n || v > U64_MAX ? overflow() : v);
export const i128 = (v: bigint): bigint => (v < I128_MIN || v > I128_MAX ? overflow() : v);

/** Inputs must be values of the Rust types (a caller's bug otherwise, not a `CoreError`). */
export function expectRange(name: string, v: bigint, lo: bigint, hi: bigint): void {
    if (typeof v !== 'bigint' || v < lo || v > hi) throw new RangeError(`${name} out of range: ${v}`);
}
export const expectI64 = (name: string, v: bigint) => expectRange(name, v, I64_MIN, I64_MAX);
export const expectU64 = (name: string, v: bigint) => expectRange(name, v, 0n, U64_MAX);

export const abs = (v: bigint) => (v < 0n ? -v : v);
export const min = (a: bigint, b: bigint) => (a <= b ? a : b);
export const max = (a: bigint, b: bigint) => (a >= b ? a : b);
export const clamp = (v: bigint, lo: bigint, hi: bigint) => (v < lo ? lo : v > hi ? hi : v);

/** `n / d` rounded down (`up = false`, floor) or up (ceiling), as `units::div_round`. */
export function divRound(n: bigint, d: bigint, up: boolean): bigint {
    if (d === 0n) throw new CoreError('DivisionByZero');
    if (n === I128_MIN && d === -1n) overflow();
    const q = n / d; // truncates toward zero
    if (n % d === 0n) return q;
    const negative = n < 0n !== d < 0n;
    if (!up && negative) return q - 1n;
    if (up && !negative) return q + 1n;
    return q;
}

/** `a x b / d` with the product checked against i128 (`units::mul_div`). */
export function mulDiv(a: bigint, b: bigint, d: bigint, up: boolean): bigint {
    const negative = a < 0n !== b < 0n;
    const p = abs(a) * abs(b);
    if (p > U128_MAX) overflow();
    if (p > I128_MAX + (negative ? 1n : 0n)) overflow();
    return divRound(negative ? -p : p, d, up);
}
