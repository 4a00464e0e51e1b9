import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifest } from '../../apps/manifest.js';
import { cacheRulesSchema, compileCacheRules, globMatcher, parseCacheControl, privateVariant } from './config.js';
import { CACHE_CONTROL_CHARS_MAX, CACHE_GLOB_WILDCARDS_MAX, CACHE_MAX_AGE_SECONDS_MAX, CACHE_RULES_MAX } from './limits.js';

const base = { id: 'site', name: 'Site', version: '1.0.0', assets: 'public' };

function problems(cache: unknown, extra: object = {}): string[] {
  const parsed = parseManifest({ ...base, ...extra, cache });
  return parsed.ok ? [] : (parsed.error.details ?? []).map((d) => `${d.path} ${d.message}`);
}

test('valid rules pass the manifest, and `cache` defaults to no rules', () => {
  const parsed = parseManifest({ ...base, cache: [{ glob: '/fonts/*', cacheControl: 'public, max-age=86400' }, { glob: '/**/*.map', cacheControl: 'no-store' }] });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  assert.equal(parsed.value.cache.length, 2);
  const bare = parseManifest(base);
  assert.deepEqual(bare.ok && bare.value.cache, []);
});

test('bad rules are refused with their JSON path', () => {
  assert.match(problems([{ glob: 'fonts/*', cacheControl: 'no-cache' }]).join(), /\$\.cache\[0\]\.glob must start with "\/"/);
  assert.match(problems([{ glob: '/fonts/**x', cacheControl: 'no-cache' }]).join(), /"\*\*" only as a whole segment/);
  assert.match(problems([{ glob: '/a/../b', cacheControl: 'no-cache' }]).join(), /"\." or "\.\." segments/);
  assert.match(problems([{ glob: '/a//b', cacheControl: 'no-cache' }]).join(), /empty segments/);
  assert.match(problems([{ glob: '/a\\b', cacheControl: 'no-cache' }]).join(), /control characters/);
  assert.match(problems([{ glob: '/*', cacheControl: 'public, max-age=ten' }]).join(), /\$\.cache\[0\]\.cacheControl .*whole seconds/);
  assert.match(problems([{ glob: '/*', cacheControl: 'public, private' }]).join(), /both "public" and "private"/);
  assert.match(problems([{ glob: '/*', cacheControl: 'max-age=1, max-age=2' }]).join(), /twice/);
  assert.match(problems([{ glob: '/*', cacheControl: 'maxage=60' }]).join(), /not a response directive/);
  assert.match(problems([{ glob: '/*', cacheControl: 'private="set-cookie"' }]).join(), /takes none/);
  assert.match(problems([{ glob: '/*', cacheControl: '' }]).join(), /cacheControl/);
  assert.match(problems([{ glob: '/*', cacheControl: 'no-cache', extra: 1 }]).join(), /\$\.cache\[0\]\.extra is not a known field/);
  assert.match(problems([{ glob: '/*', cacheControl: 'no-cache' }], { assets: undefined }).join(), /\$\.cache needs "assets"/);
});

test('limits: rule count, wildcards, max-age and value length, at and one past the limit', () => {
  const rule = { glob: '/*', cacheControl: 'no-cache' };
  assert.deepEqual(problems(Array.from({ length: CACHE_RULES_MAX }, () => rule)), []);
  assert.match(problems(Array.from({ length: CACHE_RULES_MAX + 1 }, () => rule)).join(), new RegExp(`at most ${CACHE_RULES_MAX} rules`));
  const globWith = (n: number) => `/${Array.from({ length: n }, () => 'a*').join('/')}`;
  assert.deepEqual(problems([{ glob: globWith(CACHE_GLOB_WILDCARDS_MAX), cacheControl: 'no-cache' }]), []);
  assert.match(problems([{ glob: globWith(CACHE_GLOB_WILDCARDS_MAX + 1), cacheControl: 'no-cache' }]).join(), /wildcards/);
  assert.ok(parseCacheControl(`max-age=${CACHE_MAX_AGE_SECONDS_MAX}`).ok);
  assert.equal(parseCacheControl(`max-age=${CACHE_MAX_AGE_SECONDS_MAX + 1}`).ok, false);
  const long = `public, ${'no-transform, '.repeat(30)}`.slice(0, CACHE_CONTROL_CHARS_MAX + 1);
  assert.equal(cacheRulesSchema.safeParse([{ glob: '/*', cacheControl: long }]).success, false);
});

test('directives are normalised, and a private path never gets shared-cache directives', () => {
  assert.deepEqual(parseCacheControl(' Public ,MAX-AGE=0060 '), { ok: true, value: ['public', 'max-age=60'] });
  assert.equal(privateVariant(['public', 'max-age=600', 's-maxage=3600']), 'private, max-age=600');
  assert.equal(privateVariant(['no-store']), 'no-store');
  assert.equal(privateVariant(['private', 'max-age=5']), 'private, max-age=5');
  const [compiled] = compileCacheRules([{ glob: '/fonts/*', cacheControl: 'public, max-age=86400, proxy-revalidate' }]);
  assert.equal(compiled?.publicValue, 'public, max-age=86400, proxy-revalidate');
  assert.equal(compiled?.privateValue, 'private, max-age=86400');
});

test('globs: * stays within a segment, ** spans segments', () => {
  const cases: [string, string, boolean][] = [
    ['/fonts/*', '/fonts/inter.woff2', true],
    ['/fonts/*', '/fonts/sub/inter.woff2', false],
    ['/fonts/*', '/fonts', false],
    ['/fonts/**', '/fonts/sub/inter.woff2', true],
    ['/**/*.map', '/app.js.map', true],
    ['/**/*.map', '/a/b/c/app.js.map', true],
    ['/**/*.map', '/a/b/c/app.js', false],
    ['/img/*-*.png', '/img/a-b.png', true],
    ['/img/*-*.png', '/img/ab.png', false],
    ['/a*b*c', '/abc', true],
    ['/a*b*c', '/aXbYc', true],
    ['/a*b*c', '/acb', false],
    ['/a*a', '/a', false],
    ['/exact.txt', '/exact.txt', true],
    ['/exact.txt', '/exact.txt.br', false],
    ['/**', '/anything/at/all', true],
  ];
  for (const [glob, path, expected] of cases) assert.equal(globMatcher(glob)(path), expected, `${glob} ~ ${path}`);
});

test('matching stays fast on adversarial input', () => {
  const glob = `/${'*a'.repeat(CACHE_GLOB_WILDCARDS_MAX / 2)}/${'**/'.repeat(CACHE_GLOB_WILDCARDS_MAX / 2 - 1)}*b`;
  const path = `/${'a'.repeat(400)}/${'x/'.repeat(50)}c`;
  const started = process.hrtime.bigint();
  assert.equal(globMatcher(glob)(path), false);
  assert.ok(process.hrtime.bigint() - started < 50_000_000n, 'under 50 ms');
});
