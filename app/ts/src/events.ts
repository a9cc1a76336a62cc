/**
 * Events from transaction logs. The program's `emit!` logs `Program data: <base64>` where the
 * bytes are the event's 8-byte discriminator (from the IDL) followed by its Borsh data; these are
 * decoded with the Codama-rendered codecs of each event's struct (src/generated/events.ts).
 */
import { getBase64Encoder, type Address, type ReadonlyUint8Array } from '@solana/kit';
import { PERP_EVENTS, type PerpEventMap } from './generated/events.js';
import { PERP_PROGRAM_ADDRESS } from './generated/programs/index.js';

export { PERP_EVENTS, type PerpEventMap };

/** One decoded event: its IDL name and its data. */
export type PerpEvent = { [K in keyof PerpEventMap]: { name: K; data: PerpEventMap[K] } }[keyof PerpEventMap];

const PROGRAM_DATA = 'Program data: ';
const INVOKE = /^Program (\S+) invoke \[\d+\]$/;
const EXIT = /^Program (\S+) (success|failed.*)$/;

const startsWith = (data: ReadonlyUint8Array, prefix: ReadonlyUint8Array) =>
    data.length >= prefix.length && prefix.every((b, i) => data[i] === b);

/**
 * Decodes one event's bytes (discriminator + data), or returns `null` when the discriminator is
 * not one of the program's events. Throws when a known event's data does not decode.
 */
export function decodeEvent(bytes: ReadonlyUint8Array): PerpEvent | null {
    const e = PERP_EVENTS.find((d) => startsWith(bytes, d.discriminator));
    if (!e) return null;
    const body = bytes.slice(8);
    const [data, read] = e.getDecoder().read(body, 0);
    if (read !== body.length) throw new Error(`${e.name}: ${body.length - read} bytes left after the event data`);
    return { name: e.name, data } as PerpEvent;
}

/**
 * The program's events in a transaction's log messages, in order. `Program data:` lines are taken
 * while the program is the innermost running program (tracked by the runtime's `invoke` /
 * `success` / `failed` lines), so another program's data lines are skipped; lines whose bytes are
 * not one of the program's events are skipped too. Logs without any `invoke` line (a bare list of
 * data lines) are all considered.
 */
export function parseEvents(logs: readonly string[], programAddress: Address = PERP_PROGRAM_ADDRESS): PerpEvent[] {
    const base64 = getBase64Encoder();
    const stack: string[] = [];
    const out: PerpEvent[] = [];
    for (const line of logs) {
        const invoke = INVOKE.exec(line);
        if (invoke) {
            stack.push(invoke[1]);
            continue;
        }
        const exit = EXIT.exec(line);
        if (exit) {
            if (stack.length && stack[stack.length - 1] === exit[1]) stack.pop();
            continue;
        }
        if (!line.startsWith(PROGRAM_DATA)) continue;
        if (stack.length && stack[stack.length - 1] !== programAddress) continue;
        const ev = decodeEvent(base64.encode(line.slice(PROGRAM_DATA.length).trim()));
        if (ev) out.push(ev);
    }
    return out;
}
