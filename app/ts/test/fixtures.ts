/**
 * Where the tests find their inputs: the committed instruction vectors (test/fixtures), and the
 * fixtures the Rust test `tests/tests/ts_client` writes at each run (PERP_TS_FIXTURES).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (tests run from dist/test, sources live in test/). */
export const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The repository root: PERP_REPO, else two levels above the package. */
export const REPO_DIR = process.env.PERP_REPO ? resolve(process.env.PERP_REPO) : resolve(PACKAGE_DIR, '../..');

export function readJson<T = any>(path: string): T {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** The committed instruction vectors. */
export function instructionVectors(): any {
    return readJson(join(PACKAGE_DIR, 'test/fixtures/instructions.json'));
}

/**
 * A fixture file written by the Rust test (risk.json, accounts.json). Fails with a message naming
 * the variable when PERP_TS_FIXTURES is not set, so a run without it cannot pass silently.
 */
export function rustFixture(name: string): any {
    const dir = process.env.PERP_TS_FIXTURES;
    if (!dir) {
        throw new Error(
            `PERP_TS_FIXTURES is not set: run \`cargo test -p perp-tests --test ts_client\`, or point it at ` +
                `the directory it writes (<target>/ts-fixtures)`,
        );
    }
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`missing fixture ${path}`);
    return readJson(path);
}

export function hex(bytes: Uint8Array | ReadonlyArray<number>): string {
    return Buffer.from(bytes as Uint8Array).toString('hex');
}
