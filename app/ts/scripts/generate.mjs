#!/usr/bin/env node
// Generates src/generated from the Anchor IDL with Codama, rendered for @solana/kit.
//
//   node scripts/generate.mjs            -> writes src/generated (commit the result)
//   node scripts/generate.mjs --check    -> renders into a temporary folder and fails when it
//                                           differs from the committed src/generated
//
// The IDL is read from PERP_IDL, else <repo>/idl/perp.json (the repo is PERP_REPO, else ../..).
//
// Adjustments, so that the output fits the IDL as Anchor writes it and Node's ESM loader:
// - PDA seeds that cannot be derived on the client are dropped from the IDL before Codama reads
//   it: a seed that is the account itself (close_margin_account: the program seeds it with the
//   loaded account's owner and id), a field of an account's data (`proposal.id`), and propose's
//   `exchange`, where the program seeds with the loaded exchange's `proposal_count` and Anchor's
//   IDL writes the exchange's key. Those accounts become plain inputs, which the hand-written
//   builders (src/instructions.ts) always pass with the seeds of app/client/src/pda.rs;
// - each event's struct is added as a defined type (Codama renders no event codecs), and
//   src/generated/events.ts lists every event's name, IDL discriminator and generated decoder;
// - src/generated/programErrors.ts lists the IDL's errors (code, name, message);
// - relative import specifiers of the rendered files get explicit `.js` / `/index.js` suffixes
//   (Codama writes extensionless ones, which only bundlers resolve);
// - the program plugin's return type annotation (written for @solana/kit 6, whose `extendClient`
//   returned `Omit<T, K> & A`) is left to inference: kit 8's `extendClient` returns the flattened
//   `ExtendedClient<T, A>`, which TypeScript cannot assign to the annotation.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFromRoot, definedTypeNode, programNode, rootNode } from 'codama';
import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = process.env.PERP_REPO ? resolve(process.env.PERP_REPO) : resolve(pkg, '../..');
const idlPath = process.env.PERP_IDL ? resolve(process.env.PERP_IDL) : join(repo, 'idl/perp.json');
const GENERATED = 'src/generated';

/** Drops PDA seeds a client cannot derive from the instruction's own inputs. */
export function cleanIdl(idl) {
    const out = structuredClone(idl);
    for (const ix of out.instructions) {
        for (const acc of ix.accounts) {
            if (!acc.pda) continue;
            const seeds = acc.pda.seeds ?? [];
            const underivable = seeds.some(
                (s) =>
                    s.kind === 'account' &&
                    (s.path === acc.name || s.path.includes('.') || (ix.name === 'propose' && s.path === 'exchange')),
            );
            if (underivable) delete acc.pda;
        }
    }
    return out;
}

/** Adds `.js` or `/index.js` to the relative imports and re-exports of every rendered file. */
function fixSpecifiers(dir) {
    for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) {
            fixSpecifiers(path);
            continue;
        }
        if (!path.endsWith('.ts')) continue;
        const src = readFileSync(path, 'utf8');
        const fixed = src.replace(/(from\s+["'])(\.{1,2}(?:\/[^"']*)?)(["'])/g, (_, a, spec, b) => {
            if (spec.endsWith('.js')) return a + spec + b;
            const target = resolve(dirname(path), spec);
            const isDir = existsSync(target) && statSync(target).isDirectory();
            return a + (isDir ? `${spec}/index.js` : `${spec}.js`) + b;
        });
        const patched = fixed.replace(/(\(\s*client: T,\s*\)): Omit<T, "perp"> & \{ perp: PerpPlugin \} =>/, '$1 =>');
        if (patched !== src) writeFileSync(path, patched);
    }
}

/** The root node with every event's data struct added as a defined type of the same name. */
function withEventTypes(root) {
    const events = root.program.events ?? [];
    const taken = new Set(root.program.definedTypes.map((t) => t.name));
    const added = events.map((e) => {
        if (taken.has(e.name)) throw new Error(`event ${e.name} collides with a defined type`);
        const type = e.data.kind === 'hiddenPrefixTypeNode' ? e.data.type : e.data;
        return definedTypeNode({ name: e.name, type, docs: e.docs });
    });
    return rootNode(
        programNode({ ...root.program, definedTypes: [...root.program.definedTypes, ...added] }),
        root.additionalPrograms,
    );
}

const pascal = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** src/generated/events.ts: every IDL event with its discriminator and generated decoder. */
function eventsModule(idl) {
    const events = [...idl.events].sort((a, b) => a.name.localeCompare(b.name));
    const lines = [
        '/**',
        ' * This code was generated by scripts/generate.mjs from the IDL\'s events (their data codecs',
        ' * are Codama-rendered in ./types). Please DO NOT EDIT THIS FILE: rerun `npm run generate`.',
        ' */',
        '',
        'import { type Decoder, type ReadonlyUint8Array } from "@solana/kit";',
        'import {',
        ...events.flatMap((e) => [`  get${pascal(e.name)}Decoder,`, `  type ${pascal(e.name)},`]),
        '} from "./types/index.js";',
        '',
        '/** The data of each event, by event name. */',
        'export type PerpEventMap = {',
        ...events.map((e) => `  ${pascal(e.name)}: ${pascal(e.name)};`),
        '};',
        '',
        '/** An event\'s name, its 8-byte discriminator (the first 8 bytes of its data) and decoder. */',
        'export type PerpEventDescriptor = {',
        '  name: keyof PerpEventMap;',
        '  discriminator: ReadonlyUint8Array;',
        '  getDecoder: () => Decoder<PerpEventMap[keyof PerpEventMap]>;',
        '};',
        '',
        'export const PERP_EVENTS: readonly PerpEventDescriptor[] = [',
        ...events.map(
            (e) =>
                `  { name: "${pascal(e.name)}", discriminator: new Uint8Array([${e.discriminator.join(', ')}]), getDecoder: get${pascal(e.name)}Decoder },`,
        ),
        '];',
        '',
    ];
    return lines.join('\n');
}

/** src/generated/programErrors.ts: the IDL's errors as `[code, name, msg]` rows. */
function errorsModule(idl) {
    return [
        '/**',
        " * This code was generated by scripts/generate.mjs from the IDL's errors. Please DO NOT EDIT",
        ' * THIS FILE: rerun `npm run generate`.',
        ' */',
        '',
        '/** The program\'s custom errors: `[code, name, message]`. */',
        'export const PERP_PROGRAM_ERRORS: ReadonlyArray<readonly [number, string, string]> = [',
        ...idl.errors.map((e) => `  [${e.code}, ${JSON.stringify(e.name)}, ${JSON.stringify(e.msg ?? '')}],`),
        '];',
        '',
    ].join('\n');
}

async function render(packageDir) {
    const rawIdl = JSON.parse(readFileSync(idlPath, 'utf8'));
    const idl = cleanIdl(rawIdl);
    const codama = createFromRoot(withEventTypes(rootNodeFromAnchor(idl)));
    await codama.accept(
        renderVisitor(packageDir, {
            generatedFolder: GENERATED,
            syncPackageJson: false,
            kitImportStrategy: 'rootOnly',
            deleteFolderBeforeRendering: true,
        }),
    );
    fixSpecifiers(join(packageDir, GENERATED));
    writeFileSync(join(packageDir, GENERATED, 'events.ts'), eventsModule(rawIdl));
    writeFileSync(join(packageDir, GENERATED, 'programErrors.ts'), errorsModule(rawIdl));
}

function listFiles(dir, base = dir) {
    if (!existsSync(dir)) return [];
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? listFiles(path, base) : [relative(base, path)];
    });
}

async function main() {
if (process.argv.includes('--check')) {
    const tmp = mkdtempSync(join(tmpdir(), 'perp-codama-'));
    try {
        await render(tmp);
        const fresh = join(tmp, GENERATED);
        const committed = join(pkg, GENERATED);
        const a = listFiles(fresh).sort();
        const b = listFiles(committed).sort();
        const problems = [];
        for (const f of new Set([...a, ...b])) {
            if (!a.includes(f)) problems.push(`extra committed file: ${f}`);
            else if (!b.includes(f)) problems.push(`missing file: ${f}`);
            else if (readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'))
                problems.push(`differs: ${f}`);
        }
        if (problems.length) {
            console.error(`src/generated is stale against ${idlPath} (run \`npm run generate\`):`);
            for (const p of problems) console.error(`  ${p}`);
            process.exit(1);
        }
        console.log(`src/generated is up to date with ${relative(pkg, idlPath) || idlPath} (${a.length} files)`);
    } finally {
        rmSync(tmp, { recursive: true, force: true });
    }
} else {
    await render(pkg);
    console.log(`generated ${listFiles(join(pkg, GENERATED)).length} files into ${GENERATED} from ${idlPath}`);
}
}

if (resolve(fileURLToPath(import.meta.url)) === resolve(process.argv[1] ?? '')) await main();
