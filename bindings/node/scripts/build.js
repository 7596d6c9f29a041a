#!/usr/bin/env node
// Builds the native half of the binding with this machine's tools, nothing
// downloaded: libspikard (go build -buildmode=c-shared, from the repository
// this package lives in) and the N-API addon (the system C compiler, the Node
// headers installed with Node), then the TypeScript sources when dist/ is
// missing or older than src/ (tsc, a devDependency).
//
//   node scripts/build.js            what `npm install` runs
//   node scripts/build.js --force    rebuild everything
//
// Environment:
//   SPIKARD_LIBRARY       a prebuilt libspikard.so to use instead of go build
//   SPIKARD_INCLUDE       the folder of spikard.h (default: <repo>/include)
//   SPIKARD_NODE_HEADERS  the folder of node_api.h (and uv.h)
//   CC                    the C compiler (default: cc)
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');

const pkgDir = path.resolve(__dirname, '..');
const buildDir = path.join(pkgDir, 'build');
const force = process.argv.includes('--force');

function log(msg) {
  process.stderr.write(`spikard: ${msg}\n`);
}

function fail(lines) {
  process.stderr.write(`\nspikard: the native build failed.\n${lines.map((l) => '  ' + l).join('\n')}\n\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  log(`${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) fail([`cannot run ${cmd}: ${r.error.message}`, ...(opts.hint || [])]);
  if (r.status !== 0) fail([`${cmd} exited with status ${r.status}`, ...(opts.hint || [])]);
}

function repoRoot() {
  let dir = pkgDir;
  for (;;) {
    const mod = path.join(dir, 'go.mod');
    if (fs.existsSync(mod) && /^module\s+github\.com\/spikard\/spikard-go\s*$/m.test(fs.readFileSync(mod, 'utf8'))) {
      return dir;
    }
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function newestIn(dir, exts) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestIn(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) newest = Math.max(newest, mtime(p));
  }
  return newest;
}

function nodeHeaders() {
  const candidates = [
    process.env.SPIKARD_NODE_HEADERS,
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  try {
    candidates.push(path.join(path.dirname(require.resolve('node-api-headers/package.json', { paths: [pkgDir] })), 'include'));
  } catch {
    /* not installed: fine */
  }
  for (const c of candidates) {
    if (c && fs.existsSync(path.join(c, 'node_api.h'))) return c;
  }
  fail([
    'node_api.h was not found. It comes with Node (<prefix>/include/node) or with the',
    'node-api-headers npm package. Install the headers of your Node, e.g. on Debian/Ubuntu the',
    'nodejs package from NodeSource ships them, or run `npm install node-api-headers`,',
    'or point SPIKARD_NODE_HEADERS at the folder that holds node_api.h.',
  ]);
}

// 1. libspikard
const root = repoRoot();
fs.mkdirSync(buildDir, { recursive: true });
const lib = path.join(buildDir, 'libspikard.so');
let include = process.env.SPIKARD_INCLUDE;
if (process.env.SPIKARD_LIBRARY) {
  fs.copyFileSync(process.env.SPIKARD_LIBRARY, lib);
} else {
  if (!root) {
    fail([
      'this package builds libspikard from the Spikard repository it lives in (go.mod of',
      'github.com/spikard/spikard-go), and none was found above ' + pkgDir + '.',
      'Set SPIKARD_LIBRARY=/path/to/libspikard.so and SPIKARD_INCLUDE=/path/to/include instead.',
    ]);
  }
  const map = path.join(root, 'capi', 'libspikard.map');
  run('go', ['build', '-buildmode=c-shared', `-ldflags=-extldflags=-Wl,--version-script=${map}`, '-o', lib, './capi'], {
    cwd: root,
    hint: ['libspikard is built with Go (https://go.dev/dl/, the version go.mod names) and a C compiler.'],
  });
  try {
    fs.rmSync(path.join(buildDir, 'libspikard.h'));
  } catch {
    /* cgo's header is not API */
  }
}
if (!include) include = root ? path.join(root, 'include') : null;
if (!include || !fs.existsSync(path.join(include, 'spikard.h'))) {
  fail(['spikard.h was not found: set SPIKARD_INCLUDE to the folder that holds it.']);
}

// 2. the addon
const addon = path.join(buildDir, 'spikard.node');
const src = path.join(pkgDir, 'src', 'addon.c');
if (force || mtime(addon) < Math.max(mtime(src), mtime(lib), mtime(path.join(include, 'spikard.h')), mtime(__filename))) {
  const hdrs = nodeHeaders();
  const cflags = ['-O2', '-g', '-fPIC', '-shared', '-std=c11', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Wno-unused-parameter'];
  // uv.h comes with Node's headers, or with libuv's (Debian: libuv1-dev).
  if (!['/usr/include', '/usr/local/include', hdrs].some((d) => fs.existsSync(path.join(d, 'uv.h')))) {
    log(`no uv.h with ${hdrs}: building without the uv_poll dispatch (callback mode only)`);
    cflags.push('-DSPIKARD_NO_UV');
  }
  run(process.env.CC || 'cc', [
    ...cflags,
    `-I${hdrs}`,
    `-I${include}`,
    '-o', addon,
    src,
    `-L${buildDir}`,
    '-lspikard',
    '-Wl,-rpath,$ORIGIN',
    '-lpthread',
  ], { hint: ['the addon is compiled with the system C compiler (cc; set CC to use another).'] });
}

// 3. TypeScript -> dist/
const dist = path.join(pkgDir, 'dist');
const srcNewest = Math.max(newestIn(path.join(pkgDir, 'src'), ['.ts']), mtime(path.join(pkgDir, 'tsconfig.json')));
if (force || newestIn(dist, ['.js']) < srcNewest) {
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [pkgDir] });
  } catch {
    tsc = null;
  }
  if (!tsc) {
    // Installed as a dependency of another project: npm does not install
    // this package's devDependencies, so install them here (from the lock).
    log('dist/ is missing and TypeScript is not installed: installing the devDependencies');
    const lock = fs.existsSync(path.join(pkgDir, 'package-lock.json'));
    run('npm', [lock ? 'ci' : 'install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: pkgDir });
    tsc = require.resolve('typescript/bin/tsc', { paths: [pkgDir] });
  }
  run(process.execPath, [tsc, '-p', path.join(pkgDir, 'tsconfig.json')], { cwd: pkgDir });
}

// 4. a smoke test: the addon loads and libspikard answers.
const out = execFileSync(process.execPath, ['-e', `const a=require(${JSON.stringify(addon)});console.log(a.version()+' abi '+a.abiVersion())`]);
log(`built ${path.relative(process.cwd(), addon) || addon} (libspikard ${String(out).trim()})`);
