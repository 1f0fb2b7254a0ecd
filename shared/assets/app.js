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
    if ($('f-corretor').value) f.corretor = $('f-corretor').value;
    if ($('f-time').value) f.time = $('f-time').value;
    if ($('f-imob').value) f.imobiliaria = $('f-imob').value;
    return f;
  }

  // Each endpoint takes only its own filters (the api answers 400 to the others, see
  // /openapi.json): the VSO chart takes the period and development (the stock has no people);
  // the other sales endpoints and the cockpit the rest.
  const PERIODO = ['tenant', 'de', 'ate', 'empreendimento'];
  // The sales endpoints that also take the people behind a sale (broker, team, agency).
  const PESSOAS = PERIODO.concat(['corretor', 'time', 'imobiliaria']);
  const so = (f, aceitos) => Object.fromEntries(Object.entries(f).filter(([k]) => aceitos.includes(k)));

  // Dates as YYYY-MM-DD in local time (the pickers' format).
  const iso = (d) => d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0');
  const dia = (s) => { const [a, m, d] = s.split('-').map(Number); return new Date(a, m - 1, d); };
  // The presets: whole calendar periods around today.
  function preset(nome, hoje) {
    const a = hoje.getFullYear(); const m = hoje.getMonth();
    const fim = (ano, mes) => new Date(ano, mes + 1, 0);
    switch (nome) {
      case 'mes': return [new Date(a, m, 1), fim(a, m)];
      case 'mes-anterior': return [new Date(a, m - 1, 1), fim(a, m - 1)];
      case 'trimestre': { const t = m - (m % 3); return [new Date(a, t, 1), fim(a, t + 2)]; }
      case 'ano': return [new Date(a, 0, 1), new Date(a, 11, 31)];
      case '12m': return [new Date(a, m - 11, 1), fim(a, m)];
      default: return null;
    }
  }
  // The previous period of equal length, and the same period a year before.
  function comparacoes(de, ate) {
    if (!de || !ate) return null;
    const d0 = dia(de); const d1 = dia(ate);
    const dias = Math.round((d1 - d0) / 86400000);
    const antFim = new Date(d0.getFullYear(), d0.getMonth(), d0.getDate() - 1);
    const antIni = new Date(antFim.getFullYear(), antFim.getMonth(), antFim.getDate() - dias);
    const menosUmAno = (d) => { const x = new Date(d.getFullYear() - 1, d.getMonth(), d.getDate()); return x.getMonth() === d.getMonth() ? x : new Date(d.getFullYear() - 1, d.getMonth() + 1, 0); };
    return { anterior: { de: iso(antIni), ate: iso(antFim) }, anoAnterior: { de: iso(menosUmAno(d0)), ate: iso(menosUmAno(d1)) } };
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

  // Card fields and how their deltas are compared.
  const CARTOES = [['k-liq-u', 'liquidas_unidades'], ['k-liq-v', 'liquidas_valor'], ['k-vgv', 'vgv'], ['k-ticket', 'ticket_medio'],
    ['k-dist', 'distratos_unidades'], ['k-com', 'comissao_valor'], ['k-vso', 'vso'], ['k-pro', 'prosoluto_valor']];
  function variacao(atual, base) {
    if (base === null || base === undefined || atual === null || atual === undefined || Number(base) === 0) return '<span>–</span>';
    const v = (Number(atual) - Number(base)) / Math.abs(Number(base));
    return '<span class="' + (v >= 0 ? 'sobe' : 'desce') + '">' + (v >= 0 ? '▲ ' : '▼ ') + pct.format(Math.abs(v)) + '</span>';
  }
  function deltas(k, anterior, anoAnterior) {
    for (const [id, campo] of CARTOES) {
      const cartao = $(id).parentElement;
      let d = cartao.querySelector('.delta');
      if (!d) { d = document.createElement('small'); d.className = 'delta'; cartao.appendChild(d); }
      d.innerHTML = anterior
        ? variacao(k[campo], (anterior[0] || {})[campo]) + ' vs período anterior · ' + variacao(k[campo], (anoAnterior[0] || {})[campo]) + ' vs ano anterior'
        : 'Escolha um período (de e até) para comparar';
    }
  }

  function linhas(corpo, rows, celulas, numericas, vazio) {
    const tb = $(corpo); tb.innerHTML = '';
    for (const r of rows) {
      const tr = document.createElement('tr');
      celulas(r).forEach((c, i) => { const td = document.createElement('td'); td.textContent = c ?? '–'; if (numericas.includes(i)) td.className = 'num'; tr.appendChild(td); });
      tb.appendChild(tr);
    }
    if (!rows.length) tb.innerHTML = '<tr><td colspan="' + (numericas.length + 2) + '">' + vazio + '</td></tr>';
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

  // The funnel's stages from its 'total' line, each with its conversion from the stage before
  // and the median days since it; the items whose lead is unknown are named apart, not hidden.
  function funilComercial(rows) {
    const t = rows.find((r) => r.dimensao === 'total');
    const taxa = (v) => (v === null || v === undefined ? '–' : pct.format(v));
    const dias = (v) => (v === null || v === undefined ? '–' : Number(v).toFixed(1).replace('.', ','));
    const etapas = t ? [
      ['Leads', t.leads, null, null],
      ['Atendimento / visita', t.atendimentos, t.taxa_atendimento, t.dias_lead_atendimento],
      ['Reserva', t.reservas, t.taxa_reserva, t.dias_atendimento_reserva],
      ['Venda líquida', t.vendas, t.taxa_venda, t.dias_reserva_venda],
    ] : [];
    linhas('funil-linhas', etapas, (e) => [e[0], inteiro.format(num(e[1])), e[2] === null ? '–' : taxa(e[2]), dias(e[3])],
      [1, 2, 3], 'Nenhum lead no período.');
    const sem = rows.find((r) => r.dimensao === 'sem_lead');
    $('funil-sem-lead').textContent = (t ? 'Lead → venda: ' + taxa(t.taxa_total) + '. ' : '') + (sem
      ? 'Fora do funil (lead desconhecido): ' + inteiro.format(num(sem.reservas)) + ' reservas, ' + inteiro.format(num(sem.vendas)) + ' vendas líquidas.'
      : '');
    linhas('funil-midia-linhas', rows.filter((r) => r.dimensao === 'midia'), (r) => [r.nome, inteiro.format(num(r.leads)),
      inteiro.format(num(r.atendimentos)), inteiro.format(num(r.reservas)), inteiro.format(num(r.vendas)), taxa(r.taxa_total)],
      [1, 2, 3, 4, 5], 'Nenhum lead no período.');
  }

  async function atualizar() {
    const f = filtros();
    const txt = (f.de ? dataBR(f.de) : 'início') + ' a ' + (f.ate ? dataBR(f.ate) : 'hoje');
    $('periodo').textContent = 'Período: ' + txt + (f.tenant ? ' · conta ' + f.tenant : '');
    const fp = so(f, PESSOAS);
    const comp = comparacoes(f.de, f.ate);
    // The comparisons keep every filter but the period, so a delta compares like with like.
    const base = so(f, ['tenant', 'empreendimento', 'corretor', 'time', 'imobiliaria']);
    const [k, mensal, anos, emp, cor, times, vso, pro, etl, tab, kAnt, kAno, estoque, reservas, distratos, repasses, metas, funil] = await Promise.all([
      api('/api/kpis', fp), api('/api/vendas-mensais', fp), api('/api/ano-atual-vs-passado', fp),
      api('/api/vendas-empreendimentos', fp), api('/api/vendas-corretores', fp), api('/api/vendas-times', fp),
      api('/api/vso-mensal', so(f, PERIODO)), api('/api/prosoluto', fp),
      // The ETL status needs an admin key, and a key of several tenants pages the table per
      // tenant (400 without one): a viewer's dashboard shows those two empty, not broken.
      api('/api/etl/status', f.tenant ? { tenant: f.tenant } : {}).catch(() => ({ rows: [] })),
      api('/api/tabela-geral', Object.assign({ per_page: 20 }, fp)).catch(() => ({ rows: [], total: 0 })),
      comp ? api('/api/kpis', Object.assign({}, base, comp.anterior)) : null,
      comp ? api('/api/kpis', Object.assign({}, base, comp.anoAnterior)) : null,
      api('/api/estoque', so(f, ['tenant', 'empreendimento', 'ate'])),
      api('/api/reservas-em-andamento', so(f, ['tenant', 'empreendimento', 'ate', 'corretor', 'time', 'imobiliaria'])),
      api('/api/distratos', fp),
      api('/api/repasses', so(f, ['tenant', 'ate', 'empreendimento'])),
      api('/api/metas', so(f, ['tenant', 'de', 'ate'])),
      api('/api/funil', so(f, ['tenant', 'de', 'ate', 'empreendimento', 'corretor', 'imobiliaria'])),
    ]);
    kpis(k.rows);
    deltas(k.rows[0] || {}, kAnt && kAnt.rows, kAno && kAno.rows);

    linhas('estoque-linhas', estoque.rows, (r) => [r.empreendimento || ('#' + r.idempreendimento), r.tipologia, inteiro.format(num(r.disponiveis)),
      inteiro.format(num(r.reservadas)), inteiro.format(num(r.bloqueadas)), brl.format(num(r.vgv_estoque)),
      r.meses_de_estoque === null ? '–' : Number(r.meses_de_estoque).toFixed(1).replace('.', ',')], [2, 3, 4, 5, 6], 'Sem unidades.');
    linhas('reservas-linhas', reservas.rows, (r) => [r.situacao, r.faixa_idade, inteiro.format(num(r.reservas)), brl.format(num(r.valor)),
      Number(r.idade_media_dias).toFixed(1).replace('.', ',')], [2, 3, 4], 'Nenhuma reserva em andamento.');
    const progresso = (v) => (v === null || v === undefined ? '–' : pct.format(v));
    linhas('metas-linhas', metas.rows, (r) => [mesBR(r.mes), r.escopo + ' #' + r.id, inteiro.format(num(r.meta_unidades)),
      inteiro.format(num(r.realizado_unidades)), progresso(r.progresso_unidades), brl.format(num(r.meta_valor)),
      brl.format(num(r.realizado_valor)), progresso(r.progresso_valor)], [2, 3, 4, 5, 6, 7], 'Nenhuma meta no período (cvdw metas import).');
    const dias = (v) => (v === null || v === undefined ? '–' : Number(v).toFixed(0));
    linhas('repasses-linhas', repasses.rows, (r) => [r.situacao, inteiro.format(num(r.itens)), brl.format(num(r.valor)),
      dias(r.dias_mediana_na_etapa), inteiro.format(num(r.parados)), dias(r.dias_mediana_venda_repasse)], [1, 2, 3, 4, 5], 'Nenhum repasse.');
    funilComercial(funil.rows);
    const porEmp = distratos.rows.filter((r) => r.dimensao === 'empreendimento');
    linhas('distratos-linhas', porEmp, (r) => [r.nome || ('#' + r.id), inteiro.format(num(r.vendas)), inteiro.format(num(r.distratos)),
      r.taxa === null ? '–' : pct.format(r.taxa), r.dias_mediana === null ? '–' : inteiro.format(r.dias_mediana)], [1, 2, 3, 4], 'Sem vendas no período.');
    const motivos = distratos.rows.filter((r) => r.dimensao === 'motivo');
    grafico('g-dist-motivo', { type: 'bar', data: { labels: motivos.map((r) => r.nome), datasets: [
      { label: 'Distratos', data: motivos.map((r) => num(r.distratos)), backgroundColor: '#c62828' },
    ] }, options: { indexAxis: 'y', plugins: { legend: { display: false } } } });

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
    $('csv-link').href = '/api/tabela-geral?' + new URLSearchParams(Object.assign({ format: 'csv' }, fp));
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
    $('f-preset').addEventListener('change', () => {
      const p = preset($('f-preset').value, new Date());
      if (p) { $('f-de').value = iso(p[0]); $('f-ate').value = iso(p[1]); atualizar().catch(falha); }
    });
    for (const id of ['f-de', 'f-ate']) $(id).addEventListener('input', () => { $('f-preset').value = ''; });
    $('f-tenant').addEventListener('change', () => { carregarEmpreendimentos().then(atualizar).catch(falha); });
    $('sair').addEventListener('click', async () => { await fetch('/logout', { method: 'POST', credentials: 'same-origin' }); mostrarLogin(); });
    iniciar().catch(falha);
  });
})();
