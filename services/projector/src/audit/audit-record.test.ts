import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuditRecord } from '@tether/contracts';
import { canonicalJson, hashRecord, sealRecord, verifyChain } from './audit-record.ts';
import { KEY, chain, entry } from './testing.ts';

describe('audit record hash chain', () => {
  it('canonical JSON sorts keys at every level, so a JSON round trip hashes the same', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 1, x: 2 }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[1,{"x":2,"y":1}]},"b":1}',
    );
    const [r] = chain(1);
    const roundTripped = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(r!).reverse())));
    expect(hashRecord(roundTripped, KEY)).toBe(r!.hash);
  });

  it('seals records that the contract accepts, each linked to the one before', () => {
    const records = chain(3);
    for (const r of records) expect(AuditRecord.parse(r)).toEqual(r);
    expect(records[0]!.prevHash).toBeNull();
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(records[2]!.hash).toMatch(/^[0-9a-f]{64}$/);
    // prevHash is part of what is hashed: the same entry at another place in the chain hashes differently.
    expect(sealRecord(entry(1), 1, 'f'.repeat(64), KEY).hash).not.toBe(records[0]!.hash);
    expect(verifyChain(records, KEY)).toEqual({ ok: true, records: 3 });
    expect(verifyChain([], KEY)).toEqual({ ok: true, records: 0 });
  });

  it('finds a record whose content was changed', () => {
    const records = chain(4);
    records[2] = { ...records[2]!, actor: { kind: 'human', id: 'mallory' } };
    expect(verifyChain(records, KEY)).toMatchObject({
      ok: false,
      records: 2,
      brokenAt: 3,
      why: expect.stringMatching(/hash does not match.*record 3 was changed/),
    });
  });

  it('finds a record rewritten with a fresh hash: the next record no longer links to it', () => {
    const records = chain(4);
    const forged = { ...records[1]!, reason: 'nothing to see' };
    records[1] = { ...forged, hash: hashRecord(forged, KEY) };
    expect(verifyChain(records, KEY)).toMatchObject({
      ok: false,
      brokenAt: 3,
      why: expect.stringMatching(/prevHash .* is not the hash of record 2/),
    });
  });

  it('finds a removed, a reordered, an inserted and a duplicated record', () => {
    const records = chain(5);
    expect(verifyChain([records[0], records[1], records[3], records[4]], KEY)).toMatchObject({
      ok: false,
      brokenAt: 3,
      why: 'record 3 is missing (the next record found is 4)',
    });
    expect(verifyChain([records[0], records[2], records[1]], KEY)).toMatchObject({ ok: false, brokenAt: 2 });
    expect(verifyChain([records[0], records[1], records[1]], KEY)).toMatchObject({
      ok: false,
      brokenAt: 3,
      why: expect.stringMatching(/record 2 appears again/),
    });
    expect(verifyChain(records.slice(1), KEY)).toMatchObject({
      ok: false,
      brokenAt: 1,
      why: 'record 1 is missing (the next record found is 2)',
    });
    expect(verifyChain([records[0], { junk: true }], KEY)).toMatchObject({
      ok: false,
      brokenAt: 2,
      why: expect.stringMatching(/not a valid audit record/),
    });
    // The same event audited twice is a broken trail even when the links hold.
    const twice = [records[0]!];
    twice.push(sealRecord(entry(1), 2, twice[0]!.hash, KEY));
    expect(verifyChain(twice, KEY)).toMatchObject({
      ok: false,
      brokenAt: 2,
      why: 'event evt-1 was audited twice (records 1 and 2)',
    });
  });

  it('verifies a tail of the trail from an anchor', () => {
    const records = chain(5);
    expect(verifyChain(records.slice(3), KEY, { seq: 3, hash: records[2]!.hash })).toEqual({ ok: true, records: 2 });
    expect(verifyChain(records.slice(3), KEY, { seq: 3, hash: records[1]!.hash })).toMatchObject({
      ok: false,
      brokenAt: 4,
    });
  });

  it('is keyed: a record appended with a recomputed plain sha256 does not verify, claiming the key or not', () => {
    const records = chain(3);
    const last = records.at(-1)!;
    const plain = (r: object) => createHash('sha256').update(canonicalJson(r)).digest('hex');
    const next = { ...entry(4, { reason: 'nothing to see' }), seq: 4, prevHash: last.hash };
    const claimingKey = { ...next, alg: 'hmac-sha256' as const };
    expect(verifyChain([...records, { ...claimingKey, hash: plain(claimingKey) }], KEY)).toMatchObject({
      ok: false,
      records: 3,
      brokenAt: 4,
      why: expect.stringMatching(/under tether's audit key: record 4 was changed, forged without the key/),
    });
    expect(verifyChain([...records, { ...next, hash: plain(next) }], KEY)).toMatchObject({
      ok: false,
      brokenAt: 4,
      why: expect.stringMatching(/record 4 has a plain sha256 hash, but the chain is keyed since record 1/),
    });
    // The right chain under another key: a tether with another audit.key (or someone guessing one).
    expect(verifyChain(records, Buffer.alloc(32, 8))).toMatchObject({ ok: false, brokenAt: 1 });
    // From an anchor, the anchor says whether the chain was keyed already.
    expect(
      verifyChain([{ ...next, hash: plain(next) }], KEY, { seq: 3, hash: last.hash, alg: 'hmac-sha256' }),
    ).toMatchObject({ ok: false, brokenAt: 4 });
  });

  it('still verifies a trail written before the chain was keyed, and counts those records', () => {
    // How records looked before: no alg, a plain sha256 over the rest.
    const legacy: AuditRecord[] = [];
    for (let i = 1; i <= 2; i++) {
      const r = { ...entry(i), seq: i, prevHash: legacy.at(-1)?.hash ?? null };
      legacy.push({ ...r, hash: createHash('sha256').update(canonicalJson(r)).digest('hex') });
    }
    const third = sealRecord(entry(3), 3, legacy[1]!.hash, KEY);
    const keyed = [third, sealRecord(entry(4), 4, third.hash, KEY)];
    expect(verifyChain([...legacy, ...keyed], KEY)).toEqual({ ok: true, records: 4, unkeyed: 2 });
    const changed = { ...legacy[1]!, reason: 'rewritten' };
    expect(verifyChain([legacy[0], changed, ...keyed], KEY)).toMatchObject({
      ok: false,
      brokenAt: 2,
      why: expect.stringMatching(/record 2 was changed/),
    });
  });
});
