// Runs every compiled *.test.js under packages/*/dist with node's test runner.
// Node 20's --test takes no globs, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) findTests(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filter = process.argv[2];
const files = [];
for (const pkg of readdirSync('packages')) {
  const dist = join('packages', pkg, 'dist');
  try { statSync(dist); } catch { continue; }
  findTests(dist, files);
}
const selected = filter ? files.filter((f) => f.includes(filter)) : files;
if (selected.length === 0) {
  console.error(`no test files${filter ? ` match ${filter}` : ''}`);
  process.exit(1);
}
// Each file starts its own daemons on free ports, so two files can run at once on 2 cores.
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...selected], {
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
