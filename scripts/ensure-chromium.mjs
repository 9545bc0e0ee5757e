// Run before the tests (npm's pretest): the WebGPU kernels are tested in Debian's Chromium on
// SwiftShader. Installs it with apt-get when it is missing and this user may (root or sudo);
// otherwise stops with the command to run. Never skips the browser tests silently.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  const hasSudo = !root && (() => { try { execSync('sudo -n true', { stdio: 'ignore' }); return true; } catch { return false; } })();
  if (!existsSync('/usr/bin/apt-get') || (!root && !hasSudo)) {
    console.error(`pretest: ${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium) and run the tests again`);
    process.exit(1);
  }
  const run = (args) => execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['apt-get', ...args], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  console.error('pretest: installing chromium for the WebGPU tests (apt-get)');
  run(['update', '-qq']);
  run(['install', '-y', '-qq', '--no-install-recommends', 'chromium']);
}
