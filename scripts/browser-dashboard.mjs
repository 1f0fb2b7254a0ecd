// Real-browser check of the dashboard, driven over the Chrome DevTools Protocol with no npm
// dependency (Node's WebSocket: run with `node --experimental-websocket` on Node 20).
//
//   node --experimental-websocket scripts/browser-dashboard.mjs <base-url> <api-key> <screenshot.png> [chromium]
//
// Starts headless Chromium with a fresh profile, opens the dashboard, logs in through the page's
// form, waits until every chart is drawn, fails on any console error / exception / failed request,
// checks pt-BR formatting, and saves a screenshot. Prints one JSON line with what it saw.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

const [base, key, shot, exe = '/usr/bin/chromium'] = process.argv.slice(2);
if (!base || !key || !shot) { console.error('usage: browser-dashboard.mjs <base-url> <key> <png> [chromium]'); process.exit(2); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const profile = mkdtempSync(join(tmpdir(), 'cvdw-chromium-'));
const chrome = spawn(exe, [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--no-default-browser-check', '--disable-dev-shm-usage',
  `--user-data-dir=${profile}`, '--remote-debugging-port=0', '--window-size=1280,2200', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
chrome.stderr.on('data', (d) => { stderr += d; });
const deadline = Date.now() + 90_000;
function finish(code, msg) {
  try { chrome.kill('SIGKILL'); } catch {}
  try { rmSync(profile, { recursive: true, force: true }); } catch {}
  if (msg) console.log(msg);
  process.exit(code);
}
try {
  let port;
  while (!port) {
    if (Date.now() > deadline) throw new Error('chromium did not open its DevTools port: ' + stderr.slice(-500));
    const f = join(profile, 'DevToolsActivePort');
    if (existsSync(f)) port = readFileSync(f, 'utf8').split('\n')[0].trim();
    else await sleep(100);
  }
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const page = targets.find((t) => t.type === 'page');
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
  let id = 0; const pending = new Map(); const problems = []; const listeners = [];
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.id && pending.has(m.id)) { const { res, rej } = pending.get(m.id); pending.delete(m.id); m.error ? rej(new Error(JSON.stringify(m.error))) : res(m.result); return; }
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'warning' || m.params.type === 'assert'))
      problems.push('console.' + m.params.type + ': ' + m.params.args.map((a) => a.value ?? a.description).join(' '));
    if (m.method === 'Runtime.exceptionThrown') problems.push('exception: ' + (m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text));
    if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') {
      // The page probes /api/empreendimentos before login: that one 401 is expected.
      if (!(m.params.entry.url || '').endsWith('/api/empreendimentos') || !/401/.test(m.params.entry.text)) problems.push('log: ' + m.params.entry.text + ' ' + (m.params.entry.url || ''));
    }
    for (const l of listeners) l(m);
  };
  const send = (method, params = {}) => new Promise((res, rej) => { const i = ++id; pending.set(i, { res, rej }); ws.send(JSON.stringify({ id: i, method, params })); });
  const evaluate = async (expr) => (await send('Runtime.evaluate', { expression: expr, awaitPromise: true, returnByValue: true })).result.value;
  const waitFor = async (expr, what) => {
    while (!(await evaluate(expr))) { if (Date.now() > deadline) throw new Error('timed out waiting for ' + what + '; problems: ' + problems.join(' | ')); await sleep(200); }
  };
  await send('Runtime.enable'); await send('Log.enable'); await send('Page.enable');
  await send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 3200, deviceScaleFactor: 1, mobile: false });
  await send('Page.navigate', { url: base + '/' });
  await waitFor(`document.readyState === 'complete' && !document.getElementById('login').hidden`, 'the login form');
  await evaluate(`document.getElementById('chave').value = ${JSON.stringify(key)}; document.getElementById('login-form').requestSubmit(); true`);
  await waitFor(`document.body.dataset.pronto === '1'`, 'the dashboard to render');
  await sleep(300);
  const seen = await evaluate(`(() => {
    const canvases = [...document.querySelectorAll('canvas')];
    const drawn = canvases.filter((c) => window.Chart.getChart(c) && c.width > 0 && c.height > 0);
    const painted = drawn.filter((c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4 * 97) if (d[i] !== 0) return true; return false; });
    return { canvases: canvases.length, charts: drawn.length, painted: painted.length,
      kpi_vgv: document.getElementById('k-vgv').textContent, kpi_liq: document.getElementById('k-liq-u').textContent,
      first_sale_date: (document.querySelector('#vendas-linhas td') || {}).textContent || '',
      etl_rows: document.querySelectorAll('#etl-linhas tr').length, cookie_visible: document.cookie,
      errors: window.__painel.erros };
  })()`);
  // The cockpit: a period with comparisons, the people filters, then a preset.
  const rerender = async (js, what) => {
    await evaluate(`document.body.dataset.pronto = ''; { ${js}; } true`);
    await waitFor(`document.body.dataset.pronto === '1'`, what);
  };
  const submit = `document.getElementById('filtros').requestSubmit()`;
  await rerender(`document.getElementById('f-de').value = '2025-01-01'; document.getElementById('f-ate').value = '2025-03-31'; ${submit}`, 'a period');
  const cockpit = await evaluate(`(() => ({
    deltas: [...document.querySelectorAll('.kpi .delta')].map((d) => d.textContent),
    estoque_rows: document.querySelectorAll('#estoque-linhas tr').length,
    estoque_first: (document.querySelector('#estoque-linhas td.num') || {}).textContent || '',
    reservas_rows: document.querySelectorAll('#reservas-linhas tr').length,
    distratos_rows: document.querySelectorAll('#distratos-linhas tr').length,
    repasses_rows: document.querySelectorAll('#repasses-linhas tr').length,
    metas_rows: document.querySelectorAll('#metas-linhas tr').length,
    motivo_chart: !!window.Chart.getChart(document.getElementById('g-dist-motivo')),
    funil_rows: document.querySelectorAll('#funil-linhas tr').length,
    funil_midia_rows: document.querySelectorAll('#funil-midia-linhas tr').length,
    funil_nota: document.getElementById('funil-sem-lead').textContent,
  }))()`);
  const png = await send('Page.captureScreenshot', { format: 'png' });
  mkdirSync(dirname(shot), { recursive: true });
  writeFileSync(shot, Buffer.from(png.data, 'base64'));
  // The funnel section on its own (a clip of the page around it).
  const box = await evaluate(`(() => { const r = document.getElementById('funil').getBoundingClientRect();
    return { x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height }; })()`);
  const fpng = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip: Object.assign({ scale: 1 }, box) });
  writeFileSync(shot.replace(/\.png$/, '-funil.png'), Buffer.from(fpng.data, 'base64'));
  await rerender(`document.getElementById('f-corretor').value = '3'; document.getElementById('f-time').value = '2'; document.getElementById('f-imob').value = '1'; ${submit}`, 'the people filters');
  const presets = {};
  for (const p of ['mes', 'mes-anterior', 'trimestre', 'ano', '12m']) {
    await rerender(`const s = document.getElementById('f-preset'); s.value = '${p}'; s.dispatchEvent(new Event('change'))`, 'preset ' + p);
    presets[p] = await evaluate(`[document.getElementById('f-de').value, document.getElementById('f-ate').value]`);
  }
  const presetsOk = Object.values(presets).every(([de, ate]) => /^\d{4}-\d{2}-01$/.test(de) && /^\d{4}-\d{2}-\d{2}$/.test(ate) && de < ate)
    && presets.ano[0].endsWith('-01-01') && presets.ano[1].endsWith('-12-31');
  Object.assign(seen, { cockpit, presets, presets_ok: presetsOk });
  const cpng = await send('Page.captureScreenshot', { format: 'png' });
  writeFileSync(shot.replace(/\.png$/, '-preset.png'), Buffer.from(cpng.data, 'base64'));
  // A phone-sized render too.
  await send('Emulation.setDeviceMetricsOverride', { width: 390, height: 844, deviceScaleFactor: 2, mobile: true });
  await sleep(500);
  const mobile = await evaluate(`({ overflow: document.documentElement.scrollWidth > window.innerWidth + 1 })`);
  const mpng = await send('Page.captureScreenshot', { format: 'png' });
  writeFileSync(shot.replace(/\.png$/, '-mobile.png'), Buffer.from(mpng.data, 'base64'));
  const out = Object.assign(seen, { mobile_overflow: mobile.overflow, problems });
  const ok = problems.length === 0 && seen.errors.length === 0 && seen.charts === seen.canvases && seen.canvases >= 8
    && seen.painted === seen.canvases && /^R\$\s?[\d.]+,\d{2}$/.test(seen.kpi_vgv.replace(/\u00a0/g, ' '))
    && /^\d{2}\/\d{2}\/\d{4}$/.test(seen.first_sale_date) && seen.etl_rows > 0 && seen.cookie_visible === '' && !mobile.overflow
    && seen.cockpit.deltas.length === 8 && seen.cockpit.deltas.every((d) => d.includes('vs período anterior'))
    && seen.cockpit.deltas.some((d) => /[▲▼] [\d,]+%/.test(d)) && seen.cockpit.estoque_rows > 0
    && seen.cockpit.reservas_rows > 0 && seen.cockpit.distratos_rows > 0 && seen.cockpit.repasses_rows > 0 && seen.cockpit.motivo_chart
    && seen.cockpit.funil_rows === 4 && seen.cockpit.funil_midia_rows > 1 && presetsOk;
  finish(ok ? 0 : 1, JSON.stringify(out));
} catch (e) {
  finish(1, JSON.stringify({ fatal: String(e && e.stack || e) }));
}
