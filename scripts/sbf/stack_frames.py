#!/usr/bin/env python3
"""Stack frames of the SBF program, from the assembly scripts/sbf/link-with-asm writes: for each
function, the deepest `r10 - N` slot it touches (SBPF v0 gives every call a 4,096-byte frame).
Prints the five largest and exits 1 when one is above --limit."""
import re, sys, subprocess

path, limit = sys.argv[1], None
if '--limit' in sys.argv:
    limit = int(sys.argv[sys.argv.index('--limit') + 1])
frames, cur = {}, None
label = re.compile(r'^([A-Za-z_.$][\w.$]*):')
slot = re.compile(r'r10\s*-\s*(\d+)|r10\s*\+\s*-(\d+)')
for line in open(path, errors='replace'):
    m = label.match(line)
    if m and not m.group(1).startswith(('.L', 'LBB', '.Ltmp')):
        cur = m.group(1)
        frames.setdefault(cur, 0)
        continue
    if cur is None:
        continue
    for a, b in slot.findall(line):
        frames[cur] = max(frames[cur], int(a or b))

def demangle(name):
    """The identifiers of a Rust v0 symbol (<length><ident> runs), joined with '::'."""
    name = re.sub(r'Cs[0-9A-Za-z]+_', '', name)  # crate disambiguators
    out, i = [], 0
    while i < len(name):
        if name[i].isdigit():
            j = i
            while j < len(name) and name[j].isdigit():
                j += 1
            n = int(name[i:j])
            if j < len(name) and name[j] == '_':
                j += 1
            ident = name[j:j + n]
            if n and len(ident) == n and (ident[0].isalpha() or ident[0] == '_') and ident.replace('_', 'a').isalnum():
                out.append(ident)
                i = j + n
                continue
            i = j
        else:
            i += 1
    return '::'.join(out) or name

top = sorted(frames.items(), key=lambda kv: -kv[1])[:5]
names = [demangle(n) for n, _ in top]
print(f"largest stack frames ({len(frames)} functions; SBF allows 4,096 bytes):")
for (n, size), d in zip(top, names):
    print(f"  {size:5} bytes  {d[:150]}")
if limit is not None and top and top[0][1] > limit:
    print(f"build-sbf: a frame of {top[0][1]} bytes is above the {limit}-byte limit", file=sys.stderr)
    sys.exit(1)
