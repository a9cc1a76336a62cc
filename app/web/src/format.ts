/** Fixed-point integers as decimal text (never through floating point). */
export function fixed(v: bigint, decimals: number, shown = decimals): string {
    const neg = v < 0n;
    const a = neg ? -v : v;
    const s = a.toString().padStart(decimals + 1, '0');
    let int = s.slice(0, s.length - decimals);
    let frac = s.slice(s.length - decimals).slice(0, shown);
    int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    if (shown > 0 && /^0*$/.test(frac) && decimals > 2) frac = frac.slice(0, 2);
    return (neg ? '-' : '') + int + (frac ? '.' + frac : '');
}
export const usd = (v: bigint, shown = 2) => fixed(v, 6, shown);
export const price = (v: bigint | null | undefined) => (v == null ? '—' : fixed(v, 6, 2));
export const base = (v: bigint) => fixed(v, 9, 4);
export const pct = (rate: bigint, shown = 4) => fixed(rate * 100n, 9, shown) + ' %';

/** Parses a decimal text into an integer of `decimals`; null when it is not a plain positive number. */
export function parseFixed(text: string, decimals: number): bigint | null {
    const t = text.trim().replace(/,/g, '');
    const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
    if (!m) return null;
    const frac = (m[2] ?? '').padEnd(decimals, '0');
    if (frac.length > decimals && /[1-9]/.test(frac.slice(decimals))) return null;
    return BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt(frac.slice(0, decimals) || '0');
}
