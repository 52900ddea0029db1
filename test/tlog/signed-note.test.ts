import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ed25519Signer, generateNoteKey, isValidKeyName, NoteKeyError, parseSignerKey, parseVerifierKey } from '../../src/tlog/note-key.ts';
import { NoteError, openNote, signNote } from '../../src/tlog/signed-note.ts';
import { deriveTenantSigner } from '../../src/tlog/tenant-key.ts';

// From the C2SP signed-note specification's example.
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
// From the documentation of Go's golang.org/x/mod/sumdb/note, and a note Go signed with it.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = 'example.com/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go4VqI92R6RnkbFG60RGI6Yxn4TkW5MLQksbDeO1pskcWDbG4Bhv7Z2t+nUsjBsoN5EDp36BF9/c94UB5hLH/0ws=\n`;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof NoteError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('note keys', () => {
  it('parses the specification and Go examples, with the right key ids', () => {
    const v = parseVerifierKey(SPEC_VKEY);
    assert.equal(v.name, 'example.com/foo');
    assert.equal(v.keyId, 0x530d903a);
    assert.equal(v.text, SPEC_VKEY);
    const s = parseSignerKey(GO_SKEY);
    assert.equal(s.verifier.text, GO_VKEY);
    assert.equal(s.text, GO_SKEY);
  });

  it('generates keys whose texts parse back to the same key', () => {
    const { signerKey, verifierKey } = generateNoteKey('logwarden/abc/42');
    assert.match(signerKey, /^PRIVATE\+KEY\+logwarden\/abc\/42\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    assert.match(verifierKey, /^logwarden\/abc\/42\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    assert.equal(parseSignerKey(signerKey).verifier.text, verifierKey);
    assert.notEqual(generateNoteKey('x').verifierKey, generateNoteKey('x').verifierKey);
  });

  it('refuses malformed keys', () => {
    const bad = [
      '',
      'example.com/foo',
      'example.com/foo+530d903a',
      'example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', // wrong id
      'example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', // uppercase hex
      'example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', // other name
      'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2', // short
      'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l', // non-canonical
      'example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k', // type 0x02
      'exa mple+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
      '+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k',
    ];
    for (const k of bad) assert.throws(() => parseVerifierKey(k), NoteKeyError, k);
    assert.throws(() => parseSignerKey(GO_VKEY), NoteKeyError);
    assert.throws(() => parseSignerKey(GO_SKEY.replace('c74f20a3', 'c74f20a4')), NoteKeyError);
    assert.throws(() => parseSignerKey(`PRIVATE+KEY+${GO_VKEY}`), NoteKeyError);
  });

  it('names a signer key given as a verifier key, without repeating it', () => {
    for (const k of [GO_SKEY, generateNoteKey('logwarden/example/1').signerKey]) {
      assert.throws(
        () => parseVerifierKey(k),
        (err: Error) =>
          err instanceof NoteKeyError &&
          /signer key \(PRIVATE\+KEY\+…\), which is secret/.test(err.message) &&
          // The key's base64 (after PRIVATE+KEY+<name>+<id>+), which may itself hold a '+'.
          !err.message.includes(k.split('+').slice(4).join('+')),
      );
    }
  });

  it('key names follow the spec', () => {
    assert.ok(isValidKeyName('example.com/log42'));
    assert.ok(isValidKeyName('ünïcödé/ok'));
    for (const n of ['', 'a b', 'a+b', 'a\u00a0b', 'a\u2003b', 'a\tb', 'a\nb', 'a\u3000b']) assert.equal(isValidKeyName(n), false, JSON.stringify(n));
  });
});

describe('signed notes', () => {
  it('verifies the specification example and a note Go signed', () => {
    const opened = openNote(SPEC_NOTE, [parseVerifierKey(SPEC_VKEY)]);
    assert.equal(opened.text, 'This is an example message.\n');
    assert.equal(opened.verified.length, 1);
    assert.equal(openNote(GO_NOTE, [parseVerifierKey(GO_VKEY)]).text, GO_TEXT);
  });

  it('signs exactly as Go does (Ed25519 is deterministic)', () => {
    assert.equal(signNote(GO_TEXT, [parseSignerKey(GO_SKEY)]), GO_NOTE);
  });

  it('ignores unknown keys, needs one known signature, rejects a bad known one', () => {
    const a = parseSignerKey(generateNoteKey('a.example/log').signerKey);
    const b = parseSignerKey(generateNoteKey('b.example/witness').signerKey);
    const note = signNote('hello\n', [a, b]);
    const opened = openNote(note, [a.verifier]);
    assert.deepEqual(
      opened.verified.map((s) => s.name),
      ['a.example/log'],
    );
    assert.deepEqual(
      opened.unverified.map((s) => s.name),
      ['b.example/witness'],
    );
    assert.equal(
      code(() => openNote(note, [])),
      'unverified',
    );
    // Same name, other key: an unknown key (its id differs), so the note is unverified.
    const a2 = parseSignerKey(generateNoteKey('a.example/log').signerKey);
    assert.equal(
      code(() => openNote(signNote('hello\n', [a2]), [a.verifier])),
      'unverified',
    );
    // A known key's signature over other text: the whole note is rejected.
    const forged = signNote('hello\n', [a]).replace('hello', 'HELLO');
    assert.equal(
      code(() => openNote(forged, [a.verifier, b.verifier])),
      'invalid-signature',
    );
    // Text with an empty line inside is fine: the last blank line separates the signatures.
    assert.equal(openNote(signNote('a\n\nb\n', [a]), [a.verifier]).text, 'a\n\nb\n');
  });

  it('rejects malformed notes', () => {
    const a = parseSignerKey(GO_SKEY);
    const good = signNote('hello\n', [a]);
    const sigLine = good.slice(good.indexOf('\u2014'));
    for (const bad of [
      'hello\n',
      'hello\n\n',
      good.slice(0, -1),
      good.replace('\u2014 ', '- '),
      good.replace('\u2014 ', '\u2014'),
      good.replace('hello', 'hel\tlo'),
      good.replace('hello', 'hel\rlo'),
      `hello\n\n${sigLine.replace('PeterNeumann ', 'PeterNeumann  ')}`,
      `hello\n\n${sigLine}\n`,
      `hello\n\n\u2014 PeterNeumann AAAAAA==\n`,
      `hello\n\n\u2014 PeterNeumann\n`,
      'hello\n\n' + `${sigLine}`.repeat(101),
    ]) {
      assert.equal(
        code(() => openNote(bad, [a.verifier])),
        'malformed',
        JSON.stringify(bad),
      );
    }
    assert.equal(
      code(() => openNote(new Uint8Array([0x68, 0xff, 0x0a, 0x0a]), [a.verifier])),
      'malformed',
    );
    assert.throws(() => signNote('no newline', [a]), NoteError);
  });

  it('any flipped bit in a signed note is rejected', () => {
    const signer = parseSignerKey(generateNoteKey('logwarden/flip/7').signerKey);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80 }).filter((s) => !/[\u0000-\u001f]/.test(s)),
        fc.nat(),
        (line, seed) => {
          const bytes = Buffer.from(signNote(`${line}\n`, [signer]), 'utf8');
          const bit = seed % (bytes.length * 8);
          bytes[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
          assert.notEqual(
            code(() => openNote(new Uint8Array(bytes), [signer.verifier])),
            'ok',
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('per-tenant keys derived from one secret', () => {
  const secret = 'a server secret of at least thirty-two bytes';
  it('are stable, per origin, and named after the origin', () => {
    const a = deriveTenantSigner(secret, 'logwarden/store1/100');
    assert.equal(a.text, deriveTenantSigner(secret, 'logwarden/store1/100').text);
    assert.equal(a.name, 'logwarden/store1/100');
    assert.notEqual(a.verifier.text, deriveTenantSigner(secret, 'logwarden/store1/101').verifier.text);
    assert.notEqual(a.verifier.text, deriveTenantSigner(`${secret}!`, 'logwarden/store1/100').verifier.text);
    // Pinned: the derivation (HKDF-SHA-256, fixed salt, origin as info) must never change, or
    // every tenant's log key would change with it.
    assert.equal(a.verifier.text, PINNED_DERIVED_VKEY);
    assert.equal(openNote(signNote('x\n', [a]), [parseVerifierKey(a.verifier.text)]).text, 'x\n');
  });

  it('refuse a short secret', () => {
    assert.throws(() => deriveTenantSigner('short', 'o'), RangeError);
  });

  it('match a signer built from the HKDF output by hand', async () => {
    const { hkdfSync } = await import('node:crypto');
    const seed = new Uint8Array(hkdfSync('sha256', Buffer.from(secret), 'logwarden tlog tenant signing key v1', Buffer.from('o/1'), 32));
    assert.equal(deriveTenantSigner(secret, 'o/1').text, ed25519Signer('o/1', seed).text);
  });
});

const PINNED_DERIVED_VKEY = 'logwarden/store1/100+ba175bf1+AQYro0nYTPCAMhHCe11f+baevXdp0XcG62dRFFDRBLBp';
