// Painel de Vendas: fetches the API with the session cookie (set by POST /login) and draws
// Chart.js charts. No key is kept in the page: the cookie is HttpOnly.
'use strict';
(function () {
  const estado = { graficos: {}, tenants: [] };
  window.__painel = { pronto: false, erros: [] };
  const brl = new Intl.NumberFormat('pt-BR', { style: 'currency', currency: 'BRL' });
  const inteiro = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 0 });
  const pct = new Intl.NumberFormat('pt-BR', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const MESES = ['jan', 'fev', 'mar', 'abr', 'mai', 'jun', 'jul', 'ago', 'set', 'out', 'nov', 'dez'];
  const $ = (id) => document.getElementById(id);
  const num = (v) => (v === null || v === undefined ? 0 : Number(v));
  const dataBR = (s) => (s ? s.slice(8, 10) + '/' + s.slice(5, 7) + '/' + s.slice(0, 4) : '–');
  const mesBR = (s) => MESES[Number(s.slice(5, 7)) - 1] + '/' + s.slice(0, 4);
  const duracao = (seg) => {
    if (seg === null || seg === undefined) return '–';
    if (seg < 3600) return Math.round(seg / 60) + ' min';
    if (seg < 172800) return Math.round(seg / 3600) + ' h';
    return Math.round(seg / 86400) + ' dias';
  };

  async function api(caminho, params) {
    const qs = new URLSearchParams(params || {});
    const r = await fetch(caminho + (qs.toString() ? '?' + qs : ''), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (r.status === 401) { mostrarLogin(); throw new Error('não autenticado'); }
    if (!r.ok) { const c = await r.json().catch(() => ({})); throw new Error(c.reason || c.error || ('HTTP ' + r.status)); }
    return r.json();
  }

  function mostrarLogin() {
    $('login').hidden = false; $('painel').hidden = true; $('filtros').hidden = true;
  }
  function mostrarPainel() {
    $('login').hidden = true; $('painel').hidden = false; $('filtros').hidden = false;
  }

  function filtros() {
    const f = {};
    if ($('f-tenant').value) f.tenant = $('f-tenant').value;
    if ($('f-emp').value) f.empreendimento = $('f-emp').value;
    if ($('f-de').value) f.de = $('f-de').value;
    if ($('f-ate').value) f.ate = $('f-ate').value;
    return f;
  }

  function grafico(id, config) {
    if (estado.graficos[id]) estado.graficos[id].destroy();
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: {} } } }, config.options || {});
    estado.graficos[id] = new window.Chart($(id), config);
  }
  const eixoReais = { ticks: { callback: (v) => brl.format(v).replace(/,00$/, '') } };
  const dicaReais = (ctx) => ctx.dataset.label + ': ' + (ctx.dataset.reais ? brl.format(ctx.parsed.y ?? ctx.parsed.x) : inteiro.format(ctx.parsed.y ?? ctx.parsed.x));

  async function carregarFiltros() {
    const saude = await fetch('/health').then((r) => r.json()).catch(() => ({ tenants: [] }));
    const sel = $('f-tenant');
    const atual = sel.value;
    sel.innerHTML = '';
    for (const t of saude.tenants || []) {
      const o = document.createElement('option'); o.value = t.tenant; o.textContent = t.tenant; sel.appendChild(o);
    }
    if (atual) sel.value = atual;
    await carregarEmpreendimentos();
  }

  async function carregarEmpreendimentos() {
    const p = {}; if ($('f-tenant').value) p.tenant = $('f-tenant').value;
    const e = await api('/api/empreendimentos', p);
    const sel = $('f-emp'); const atual = sel.value;
    sel.innerHTML = '<option value="">Todos</option>';
    for (const r of e.rows) {
      const o = document.createElement('option'); o.value = r.idempreendimento; o.textContent = r.empreendimento || ('#' + r.idempreendimento); sel.appendChild(o);
    }
    sel.value = atual;
  }

  function kpis(rows) {
    const k = rows[0] || {};
    $('k-liq-u').textContent = inteiro.format(num(k.liquidas_unidades));
    $('k-liq-v').textContent = brl.format(num(k.liquidas_valor));
    $('k-vgv').textContent = brl.format(num(k.vgv));
    $('k-ticket').textContent = k.ticket_medio === null || k.ticket_medio === undefined ? '–' : brl.format(k.ticket_medio);
    $('k-dist').textContent = inteiro.format(num(k.distratos_unidades)) + ' unid.';
    $('k-dist-v').textContent = brl.format(num(k.distratos_valor));
    $('k-com').textContent = brl.format(num(k.comissao_valor));
    $('k-com-p').textContent = 'pago ' + brl.format(num(k.comissao_paga));
    $('k-vso').textContent = k.vso === null || k.vso === undefined ? '–' : pct.format(k.vso);
    $('k-pro').textContent = brl.format(num(k.prosoluto_valor));
    $('k-pro-p').textContent = k.prosoluto_pct === null || k.prosoluto_pct === undefined ? '' : pct.format(k.prosoluto_pct / 100) + ' do VGV';
  }

  function porMes(rows, campos) {
    const m = new Map();
    for (const r of rows) {
      const acc = m.get(r.mes) || {};
      for (const c of campos) acc[c] = (acc[c] || 0) + num(r[c]);
      m.set(r.mes, acc);
    }
    return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }

  async function atualizar() {
    const f = filtros();
    const txt = (f.de ? dataBR(f.de) : 'início') + ' a ' + (f.ate ? dataBR(f.ate) : 'hoje');
    $('periodo').textContent = 'Período: ' + txt + (f.tenant ? ' · conta ' + f.tenant : '');
    const [k, mensal, anos, emp, cor, times, vso, pro, etl, tab] = await Promise.all([
      api('/api/kpis', f), api('/api/vendas-mensais', f), api('/api/ano-atual-vs-passado', f),
      api('/api/vendas-empreendimentos', f), api('/api/vendas-corretores', f), api('/api/vendas-times', f),
      api('/api/vso-mensal', f), api('/api/prosoluto', f),
      // The ETL status needs an admin key, and a key of several tenants pages the table per
      // tenant (400 without one): a viewer's dashboard shows those two empty, not broken.
      api('/api/etl/status', f.tenant ? { tenant: f.tenant } : {}).catch(() => ({ rows: [] })),
      api('/api/tabela-geral', Object.assign({ per_page: 20 }, f)).catch(() => ({ rows: [], total: 0 })),
    ]);
    kpis(k.rows);

    const m = porMes(mensal.rows, ['vendas_unidades', 'distratos_unidades', 'liquidas_unidades', 'liquidas_valor']);
    grafico('g-mensal', { type: 'bar', data: { labels: m.map((x) => mesBR(x[0])), datasets: [
      { label: 'Vendas', data: m.map((x) => x[1].vendas_unidades), backgroundColor: '#1f4e79' },
      { label: 'Distratos', data: m.map((x) => -x[1].distratos_unidades), backgroundColor: '#c62828' },
      { type: 'line', label: 'Líquidas', data: m.map((x) => x[1].liquidas_unidades), borderColor: '#2e7d32', backgroundColor: '#2e7d32' },
      { type: 'line', label: 'Líquidas (R$)', reais: true, data: m.map((x) => x[1].liquidas_valor), borderColor: '#f9a825', backgroundColor: '#f9a825', yAxisID: 'y2' },
    ] }, options: { scales: { y: { title: { display: true, text: 'unidades' } }, y2: Object.assign({ position: 'right', grid: { drawOnChartArea: false } }, eixoReais) },
      plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: dicaReais } } } } });

    const a = anos.rows.length ? anos.rows : [];
    const porNum = new Map();
    for (const r of a) { const acc = porNum.get(r.mes) || { at: 0, pa: 0 }; acc.at += num(r.liquidas_valor_atual); acc.pa += num(r.liquidas_valor_passado); porNum.set(r.mes, acc); }
    const anoAt = a[0] ? a[0].ano_atual : new Date().getFullYear();
    $('g-anos-titulo').textContent = 'Vendas líquidas (R$): ' + anoAt + ' × ' + (anoAt - 1);
    grafico('g-anos', { type: 'line', data: { labels: MESES, datasets: [
      { label: String(anoAt), reais: true, data: MESES.map((_, i) => (porNum.get(i + 1) || {}).at || 0), borderColor: '#1f4e79', backgroundColor: '#1f4e79' },
      { label: String(anoAt - 1), reais: true, data: MESES.map((_, i) => (porNum.get(i + 1) || {}).pa || 0), borderColor: '#9aa5b1', backgroundColor: '#9aa5b1' },
    ] }, options: { scales: { y: eixoReais }, plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: dicaReais } } } } });

    const e = emp.rows.slice(0, 12);
    grafico('g-emp', { type: 'bar', data: { labels: e.map((r) => r.empreendimento || ('#' + r.idempreendimento)), datasets: [
      { label: 'Vendas líquidas (R$)', reais: true, data: e.map((r) => num(r.liquidas_valor)), backgroundColor: '#1f4e79' },
    ] }, options: { indexAxis: 'y', scales: { x: eixoReais }, plugins: { legend: { display: false }, tooltip: { callbacks: { label: dicaReais } } } } });

    const cv = cor.rows.slice().sort((x, y) => num(y.vgv) - num(x.vgv)).slice(0, 10);
    grafico('g-cor-vgv', { type: 'bar', data: { labels: cv.map((r) => r.corretor || ('#' + r.idcorretor)), datasets: [
      { label: 'VGV', reais: true, data: cv.map((r) => num(r.vgv)), backgroundColor: '#2e7d32' },
    ] }, options: { indexAxis: 'y', scales: { x: eixoReais }, plugins: { legend: { display: false }, tooltip: { callbacks: { label: dicaReais } } } } });

    const cc = cor.rows.slice().sort((x, y) => num(y.comissao_valor) - num(x.comissao_valor)).slice(0, 10);
    grafico('g-cor-com', { type: 'bar', data: { labels: cc.map((r) => r.corretor || ('#' + r.idcorretor)), datasets: [
      { label: 'Comissão', reais: true, data: cc.map((r) => num(r.comissao_valor)), backgroundColor: '#f9a825' },
      { label: 'Paga', reais: true, data: cc.map((r) => num(r.comissao_paga)), backgroundColor: '#9aa5b1' },
    ] }, options: { indexAxis: 'y', scales: { x: eixoReais }, plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: dicaReais } } } } });

    grafico('g-times', { type: 'bar', data: { labels: times.rows.map((r) => r.nome_time || 'Sem time'), datasets: [
      { label: 'Vendas líquidas (unid.)', data: times.rows.map((r) => num(r.liquidas_unidades)), backgroundColor: '#6a1b9a' },
    ] }, options: { plugins: { legend: { display: false } } } });

    const v = porMes(vso.rows, ['liquidas_unidades', 'oferta']);
    grafico('g-vso', { type: 'line', data: { labels: v.map((x) => mesBR(x[0])), datasets: [
      { label: 'VSO', data: v.map((x) => (x[1].oferta ? x[1].liquidas_unidades / x[1].oferta : null)), borderColor: '#00838f', backgroundColor: '#00838f' },
    ] }, options: { scales: { y: { ticks: { callback: (x) => pct.format(x) } } },
      plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => 'VSO: ' + pct.format(c.parsed.y) } } } } });

    const p = porMes(pro.rows, ['prosoluto_valor', 'vgv']);
    grafico('g-pro', { type: 'bar', data: { labels: p.map((x) => mesBR(x[0])), datasets: [
      { label: 'Pró-soluto (R$)', reais: true, data: p.map((x) => x[1].prosoluto_valor), backgroundColor: '#ef6c00' },
      { type: 'line', label: '% do VGV', data: p.map((x) => (x[1].vgv ? (100 * x[1].prosoluto_valor) / x[1].vgv : null)), borderColor: '#1f4e79', backgroundColor: '#1f4e79', yAxisID: 'y2' },
    ] }, options: { scales: { y: eixoReais, y2: { position: 'right', grid: { drawOnChartArea: false }, ticks: { callback: (x) => x.toFixed(0).replace('.', ',') + '%' } } },
      plugins: { legend: { position: 'bottom' }, tooltip: { callbacks: { label: (c) => (c.dataset.reais ? dicaReais(c) : c.dataset.label + ': ' + c.parsed.y.toFixed(1).replace('.', ',') + '%') } } } } });

    const corpo = $('etl-linhas'); corpo.innerHTML = '';
    for (const r of etl.rows) {
      const tr = document.createElement('tr');
      const celulas = [r.object, r.ultimo_run, r.mode, inteiro.format(num(r.rows)), inteiro.format(num(r.rejeitadas_total)),
        inteiro.format(num(r.falhas_abertas)), duracao(r.idade_segundos), r.manifest_state];
      celulas.forEach((c, i) => { const td = document.createElement('td'); td.textContent = c; if (i >= 3 && i <= 5) td.className = 'num'; tr.appendChild(td); });
      if (num(r.falhas_abertas) > 0 || num(r.rejeitadas_total) > 0) tr.className = 'alerta';
      corpo.appendChild(tr);
    }
    if (!etl.rows.length) corpo.innerHTML = '<tr><td colspan="8">Nenhuma carga registrada.</td></tr>';

    const vl = $('vendas-linhas'); vl.innerHTML = '';
    for (const r of tab.rows) {
      const tr = document.createElement('tr');
      [dataBR(r.data_venda), r.empreendimento, r.unidade, r.corretor, r.nome_time || 'Sem time', brl.format(num(r.valor_contrato)), r.situacao]
        .forEach((c, i) => { const td = document.createElement('td'); td.textContent = c ?? '–'; if (i === 5) td.className = 'num'; tr.appendChild(td); });
      vl.appendChild(tr);
    }
    $('csv-link').href = '/api/tabela-geral?' + new URLSearchParams(Object.assign({ format: 'csv' }, f));
    window.__painel.pronto = true;
    window.__painel.graficos = Object.keys(estado.graficos).length;
    document.body.dataset.pronto = '1';
  }

  async function iniciar() {
    try {
      await api('/api/empreendimentos');
    } catch (e) { return; }
    mostrarPainel();
    await carregarFiltros();
    await atualizar();
  }

  function falha(e) { window.__painel.erros.push(String(e && e.message || e)); console.warn('painel:', e); }

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      $('login-erro').textContent = '';
      const r = await fetch('/login', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key: $('chave').value }) });
      if (r.status === 204) { $('chave').value = ''; iniciar().catch(falha); } else { $('login-erro').textContent = 'Chave inválida.'; }
    });
    $('filtros').addEventListener('submit', (ev) => { ev.preventDefault(); atualizar().catch(falha); });
    $('f-tenant').addEventListener('change', () => { carregarEmpreendimentos().then(atualizar).catch(falha); });
    $('sair').addEventListener('click', async () => { await fetch('/logout', { method: 'POST', credentials: 'same-origin' }); mostrarLogin(); });
    iniciar().catch(falha);
  });
})();
