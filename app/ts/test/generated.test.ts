/** The committed src/generated is what Codama renders from the IDL now (`npm run check-generated`). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { PACKAGE_DIR } from './fixtures.js';

test('src/generated is fresh against the IDL', () => {
    const r = spawnSync(process.execPath, [join(PACKAGE_DIR, 'scripts/generate.mjs'), '--check'], {
        cwd: PACKAGE_DIR,
        encoding: 'utf8',
    });
    assert.equal(r.status, 0, `check-generated failed:\n${r.stdout}${r.stderr}`);
    console.log(r.stdout.trim());
});
