/**
 * Browser tests without new dependencies: a static HTTP server (node:http) over the repository
 * root, so pages import the compiled modules from /dist/..., and a headless Chromium driven by
 * playwright-core. WebGPU runs on SwiftShader, Chromium's software GPU, so no GPU is needed.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's package; CI installs it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** This file is dist/test/helpers/browser.js once compiled. */
const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');

const MIME: Readonly<Record<string, string>> = {
  '.js': 'application/javascript',
  '.mjs': 'application/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css',
  '.txt': 'text/plain; charset=utf-8',
};

const INDEX_HTML = '<!doctype html><meta charset="utf-8"><title>sparsekit browser tests</title>';

/** Cross-origin isolation: pages get SharedArrayBuffer, which the CPU backend's threads need. */
const ISOLATION_HEADERS = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

export interface BrowserPage {
  readonly page: Page;
  /** Origin of the static server, e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  /** Console messages and page errors so far, for diagnostics. */
  readonly log: readonly string[];
  /** Runs `fn(arg)` in the page and returns its (structured-cloneable) result. */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  close(): Promise<void>;
}

/**
 * Starts the server and Chromium and opens a page on the server's origin (a secure context, as
 * WebGPU requires); cross-origin isolated unless `isolated` is false.
 */
export async function openBrowserPage(isolated = true): Promise<BrowserPage> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM_PATH}, which is missing: install it with \`apt-get install -y chromium\``);
  }
  const server = await startStaticServer(REPO_ROOT);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage();
    const log: string[] = [];
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await page.goto(`${origin}/${isolated ? '' : 'plain'}`);
    const opened = browser;
    return {
      page,
      origin,
      log,
      // Playwright's own signature cannot type a generic argument; the cast only erases that.
      evaluate: <R, A>(fn: (arg: A) => R | Promise<R>, arg: A) =>
        (page.evaluate as (f: unknown, a: unknown) => Promise<unknown>).call(page, fn, arg) as Promise<R>,
      close: async () => {
        await opened.close();
        await stopServer(server);
      },
    };
  } catch (e) {
    await browser?.close();
    await stopServer(server);
    throw e;
  }
}

/** Serves files under `root` on a random localhost port; nothing outside it. */
function startStaticServer(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (path === '/' || path === '/plain') {
        // '/' is cross-origin isolated (SharedArrayBuffer, so the CPU backend gets threads); '/plain' is not.
        res.writeHead(200, { 'content-type': MIME['.html'], ...(path === '/' ? ISOLATION_HEADERS : {}) }).end(INDEX_HTML);
        return;
      }
      const file = resolve(root, `.${path}`);
      if (!file.startsWith(root + sep) || !(await stat(file).then((s) => s.isFile(), () => false))) {
        res.writeHead(404, { 'content-type': MIME['.txt'] }).end(`not found: ${path}`);
        return;
      }
      res.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
        ...ISOLATION_HEADERS,
      });
      createReadStream(file).pipe(res);
    })();
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveStart(server));
  });
}

function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((done) => server.close(() => done()));
}
