//! Rendering rows to JSON, one page at a time.
//!
//! Each object has a field list (name, JSON type): the documented one (docs/cvdw-api.md §8/§9, in
//! [`crate::fields`]) or, for objects the reference has no list for, `referencia`,
//! `referencia_data`, `ativo` (where the object has it), the key fields, the id of the parent
//! entity and `data_cad`. A field is resolved in three steps: object-specific meaning
//! (`valor` of a condition, `situacao` of a commission...), then the row's context (the
//! reservation, its unit, development, broker, agency, lead and customer), then deterministic
//! filler of the documented type. So one sale shows the same values everywhere.

use std::sync::OnceLock;

use serde_json::{json, Value};
use shared::catalogue::{ObjectSpec, OBJECTS};

use crate::fields::{integer, number, text, FieldDef, FieldKind};
use crate::names::*;
use crate::world::*;

type FieldList = Vec<FieldDef>;

fn field_lists() -> &'static [FieldList] {
    static LISTS: OnceLock<Vec<FieldList>> = OnceLock::new();
    LISTS.get_or_init(|| OBJECTS.iter().map(build_fields).collect())
}

fn build_fields(spec: &ObjectSpec) -> FieldList {
    let mut out: FieldList = match crate::fields::listed(spec.path) {
        Some(listed) => listed.fields.to_vec(),
        None => minimal_fields(spec),
    };
    // Every row carries `ativo` where the object has it, and its key fields.
    if spec.has_ativo && !out.iter().any(|f| f.name == "ativo") {
        out.insert(2.min(out.len()), text("ativo"));
    }
    if !spec.has_ativo {
        out.retain(|f| f.name != "ativo");
    }
    for k in spec.key {
        if !out.iter().any(|f| f.name == *k) {
            out.push(integer(k));
        }
    }
    // Fields practitioners receive that the spec lacks (§7.3, §8 `/reservas` notes).
    if spec.path == "/reservas" {
        out.extend_from_slice(&[
            integer("idtime"),
            text("nome_time"),
            integer("idgestor_time"),
            number("valor_contrato_com_juros"),
            number("vgv_tabela_minima"),
        ]);
    }
    if spec.path == "/unidades/situacao" {
        out.extend_from_slice(&[
            integer("idhistorico"),
            integer("idunidade"),
            text("unidade"),
            text("bloco"),
            text("etapa"),
            integer("idempreendimento"),
            text("empreendimento"),
            text("de_situacao"),
            text("para_situacao"),
            text("data_cad"),
        ]);
        out.dedup_by(|a, b| a.name == b.name);
    }
    out
}

fn minimal_fields(spec: &ObjectSpec) -> FieldList {
    let mut out: FieldList = vec![text("referencia"), text("referencia_data")];
    if spec.has_ativo {
        out.push(text("ativo"));
    }
    let p = spec.path;
    for k in spec.key {
        out.push(integer(k));
    }
    let parent: Option<&'static str> = if p.starts_with("/leads") || p == "/campos_adicionais" {
        Some("idlead")
    } else if p.starts_with("/pessoas") || p.starts_with("/pesquisas/respostas") {
        Some("idpessoa")
    } else if p.starts_with("/assistencias/itens") {
        Some("idassistencia_item")
    } else if p.starts_with("/assistencias/visitas") {
        Some("idvisita")
    } else if p.starts_with("/assistencias") {
        Some("idassistencia")
    } else if p.starts_with("/atendimentos") {
        Some("idatendimento")
    } else if p.starts_with("/comissoes") {
        Some("idcomissao")
    } else if p.starts_with("/precadastro") {
        Some("idprecadastro")
    } else if p.starts_with("/repasses") {
        Some("idrepasse")
    } else if p.starts_with("/reservas") || p == "/agendamentos/vistorias" || p == "/processos" {
        Some("idreserva")
    } else {
        None
    };
    if let Some(par) = parent {
        if !out.iter().any(|f| f.name == par) {
            out.push(integer(par));
        }
    }
    if p.ends_with("/workflow/tempo") {
        out.extend_from_slice(&[
            integer("idsituacao"),
            text("situacao"),
            text("sigla"),
            integer("tempo"),
        ]);
    } else if p.ends_with("/historico/situacoes") {
        out.extend_from_slice(&[
            integer("de"),
            integer("para"),
            text("de_nome"),
            text("para_nome"),
            text("usuario"),
            integer("idusuario"),
        ]);
    } else if p.starts_with("/leads") || p == "/campos_adicionais" || p == "/pesquisas/respostas" {
        out.extend_from_slice(&[text("nome"), integer("idcorretor"), text("corretor")]);
    } else if p.starts_with("/pessoas") {
        out.extend_from_slice(&[text("nome"), text("documento"), text("email")]);
    } else if matches!(
        parent,
        Some("idreserva" | "idassistencia" | "idatendimento")
    ) {
        out.extend_from_slice(&[
            integer("idempreendimento"),
            text("empreendimento"),
            text("bloco"),
            text("unidade"),
            text("cliente"),
            text("situacao"),
        ]);
    } else {
        out.extend_from_slice(&[text("nome"), text("descricao")]);
    }
    out.push(text("data_cad"));
    out
}

/// The fields an object serves with their documented JSON kind.
pub fn field_types(path: &str) -> Vec<FieldDef> {
    OBJECTS
        .iter()
        .position(|o| o.path == path)
        .map(|oi| field_lists()[oi].clone())
        .unwrap_or_default()
}

/// The field names an object serves (without the quirk-dependent nested arrays dropped).
pub fn field_names(path: &str) -> Vec<&'static str> {
    OBJECTS
        .iter()
        .position(|o| o.path == path)
        .map(|oi| field_lists()[oi].iter().map(|f| f.name).collect())
        .unwrap_or_default()
}

fn money(c: i64) -> Value {
    if c % 100 == 0 {
        Value::from(c / 100)
    } else {
        Value::from(c as f64 / 100.0)
    }
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' => 'a',
            'é' | 'ê' => 'e',
            'í' => 'i',
            'ó' | 'ô' | 'õ' => 'o',
            'ú' | 'ü' => 'u',
            'ç' => 'c',
            'Á' | 'Â' | 'Ã' => 'A',
            'É' | 'Ê' => 'E',
            'Í' => 'I',
            'Ó' | 'Ô' => 'O',
            'Ú' => 'U',
            'Ç' => 'C',
            c => c,
        })
        .collect()
}

/// Deterministic person data for pessoa `p` (= lead index; ids are index + 1). Cheap: the
/// name is only assembled when asked for.
struct Person {
    first: &'static str,
    s1: &'static str,
    s2: &'static str,
    female: bool,
    h: u64,
}

impl Person {
    fn nome(&self) -> String {
        format!("{} {} {}", self.first, self.s1, self.s2)
    }
}

fn person(seed: u64, salt: u64, p: u32) -> Person {
    let h = h3(seed, salt, p as u64);
    let female = h & 1 == 1;
    let pool = if female { FIRST_F } else { FIRST_M };
    Person {
        first: pool[(h >> 8) as usize % pool.len()],
        s1: SURNAMES[(h >> 20) as usize % SURNAMES.len()],
        s2: SURNAMES[(h >> 32) as usize % SURNAMES.len()],
        female,
        h,
    }
}

struct R<'a> {
    w: &'a World,
    spec: &'static ObjectSpec,
    oi: usize,
    pos: u32,
    row: Row,
    lead: Option<u32>,
    res: Option<u32>,
    uni: Option<u32>,
    cor: Option<u32>,
    emp: Option<u32>,
    imob: Option<u32>,
}

impl<'a> R<'a> {
    fn new(w: &'a World, oi: usize, pos: u32) -> Self {
        let row = w.tables[oi].rows[pos as usize];
        let mut r = R {
            w,
            spec: &OBJECTS[oi],
            oi,
            pos,
            row,
            lead: None,
            res: None,
            uni: None,
            cor: None,
            emp: None,
            imob: None,
        };
        let c = row.ctx;
        match w.defs[oi].ctx {
            Ctx::Lead => r.set_lead(c),
            Ctx::Reserva | Ctx::Sold => r.set_res(c),
            Ctx::Unidade => r.set_uni(c),
            Ctx::Preco => r.set_uni(c),
            Ctx::Corretor => r.set_cor(c),
            Ctx::Imob => r.imob = Some(c),
            Ctx::Time => r.set_cor(w.times[c as usize].gestor),
            Ctx::Integrante => r.set_cor(w.integrantes[c as usize].corretor),
            Ctx::Condicao => r.set_res(w.condicoes[c as usize].reserva),
            Ctx::Comissao => r.set_res(w.comissoes[c as usize].reserva),
            Ctx::Pagamento => {
                let com = w.pagamentos[c as usize].comissao;
                r.set_res(w.comissoes[com as usize].reserva)
            }
            Ctx::Repasse => r.set_res(w.repasses[c as usize].reserva),
            Ctx::Assoc => {
                r.set_res(w.assocs[c as usize].reserva);
                r.lead = Some(w.assocs[c as usize].pessoa);
            }
            Ctx::HistRes => r.set_res(w.hist_res[c as usize].reserva),
            Ctx::HistUni => r.set_uni(w.hist_uni[c as usize].unidade),
            Ctx::None => {}
        }
        r
    }
    fn set_cor(&mut self, c: u32) {
        self.cor = Some(c);
        self.imob = Some(self.w.corretores[c as usize].imob);
    }
    fn set_uni(&mut self, u: u32) {
        self.uni = Some(u);
        let b = self.w.unidades[u as usize].bloco;
        self.emp = Some(self.w.blocos[b as usize].emp);
    }
    fn set_lead(&mut self, l: u32) {
        self.lead = Some(l);
        let lead = &self.w.leads[l as usize];
        self.set_cor(lead.corretor);
        self.emp = Some(lead.emp);
        // Not the lead's reservation: it appears later, and rows must not change content
        // without their `referencia_data` moving (incremental sync depends on it).
    }
    fn set_res(&mut self, r: u32) {
        self.res = Some(r);
        let res = &self.w.reservas[r as usize];
        self.set_uni(res.unidade);
        self.set_cor(res.corretor);
        self.lead = Some(res.lead);
    }

    fn h(&self, salt: u64) -> u64 {
        h3(
            self.w.seed ^ ((self.oi as u64) << 40),
            self.pos as u64,
            salt,
        )
    }
    fn q(&self) -> crate::Quirks {
        self.w.quirks
    }
    /// An optional string that is absent: `""` under the quirk, else `null`.
    fn absent(&self) -> Value {
        if self.q().empty_strings {
            Value::from("")
        } else {
            Value::Null
        }
    }
    fn zero_date(&self, date_only: bool) -> Value {
        Value::from(if date_only {
            "0000-00-00"
        } else {
            "0000-00-00 00:00:00"
        })
    }
    fn refdt_value(&self) -> Value {
        let s = self.row.state;
        if s & REF_NULL != 0 {
            Value::Null
        } else if s & REF_ZERO != 0 {
            self.zero_date(false)
        } else {
            Value::from(fmt_dt(self.row.refdt))
        }
    }
    fn cad_value(&self) -> Value {
        if self.row.state & REF_ZERO != 0 {
            self.zero_date(false)
        } else if self.row.state & REF_NULL != 0 {
            Value::Null
        } else {
            Value::from(fmt_dt(self.row.cad))
        }
    }
    fn imob_name(&self, i: u32) -> Value {
        let base = IMOB_NAMES[self.w.imobs[i as usize].nome as usize];
        let n = i as usize / IMOB_NAMES.len();
        let name = if n > 0 {
            format!("{base} {}", n + 1)
        } else {
            base.to_string()
        };
        if self.q().html_entities {
            Value::from(name.replace('&', "&amp;"))
        } else {
            Value::from(name)
        }
    }
    fn corretor_name(&self, c: u32) -> String {
        person(self.w.seed, 0xC0, c).nome()
    }
    fn emp_of_unit(&self, u: u32) -> (&'a Emp, &'a Bloco) {
        let b = &self.w.blocos[self.w.unidades[u as usize].bloco as usize];
        (&self.w.emps[b.emp as usize], b)
    }
    fn unit_name(&self, u: u32) -> String {
        let unit = &self.w.unidades[u as usize];
        let (emp, _) = self.emp_of_unit(u);
        if emp.horizontal {
            format!("CASA {:02}", unit.coluna)
        } else {
            format!("APTO {}{:02}", unit.andar, unit.coluna)
        }
    }
    fn bloco_name(&self, b: u32) -> String {
        let bl = &self.w.blocos[b as usize];
        if self.w.emps[bl.emp as usize].horizontal {
            format!("Quadra {:02}", bl.n)
        } else {
            let letter = (b'A' + ((bl.n - 1) % 26) as u8) as char;
            if bl.n <= 26 {
                format!("Bloco {letter}")
            } else {
                format!("Bloco {letter}{}", (bl.n - 1) / 26 + 1)
            }
        }
    }
    fn etapa_name(&self, e: u32) -> String {
        format!("{}ª Etapa", self.w.etapas[e as usize].n)
    }
    fn time_name(&self, t: u32) -> String {
        const GREEK: &[&str] = &[
            "Alfa", "Beta", "Gama", "Delta", "Ômega", "Sigma", "Zeta", "Kappa",
        ];
        let n = t as usize;
        if n < GREEK.len() {
            format!("Equipe {}", GREEK[n])
        } else {
            format!("Equipe {} {}", GREEK[n % GREEK.len()], n / GREEK.len() + 1)
        }
    }
    fn serie_sum(&self, r: u32, serie: Serie) -> i64 {
        let res = &self.w.reservas[r as usize];
        (res.cond_start..res.cond_start + res.cond_n as u32)
            .map(|c| &self.w.condicoes[c as usize])
            .filter(|c| c.serie == serie)
            .map(|c| c.valor)
            .sum()
    }
    fn idlead_value(&self, r: u32) -> Value {
        let res = &self.w.reservas[r as usize];
        let main = res.lead + 1;
        if !self.q().idlead_csv {
            return Value::from(main.to_string());
        }
        let h = h3(self.w.seed, 0x1EAD, r as u64);
        let extra = (h % 4) as usize; // 0..3, mostly one id
        let mut s = main.to_string();
        if extra == 3 {
            for k in 0..2u64 {
                let other = (h3(h, k, 7) % (res.lead as u64 + 1)) as u32 + 1;
                s.push_str(&format!(", {other}"));
            }
        }
        Value::from(s)
    }

    /// The value of `field` for this row.
    fn field(&self, field: &'static str, kind: FieldKind) -> Option<Value> {
        if let Some(v) = self.object_field(field) {
            return Some(v);
        }
        if let Some(v) = self.context_field(field) {
            return Some(v);
        }
        self.filler(field, kind)
    }

    /// The dirty value of a field the metrics read, for the rows [`crate::dirt`] picks.
    fn dirty_field(&self, f: &str) -> Option<Value> {
        let seed = self.w.seed;
        match (self.spec.path, f) {
            ("/vendas", "data_venda")
            | ("/distratos", "situacao_data")
            | ("/comissoes", "data_cad") => crate::dirt::no_event_date(seed, self.oi, self.pos),
            ("/vendas", "valor_contrato") => crate::dirt::no_valor_contrato(seed, self.pos),
            ("/reservas", "idtime" | "nome_time" | "idgestor_time") => {
                crate::dirt::reserva_without_team(seed, self.row.ctx).then_some(Value::Null)
            }
            _ => None,
        }
    }

    fn object_field(&self, f: &str) -> Option<Value> {
        if self.q().metric_dirt {
            if let Some(v) = self.dirty_field(f) {
                return Some(v);
            }
        }
        let w = self.w;
        let c = self.row.ctx as usize;
        let path = self.spec.path;
        let v = match (path, f) {
            (_, "referencia_data") => self.refdt_value(),
            (_, "ativo") => Value::from(if self.row.state & ATIVO_N != 0 {
                "N"
            } else {
                "S"
            }),
            (_, "data_cad" | "data_cadastro") => self.cad_value(),
            (_, "data_modificacao" | "data_ultima_alteracao" | "data_sincronizacao") => {
                if self.row.state & (REF_NULL | REF_ZERO) != 0 {
                    self.refdt_value()
                } else {
                    Value::from(fmt_dt(self.row.refdt))
                }
            }
            ("/reservas/condicoes", _) => {
                let cond = &w.condicoes[c];
                match f {
                    "idreservascondicoes" => Value::from(c as u64 + 1),
                    "serie" => Value::from(cond.serie.nome()),
                    "parcela_quantidade" => Value::from(cond.parcelas),
                    "valor"
                    | "valor_com_juros"
                    | "valor_sem_comissao"
                    | "valor_com_comissao_fora_do_contrato" => money(cond.valor),
                    "vencimento" => Value::from(fmt_date(cond.venc)),
                    "portador" => Value::from(if cond.serie == Serie::Financiamento {
                        BANCOS[(self.h(1) % BANCOS.len() as u64) as usize]
                    } else {
                        "Carteira"
                    }),
                    "indexador" => Value::from(if cond.serie.is_financing() {
                        "Sem correção"
                    } else {
                        "INCC"
                    }),
                    "data_reservas_condicoes" => Value::from(fmt_dt(self.row.cad)),
                    _ => return None,
                }
            }
            ("/comissoes", _) => {
                let com = &w.comissoes[c];
                let pago_tot = com.n_pagas >= com.parcelas;
                match f {
                    "idcomissao" => Value::from(c as u64 + 1),
                    "situacao" => Value::from(if pago_tot {
                        "Comissão Paga (3)"
                    } else if com.n_pagas > 0 {
                        "Comissão Parcialmente Paga (2)"
                    } else {
                        "Comissão Gerada (1)"
                    }),
                    "idsituacao" => Value::from(if pago_tot {
                        3
                    } else if com.n_pagas > 0 {
                        2
                    } else {
                        1
                    }),
                    "porcentagem_comissao" => money(com.bp as i64),
                    "valor_comissao" => money(com.valor),
                    "valor_comissao_apagar" => money(com.valor - com.pago),
                    "valor_pagamento" => money(com.pago),
                    "nota_fiscal" => {
                        if com.n_pagas > 0 {
                            Value::from(format!("{}", 1000 + c))
                        } else {
                            self.absent()
                        }
                    }
                    "data_pagamento" => {
                        if com.n_pagas > 0 {
                            Value::from(fmt_date(com.last_pag))
                        } else {
                            Value::Null
                        }
                    }
                    "numero" => Value::Null,
                    _ => return None,
                }
            }
            ("/comissoes/pagamentos", _) => {
                let p = &w.pagamentos[c];
                match f {
                    "idpagamento" => Value::from(c as u64 + 1),
                    "idcomissao" => Value::from(p.comissao as u64 + 1),
                    "valor" => money(p.valor),
                    "vencimento" => Value::from(fmt_date(p.venc)),
                    "situacao" => Value::from("Pago"),
                    _ => return None,
                }
            }
            ("/distratos", _) => {
                let res = &w.reservas[c];
                match f {
                    "situacao_atual" => Value::from("Distrato"),
                    "idsituacao" => Value::from(ReservaSituacao::Distrato.id()),
                    "situacao_data" => Value::from(fmt_dt(res.distrato)),
                    "motivo_distrato" => Value::from(
                        MOTIVOS_DISTRATO[(self.h(2) % MOTIVOS_DISTRATO.len() as u64) as usize],
                    ),
                    "descricao_motivo_distrato" => self.absent(),
                    "venda" => Value::Null,
                    "aprovada" => Value::from("Sim"),
                    _ => return None,
                }
            }
            ("/unidades", _) => {
                let u = &w.unidades[c];
                let (emp, _) = self.emp_of_unit(c as u32);
                let holder = (u.holder != NONE).then(|| &w.reservas[u.holder as usize]);
                match f {
                    "referencia" => Value::from(c as u64 + 1),
                    "idunidade" => Value::from((c + 1).to_string()),
                    "nome" => Value::from(self.unit_name(c as u32)),
                    "valor" => Value::from(format!("{:.2}", u.preco as f64 / 100.0)),
                    "valor_avaliacao" => {
                        Value::from(format!("{:.2}", u.preco as f64 * 1.03 / 100.0))
                    }
                    "area_comum" => Value::from(format!("{:.2}", u.area as f64 * 0.35 / 100.0)),
                    "vagas_garagem" => Value::from(((u.tip / 2) + 1).to_string()),
                    "andar" => Value::from(u.andar.to_string()),
                    "coluna" => Value::from(u.coluna),
                    "data_entrega" | "data_entrega_chaves" => Value::from(fmt_br_date(emp.entrega)),
                    "data_bloqueio" => {
                        if u.sit == UnidadeSituacao::Bloqueada {
                            Value::from(fmt_br_date(self.row.cad))
                        } else {
                            Value::Null
                        }
                    }
                    "situacao_reservada" => {
                        holder.map_or(Value::Null, |_| Value::from(u.holder as u64 + 1))
                    }
                    "situacao_reservada_idsituacao" => {
                        holder.map_or(Value::Null, |r| Value::from(r.sit.id()))
                    }
                    "situacao_reservada_nomesituacao" => {
                        holder.map_or(Value::Null, |r| Value::from(r.sit.nome()))
                    }
                    "situacao_reservada_vencimento" => {
                        holder.map_or(Value::Null, |r| Value::from(fmt_dt(r.cad + 7 * DAY)))
                    }
                    "situacao_nome" => holder.map_or(self.absent(), |r| {
                        Value::from(person(w.seed, 0xB0, r.lead).nome())
                    }),
                    "situacao_vendida" => match holder {
                        Some(r) if r.venda > 0 => Value::from(u.holder as u64 + 1),
                        _ => Value::Null,
                    },
                    "situacao_vendida_idsituacao" => match holder {
                        Some(r) if r.venda > 0 => Value::from(ReservaSituacao::Vendida.id()),
                        _ => Value::Null,
                    },
                    "situacao_bloqueada" | "situacao_bloqueados_internos" => {
                        Value::from(if u.sit == UnidadeSituacao::Bloqueada {
                            "S"
                        } else {
                            "N"
                        })
                    }
                    "situacao_bloqueada_motivo" => {
                        if u.sit == UnidadeSituacao::Bloqueada {
                            Value::from("Solicitação da Diretoria")
                        } else {
                            Value::Null
                        }
                    }
                    "situacao_para_venda" => {
                        Value::from(u8::from(u.sit == UnidadeSituacao::Disponivel))
                    }
                    "situacao_mapa_disponibilidade" => Value::from(u.sit.id()),
                    "situacao_reservada_inicio"
                    | "situacao_possui_reserva_solicitacao_distrato" => Value::from("N"),
                    "situacao_tipo_nome" => Value::from(if emp.horizontal {
                        "Casa"
                    } else {
                        "Apartamento"
                    }),
                    "situacao_tipo_id" => Value::from(if emp.horizontal { 2 } else { 1 }),
                    "situacao_cor_bg" => Value::from(
                        ["2e7d32", "f9a825", "c62828", "616161"][(u.sit.id() as usize - 1).min(3)],
                    ),
                    "situacao_cor_nome" => Value::from("ffffff"),
                    "plantas" => {
                        json!([{"idplanta": u.tip as u32 + 1, "nome": format!("Planta {:02}", u.tip + 1)}])
                    }
                    "campos_adicionais" => json!([]),
                    _ => return None,
                }
            }
            ("/unidades/precos", _) => {
                let tab = self.pos / w.unidades.len().max(1) as u32;
                let u = &w.unidades[c];
                match f {
                    "idtabela" => Value::from(tab + 1),
                    "tabela" => Value::from(if tab == 0 {
                        "Tabela de Lançamento"
                    } else {
                        "Tabela Vigente"
                    }),
                    "valor" => money(u.preco * (100 + 6 * tab as i64) / 100 / 100 * 100),
                    "valor_avaliacao" => Value::Null,
                    "data_vigencia_de" => Value::from(fmt_date(w.start + tab as i32 * 365 * DAY)),
                    "data_vigencia_ate" => {
                        Value::from(fmt_date(w.start + (tab as i32 + 1) * 365 * DAY - DAY))
                    }
                    _ => return None,
                }
            }
            ("/unidades/situacao", _) => {
                let h = &w.hist_uni[c];
                match f {
                    "idhistorico" => Value::from(c as u64 + 1),
                    "de_situacao" => Value::from(h.de.nome()),
                    "para_situacao" => Value::from(h.para.nome()),
                    _ => return None,
                }
            }
            ("/reservas/historico/situacoes", _) => {
                let h = &w.hist_res[c];
                match f {
                    "idhistorico" => Value::from(c as u64 + 1),
                    "de" => Value::from(h.de.id()),
                    "para" => Value::from(h.para.id()),
                    "de_nome" => Value::from(h.de.nome()),
                    "para_nome" => Value::from(h.para.nome()),
                    "usuario" => Value::from(self.corretor_name(self.cor.unwrap_or(0))),
                    "idusuario" => Value::from(self.cor.unwrap_or(0) as u64 + 1),
                    _ => return None,
                }
            }
            ("/reservas/associados", _) => {
                let a = &w.assocs[c];
                let p = person(w.seed, 0xB0, a.pessoa);
                match f {
                    "idassociado" => Value::from(c as u64 + 1),
                    "idpessoa" => Value::from(a.pessoa as u64 + 1),
                    "idconjuge" => Value::Null,
                    "nome" => Value::from(p.nome()),
                    "documento" => Value::from(format!("{:011}", p.h % 100_000_000_000)),
                    "renda_familiar" => money(((p.h >> 12) % 30_000 + 2_000) as i64 * 100),
                    "tipo_associacao" => Value::from(if (p.h >> 5) & 1 == 1 {
                        "Cônjuge"
                    } else {
                        "Co-comprador"
                    }),
                    _ => return None,
                }
            }
            ("/repasses", _) => {
                let r = w.repasses[c].reserva;
                let res = &w.reservas[r as usize];
                let steps = ((self.row.refdt - res.venda) / (45 * DAY)).clamp(0, 4) as usize;
                const SITS: [&str; 5] = [
                    "Aguardando documentação",
                    "Análise de crédito",
                    "Contrato assinado",
                    "Cartório",
                    "Concluído",
                ];
                let fin = self.serie_sum(r, Serie::Financiamento);
                match f {
                    "idrepasse" => Value::from(c as u64 + 1),
                    "idsituacao" => Value::from(steps as u64 + 1),
                    "situacao" => Value::from(SITS[steps]),
                    "valor_financiado" | "valor_previsto" => money(fin),
                    "saldo_devedor" => money(if steps == 4 { 0 } else { fin }),
                    "valor_divida" => money(res.valor),
                    "banco" => Value::from(BANCOS[(self.h(3) % BANCOS.len() as u64) as usize]),
                    "contrato_quitado" | "contrato_liquidado" | "registro_pago" | "itbi_pago"
                    | "laudemio_pago" => Value::from(if steps == 4 { "S" } else { "N" }),
                    "idcontrato" | "numero_contrato" => Value::from(format!("{}", 150_000 + c)),
                    "parcela" => Value::from("Não"),
                    "contrato" => Value::from("Adimplente"),
                    "campos_adicionais" => json!([]),
                    _ => return None,
                }
            }
            ("/leads", _) => {
                let l = &w.leads[c];
                match f {
                    "idsituacao" => Value::from(l.sit),
                    "situacao" => Value::from(SITUACOES_LEAD[(l.sit as usize - 1).min(4)].1),
                    "nome" => Value::from(person(w.seed, 0xB0, c as u32).nome()),
                    "idempreendimento" => Value::from((l.emp + 1).to_string()),
                    "reserva" => Value::from(if l.reserva == NONE {
                        0
                    } else {
                        l.reserva as u64 + 1
                    }),
                    "score" => Value::from(self.h(4) % 101),
                    "midia_original" | "midia_ultimo" | "origem_nome" | "conversao_original" => {
                        Value::from(MIDIAS[l.midia as usize])
                    }
                    "idorigem" | "idorigem_ultimo" => {
                        if self.q().empty_strings && self.h(5).is_multiple_of(50) {
                            Value::from(false)
                        } else {
                            Value::from(l.midia as u64 + 1)
                        }
                    }
                    "novo" => Value::from(if l.sit == 1 { "S" } else { "N" }),
                    "campos_adicionais" => json!([{"nome": "Renda declarada", "valor": "Sim"}]),
                    _ => return None,
                }
            }
            ("/corretores", _) => match f {
                "nome" => Value::from(self.corretor_name(c as u32)),
                "apelido" => Value::from(person(w.seed, 0xC0, c as u32).first),
                "ativo_login" => Value::from(if self.row.state & ATIVO_N != 0 {
                    "N"
                } else {
                    "S"
                }),
                "documento" => Value::from(format!(
                    "{:011}",
                    person(w.seed, 0xC0, c as u32).h % 100_000_000_000
                )),
                "vencimento_creci" => {
                    if self.q().zero_dates && self.h(6).is_multiple_of(5) {
                        self.zero_date(true)
                    } else {
                        Value::from(fmt_date(self.row.cad + 730 * DAY))
                    }
                }
                "creci" => Value::from(format!("{}", 10_000 + c * 7)),
                _ => return None,
            },
            ("/imobiliarias", _) => match f {
                "nome" | "razao_social" => self.imob_name(c as u32),
                "cnpj" => Value::from(format!(
                    "{:014}",
                    h3(w.seed, 0x1B, c as u64) % 100_000_000_000_000
                )),
                "ativo_painel" => Value::from("S"),
                _ => return None,
            },
            ("/atendimentos/times", _) => match f {
                "idtime" => Value::from(c as u64 + 1),
                "idgestor" => Value::from(w.times[c].gestor as u64 + 1),
                "gestor" => Value::from(self.corretor_name(w.times[c].gestor)),
                "nome" => Value::from(self.time_name(c as u32)),
                "descricao" => self.absent(),
                "tempo_redistribuicao" => Value::from(0),
                "direcionar_para" => Value::from("G"),
                "ativo_painel" => Value::from("S"),
                _ => return None,
            },
            ("/atendimentos/times/integrantes", _) => {
                let it = &w.integrantes[c];
                match f {
                    "idintegrante" => Value::from(c as u64 + 1),
                    "idtime" => Value::from(it.time as u64 + 1),
                    "time" => Value::from(self.time_name(it.time)),
                    "idusuario" => Value::from(it.corretor as u64 + 1),
                    "usuario" => Value::from(self.corretor_name(it.corretor)),
                    _ => return None,
                }
            }
            ("/reservas/registros/flags", _) => {
                let res = &w.reservas[c];
                let flag = |t: SimTime| -> (Value, Value) {
                    if t > 0 {
                        (Value::from("Sim"), Value::from(fmt_dt(t)))
                    } else {
                        (Value::Null, Value::Null)
                    }
                };
                let at = match f.trim_start_matches("data_") {
                    "flag_inicio" => res.cad,
                    "flag_analisada" => res.cad + 3600,
                    "flag_aprovada" | "flag_vendida" | "flag_contrato" | "flag_documentos" => {
                        res.venda
                    }
                    "flag_distrato" => res.distrato,
                    "flag_cancelada" => res.cancel,
                    _ if f.contains("flag_") => 0,
                    _ => return None,
                };
                let (a, b) = flag(at);
                if f.starts_with("data_") {
                    b
                } else {
                    a
                }
            }
            ("/vendas", "associados") => {
                let res = &w.reservas[c];
                let mut items = Vec::new();
                if res.assoc != NONE {
                    let a = &w.assocs[res.assoc as usize];
                    items.push(json!({"idpessoa_cv": res.lead + 1, "idtipo_associacao": 1, "tipo_associacao": "Titular", "percentagem_participacao": 50}));
                    items.push(json!({"idpessoa_cv": a.pessoa + 1, "idtipo_associacao": 2, "tipo_associacao": "Co-comprador", "percentagem_participacao": 50}));
                } else {
                    items.push(json!({"idpessoa_cv": res.lead + 1, "idtipo_associacao": 1, "tipo_associacao": "Titular", "percentagem_participacao": 100}));
                }
                Value::Array(items)
            }
            ("/vendas", "data") => Value::Null,
            ("/reservas", "campos_adicionais") => {
                json!([{"referencia": format!("{}_1", c + 1), "referencia_data": fmt_dt(self.row.cad), "idcampo_valores": c + 1, "nome": "Origem da venda", "tipo": "texto", "valor": "Plantão"}])
            }
            ("/reservas", "campos_adicionais_contrato") => json!([]),
            ("/simulacoes", "condicoes_pagamento") => json!([]),
            ("/pessoas/bens-empresa", "bens_empresa") => {
                let h = self.h(12);
                let id = self.lead.unwrap_or(0) + 1;
                let tipo = ["Carro", "Caminhão", "Máquinas", "Imóvel comercial"][(h % 4) as usize];
                json!([{
                    "idpessoa_bem_empresa": (self.pos + 1).to_string(),
                    "data_cad": fmt_dt(self.row.cad),
                    "idpessoa": id.to_string(),
                    "tipo": tipo,
                    "valor_atual": format!("{}.00", (h >> 8) % 400_000 + 20_000),
                    "onus": if h & 16 == 0 { "Sim" } else { "Não" },
                    "numero_parcelas": ((h >> 4) % 48).to_string(),
                    "valor_parcelas_mensais": format!("{}.00", (h >> 12) % 3_000),
                }])
            }
            ("/pessoas/patrimoniais", "novos_bens") => {
                let h = self.h(13);
                if h.is_multiple_of(3) {
                    json!([])
                } else {
                    let city = CITIES[(h % CITIES.len() as u64) as usize];
                    json!([{
                        "idpessoa_novo_bem": (self.pos + 1).to_string(),
                        "data_cad": fmt_dt(self.row.cad),
                        "tipo_novo_bem": "Imóveis",
                        "cep_novo_bem": format!("{:08}", (h >> 8) % 100_000_000),
                        "endereco_novo_bem": STREETS[((h >> 4) % STREETS.len() as u64) as usize],
                        "bairro_novo_bem": "Centro",
                        "valor_onus_mensal_novo_bem": null,
                        "prazo_meses_novo_bem": null,
                        "marca_modelo_automovel_novo_bem": null,
                        "ano_automovel_novo_bem": null,
                        "placa_renavam_automovel_novo_bem": null,
                        "situacao_automovel_novo_bem": null,
                        "quantidade_parcelas_automovel_novo_bem": null,
                        "valor_parcela_automovel_novo_bem": null,
                        "estado": city.1,
                        "cidade": city.0,
                    }])
                }
            }
            (_, "campos_adicionais" | "bens_empresa" | "novos_bens") => json!([]),
            ("/leads/conversoes", "gestor" | "gestor_ultimo" | "idgestor" | "idgestor_ultimo") => {
                let cor = self
                    .cor
                    .map(|c| w.corretores[c as usize].time)
                    .unwrap_or(NONE);
                if cor == NONE {
                    Value::Null
                } else {
                    Value::from(w.times[cor as usize].gestor as u64 + 1)
                }
            }
            ("/leads/conversoes", "empreendimento_ultimo" | "idempreendimento_ultimo") => {
                Value::from(self.emp.unwrap_or(0) as u64 + 1)
            }
            ("/campos_adicionais" | "/reservas/campos-adicionais", _) => {
                const CAMPOS: [(&str, &str, &str); 4] = [
                    ("Origem da venda", "origem_venda", "Plantão"),
                    ("Possui pet", "possui_pet", "Não"),
                    ("Uso do imóvel", "uso_imovel", "Moradia"),
                    ("Como conheceu", "como_conheceu", "Indicação"),
                ];
                let (nome, referencia, valor) = CAMPOS[(self.h(11) % 4) as usize];
                match f {
                    "nome" | "campo_nome" => Value::from(nome),
                    "nome_referencia" => Value::from(referencia),
                    "idcampo" if path == "/campos_adicionais" => {
                        Value::from(referencia.to_uppercase())
                    }
                    "idcampo" => Value::from(self.h(11) % 4 + 1),
                    "valor" => Value::from(valor),
                    "tipo" => Value::from("texto"),
                    "funcionalidade" | "idfuncionalidade" => {
                        Value::from(if path == "/campos_adicionais" {
                            "LEAD"
                        } else {
                            "reserva"
                        })
                    }
                    _ => return None,
                }
            }
            _ => {
                if path.ends_with("/workflow/tempo") {
                    match f {
                        "idsituacao" => Value::from(self.h(7) % 8 + 1),
                        "situacao" => Value::from(
                            ["Novo", "Em andamento", "Aguardando", "Concluído"]
                                [(self.h(7) % 4) as usize],
                        ),
                        "sigla" => Value::from(["NV", "EA", "AG", "CO"][(self.h(7) % 4) as usize]),
                        "tempo" => Value::from(self.h(8) % 20_000),
                        _ => return None,
                    }
                } else if path.ends_with("/historico/situacoes") {
                    let de = self.h(9) % 5 + 1;
                    match f {
                        "de" => Value::from(de),
                        "para" => Value::from(de + 1),
                        "de_nome" => Value::from(format!("Etapa {de}")),
                        "para_nome" => Value::from(format!("Etapa {}", de + 1)),
                        "usuario" => Value::from(self.corretor_name(self.cor.unwrap_or(0))),
                        "idusuario" => Value::from(self.cor.unwrap_or(0) as u64 + 1),
                        _ => return None,
                    }
                } else {
                    return None;
                }
            }
        };
        Some(v)
    }

    fn context_field(&self, f: &str) -> Option<Value> {
        let w = self.w;
        // The row's own generic id: its key field when not a context id.
        if self.spec.key.len() == 1 && self.spec.key[0] == f && !w.defs[self.oi].semantic {
            let ctx_key =
                matches!(f, "idlead" | "idpessoa" | "idreserva") && w.defs[self.oi].one_per;
            if !ctx_key {
                return Some(Value::from(self.pos as u64 + 1));
            }
        }
        if let Some(r) = self.res {
            let res = &w.reservas[r as usize];
            // Rows of objects the world does not touch when a reservation changes (generic
            // satellites) must not show its mutable state: their `referencia_data` would not
            // move, and an incremental sync would miss the change. They get filler instead.
            let mutable = matches!(
                f,
                "data_venda"
                    | "data_contrato"
                    | "data_aprovacao"
                    | "data_primeira_aprovacao"
                    | "data_historico"
                    | "aprovada"
                    | "venda"
                    | "situacao_anterior"
                    | "idsituacao_anterior"
                    | "situacao_comercial"
                    | "data_ultima_alteracao_situacao"
                    | "data_cancelamento"
                    | "motivo_cancelamento"
                    | "descricao_motivo_cancelamento"
                    | "idtipovenda"
                    | "tipovenda"
            );
            if mutable && !w.defs[self.oi].semantic {
                return None;
            }
            let v = match f {
                "idreserva" | "reserva" => Some(Value::from(r as u64 + 1)),
                "data_reserva" | "data_criacao_reserva" => Some(Value::from(fmt_dt(res.cad))),
                "data_venda"
                | "data_contrato"
                | "data_aprovacao"
                | "data_primeira_aprovacao"
                | "data_historico" => Some(if res.venda > 0 {
                    Value::from(fmt_dt(res.venda))
                } else {
                    Value::Null
                }),
                "valor_contrato"
                | "valor_proposta"
                | "valor_contrato_com_juros"
                | "valor_presente" => Some(money(res.valor)),
                "vpl_reserva" => Some(money(res.valor * 97 / 100)),
                "vgv_tabela" => Some(money(w.unidades[res.unidade as usize].preco)),
                "vgv_tabela_minima" => {
                    Some(money(w.unidades[res.unidade as usize].preco * 95 / 100))
                }
                "vpl_tabela" => Some(money(w.unidades[res.unidade as usize].preco * 97 / 100)),
                "valor_financiamento" => Some(money(self.serie_sum(r, Serie::Financiamento))),
                "valor_fgts" => Some(money(self.serie_sum(r, Serie::Fgts))),
                "valor_subsidio" => Some(money(self.serie_sum(r, Serie::Subsidio))),
                "aprovada" => Some(Value::from(if res.venda > 0 { "Sim" } else { "Não" })),
                "venda" => Some(Value::from(if res.venda > 0 { "Sim" } else { "Não" })),
                "situacao" if self.spec.path == "/reservas" => Some(Value::from(res.sit.nome())),
                "idsituacao" if self.spec.path == "/reservas" || self.spec.path == "/vendas" => {
                    Some(Value::from(res.sit.id()))
                }
                "situacao_anterior" => Some(Value::from(res.prev_sit.nome())),
                "idsituacao_anterior" => Some(Value::from(res.prev_sit.id())),
                "situacao_comercial" => Some(Value::from(if res.venda > 0 {
                    "Vendida"
                } else {
                    "Pré-venda"
                })),
                "data_ultima_alteracao_situacao" => Some(Value::from(fmt_dt(
                    res.cad.max(res.venda).max(res.distrato).max(res.cancel),
                ))),
                "data_cancelamento" => Some(if res.cancel > 0 {
                    Value::from(fmt_dt(res.cancel))
                } else {
                    Value::Null
                }),
                "motivo_cancelamento" | "descricao_motivo_cancelamento" => {
                    Some(if res.cancel > 0 {
                        Value::from(
                            MOTIVOS_PERDA[(h3(w.seed, 0xCA, r as u64) % MOTIVOS_PERDA.len() as u64)
                                as usize],
                        )
                    } else {
                        self.absent()
                    })
                }
                "idlead"
                    if matches!(
                        self.spec.path,
                        "/reservas" | "/vendas" | "/repasses" | "/precadastros"
                    ) =>
                {
                    Some(self.idlead_value(r))
                }
                "idtabela" => Some(Value::from(res.tabela as u64 + 1)),
                "nometabela" => Some(Value::from(if res.tabela == 0 {
                    "Tabela de Lançamento"
                } else {
                    "Tabela Vigente"
                })),
                "codigointernotabela" => Some(Value::from(format!("TAB{:02}", res.tabela + 1))),
                "idtipovenda" => Some(Value::from(
                    if self.serie_sum(r, Serie::Financiamento) > 0 {
                        1
                    } else {
                        2
                    },
                )),
                "tipovenda" => Some(Value::from(
                    if self.serie_sum(r, Serie::Financiamento) > 0 {
                        "Financiamento"
                    } else {
                        "À vista"
                    },
                )),
                "idhistorico" if self.spec.path == "/vendas" => {
                    Some(Value::from(res.hist_venda as u64 + 1))
                }
                "numero_venda" => Some(Value::from((r + 1).to_string())),
                "contrato_interno" => Some(Value::from(format!("CT-{:06}", r + 1))),
                "vencimento" if self.spec.path == "/reservas" => {
                    Some(Value::from(fmt_dt(res.cad + 7 * DAY)))
                }
                "idtime" | "idgestor_time" | "nome_time" => {
                    let t = w.corretores[res.corretor as usize].time;
                    Some(if t == NONE {
                        Value::Null
                    } else {
                        match f {
                            "idtime" => Value::from(t as u64 + 1),
                            "idgestor_time" => Value::from(w.times[t as usize].gestor as u64 + 1),
                            _ => Value::from(self.time_name(t)),
                        }
                    })
                }
                "idgrupo" => Some(Value::from(1)),
                "grupo" => Some(Value::from("Comercial")),
                "idmidia" => Some(Value::from(w.leads[res.lead as usize].midia as u64 + 1)),
                "midia" => Some(Value::from(
                    MIDIAS[w.leads[res.lead as usize].midia as usize],
                )),
                "espacos_complementares" => Some(self.absent()),
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
        if let Some(u) = self.uni {
            let unit = &w.unidades[u as usize];
            let (emp, bloco) = self.emp_of_unit(u);
            let v = match f {
                "idunidade" => Some(Value::from(u as u64 + 1)),
                "unidade" => Some(Value::from(self.unit_name(u))),
                "idbloco" => Some(Value::from(unit.bloco as u64 + 1)),
                "bloco" => Some(Value::from(self.bloco_name(unit.bloco))),
                "idetapa" => Some(Value::from(bloco.etapa as u64 + 1)),
                "etapa" => Some(Value::from(self.etapa_name(bloco.etapa))),
                "area_privativa" => Some(money(unit.area as i64)),
                "tipologia" => Some(Value::from(TIPOLOGIAS[unit.tip as usize].0)),
                "planta" => Some(Value::from(format!("Planta {:02}", unit.tip + 1))),
                "tipo" if self.spec.path == "/unidades" => Some(Value::from(if emp.horizontal {
                    "Casa"
                } else {
                    "Apartamento"
                })),
                "idunidade_int" => Some(Value::from(format!("U{:06}", u + 1))),
                "idbloco_int" => Some(Value::from(format!("B{:04}", unit.bloco + 1))),
                "idetapa_int" => Some(Value::from(format!("E{:04}", bloco.etapa + 1))),
                "idtipo_int" => Some(Value::from((unit.tip + 1).to_string())),
                "posicao" => Some(Value::from(
                    ["Norte", "Sul", "Leste", "Oeste"][unit.coluna as usize % 4],
                )),
                "data_entrega_chaves_contrato_cliente" => Some(Value::from(fmt_date(emp.entrega))),
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
        if let Some(e) = self.emp {
            let emp = &w.emps[e as usize];
            let city = CITIES[emp.city as usize];
            let v = match f {
                "idempreendimento" | "idempreendimento_primeiro" | "idempreendimento_ultimo" => {
                    Some(Value::from(e as u64 + 1))
                }
                "empreendimento"
                | "nome_empreendimento"
                | "empreendimento_primeiro"
                | "empreendimento_ultimo" => Some(Value::from(emp.nome.clone())),
                "codigointerno_empreendimento" | "idempreendimento_int" => {
                    Some(Value::from(format!("EMP{:04}", e + 1)))
                }
                "sigla_empreendimento" => Some(Value::from(format!("E{:02}", e + 1))),
                "regiao" => Some(Value::from(city.2)),
                "tipo_empreendimento" => Some(Value::from(if emp.horizontal {
                    "Horizontal"
                } else {
                    "Vertical"
                })),
                "idtipo_empreendimento" => Some(Value::from(if emp.horizontal { 2 } else { 1 })),
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
        if let Some(c) = self.cor {
            let cor = &w.corretores[c as usize];
            let v = match f {
                "idcorretor" | "idcorretor_ultimo" => Some(Value::from(c as u64 + 1)),
                "corretor" | "corretor_ultimo" => Some(Value::from(self.corretor_name(c))),
                "idgestor" | "idgestor_ultimo" => Some(if cor.time == NONE {
                    Value::Null
                } else {
                    Value::from(w.times[cor.time as usize].gestor as u64 + 1)
                }),
                "gestor" | "gestor_ultimo" => Some(if cor.time == NONE {
                    self.absent()
                } else {
                    Value::from(self.corretor_name(w.times[cor.time as usize].gestor))
                }),
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
        if let Some(i) = self.imob {
            let v = match f {
                "idimobiliaria" | "idimobiliaria_ultimo" => Some(Value::from(i as u64 + 1)),
                "imobiliaria" => Some(self.imob_name(i)),
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
        if let Some(l) = self.lead {
            let p = person(w.seed, 0xB0, l);
            let city = CITIES[(p.h >> 40) as usize % CITIES.len()];
            let absent = (p.h >> 50).is_multiple_of(10);
            let v = match f {
                "idlead" => Some(if self.spec.path == "/precadastros" {
                    Value::from((l + 1).to_string())
                } else {
                    Value::from(l as u64 + 1)
                }),
                "idcliente" | "idpessoa" | "idpessoa_cv" => Some(Value::from(l as u64 + 1)),
                "idpessoa_int" => Some(Value::from(format!("{}", l + 1))),
                "cliente" | "nome_cliente" | "lead" | "pessoa" | "lead_nome" => {
                    Some(Value::from(p.nome()))
                }
                "nome"
                    if self.spec.path.starts_with("/leads")
                        || self.spec.path.starts_with("/pessoas") =>
                {
                    Some(Value::from(p.nome()))
                }
                "documento_cliente" | "documento" => {
                    Some(Value::from(format!("{:011}", p.h % 100_000_000_000)))
                }
                "email" | "email_cliente" | "lead_email" => Some(if absent {
                    self.absent()
                } else {
                    Value::from(format!(
                        "{}.{}@email.com.br",
                        ascii_fold(p.first).to_lowercase(),
                        l + 1
                    ))
                }),
                "telefone" | "celular" | "telefone_atendimento" => Some(Value::from(format!(
                    "(11) 9{:04}-{:04}",
                    (p.h >> 8) % 10_000,
                    (p.h >> 24) % 10_000
                ))),
                "cep_cliente" | "cep" => Some(if absent {
                    self.absent()
                } else {
                    Value::from(format!("{:08}", (p.h >> 16) % 100_000_000))
                }),
                "cidade" => Some(Value::from(city.0)),
                "estado" => Some(Value::from(city.1)),
                "renda" | "renda_familiar" | "renda_cliente_principal" => {
                    let v = ((p.h >> 12) % 30_000 + 2_500) as i64 * 100;
                    Some(
                        if self.spec.path == "/leads" || self.spec.path == "/precadastros" {
                            Value::from(format!("{:.2}", v as f64 / 100.0))
                        } else {
                            money(v)
                        },
                    )
                }
                "sexo" => Some(Value::from(if p.female { "Feminino" } else { "Masculino" })),
                "idade" => Some(Value::from((p.h >> 28) % 50 + 21)),
                "estado_civil" => Some(Value::from(
                    ["Solteiro(a)", "Casado(a)", "Divorciado(a)", "União estável"]
                        [((p.h >> 36) % 4) as usize],
                )),
                "idmidia" => Some(Value::from(w.leads[l as usize].midia as u64 + 1)),
                "midia" | "origem" => Some(Value::from(MIDIAS[w.leads[l as usize].midia as usize])),
                _ => None,
            };
            if v.is_some() {
                return v;
            }
        }
        None
    }

    fn filler(&self, f: &'static str, kind: FieldKind) -> Option<Value> {
        if kind == FieldKind::Array {
            return Some(json!([]));
        }
        let h = self.h(f.len() as u64
            ^ (f.as_bytes()[0] as u64) << 8
            ^ (f.as_bytes()[f.len() - 1] as u64) << 16);
        let is_date = f.starts_with("data")
            || f.contains("vencimento")
            || f.starts_with("previsao")
            || f.ends_with("_a_partir")
            || f == "proxima_acao"
            || f == "sla_vencimento";
        if is_date && kind == FieldKind::Text {
            let date_only = matches!(
                f,
                "vencimento"
                    | "data_pagamento"
                    | "data_vigencia_de"
                    | "data_vigencia_ate"
                    | "validade_creci"
                    | "data_nasc"
                    | "vencimento_creci"
                    | "previsao_entrega"
                    | "data_registro"
                    | "proxima_acao"
            );
            if h.is_multiple_of(4) {
                return Some(Value::Null);
            }
            if self.q().zero_dates && h.is_multiple_of(17) {
                return Some(self.zero_date(date_only));
            }
            let t = if f == "data_nasc" {
                self.row.cad - ((h >> 8) % 40 + 20) as i32 * 365 * DAY
            } else {
                self.row.cad + ((h >> 8) % (30 * DAY as u64)) as i32
            };
            return Some(Value::from(if date_only { fmt_date(t) } else { fmt_dt(t) }));
        }
        match kind {
            FieldKind::Integer => Some(Value::from(
                if f.starts_with("id") || f.starts_with("quem") {
                    h % 300 + 1
                } else {
                    h % 10
                },
            )),
            FieldKind::Number => Some(money(((h % 5_000_000) as i64) * 10)),
            _ => {
                if f.starts_with("flag_") {
                    return Some(if h.is_multiple_of(3) {
                        Value::from("Sim")
                    } else {
                        Value::Null
                    });
                }
                if h.is_multiple_of(5) {
                    return Some(self.absent());
                }
                let yes_no = f.starts_with("ativo_")
                    || f.starts_with("situacao_")
                    || f.ends_with("_pago")
                    || matches!(
                        f,
                        "novo"
                            | "retorno"
                            | "vencido"
                            | "assinado"
                            | "validado"
                            | "cancelado"
                            | "nao_assinado"
                            | "nao_validado"
                            | "enviado"
                            | "juros"
                            | "juros_embutido"
                            | "micro_empresa"
                            | "inserido_bolsao"
                            | "liberar_assinatura"
                            | "recebendo_financiamento"
                            | "editado"
                            | "fifty"
                    );
                if yes_no {
                    return Some(Value::from(if h & 8 == 0 { "S" } else { "N" }));
                }
                let v = match f {
                    "cnpj" | "cnpj_faturamento" | "cnpj_favorecido" | "banco_cnpj_titular" => {
                        format!("{:014}", h % 100_000_000_000_000)
                    }
                    "cpf"
                    | "gerente_cpf"
                    | "diretor_cpf"
                    | "cpf_favorecido"
                    | "banco_cpf_titular"
                    | "representante_documento" => {
                        format!("{:011}", h % 100_000_000_000)
                    }
                    "cep" | "ju_cep" => format!("{:08}", h % 100_000_000),
                    "telefone" | "celular" | "gerente_telefone" | "gerente_celular"
                    | "diretor_telefone" | "diretor_celular" => {
                        format!("(11) 9{:04}-{:04}", (h >> 8) % 10_000, (h >> 24) % 10_000)
                    }
                    "estado" | "ju_estado" | "estado_creci" => {
                        CITIES[(h % CITIES.len() as u64) as usize].1.to_string()
                    }
                    "cidade" | "ju_cidade" | "cidade_creci" | "naturalidade" => {
                        CITIES[(h % CITIES.len() as u64) as usize].0.to_string()
                    }
                    "bairro" | "ju_bairro" => {
                        ["Centro", "Jardim América", "Boa Vista", "Vila Nova"][(h % 4) as usize]
                            .to_string()
                    }
                    "endereco" | "logradouro" | "ju_endereco" | "ju_logradouro" => {
                        STREETS[(h % STREETS.len() as u64) as usize].to_string()
                    }
                    "banco" | "nome_agencia" => {
                        BANCOS[(h % BANCOS.len() as u64) as usize].to_string()
                    }
                    "pais" => "Brasil".to_string(),
                    "sexo" => if h & 1 == 0 { "Masculino" } else { "Feminino" }.to_string(),
                    "nome" | "gerente_nome" | "diretor_nome" | "representante_nome"
                    | "nome_favorecido" | "usuario" | "responsavel" => {
                        person(self.w.seed, h, 0).nome()
                    }
                    "email" | "gerente_email" | "diretor_email" | "representante_email" => {
                        format!("contato{}@exemplo.com.br", h % 10_000)
                    }
                    "profissional_cargo_inicial" | "profissional_cargo_final" | "cargo" => {
                        CARGOS[(h % CARGOS.len() as u64) as usize].to_string()
                    }
                    _ => {
                        let mut name = f.replace('_', " ");
                        if let Some(first) = name.get_mut(0..1) {
                            first.make_ascii_uppercase();
                        }
                        format!("{name} {}", h % 50 + 1)
                    }
                };
                Some(Value::from(v))
            }
        }
    }

    /// Render the row as (field, value) pairs in field-list order.
    /// The row as served: its fields, then the deliberate defect if it has one.
    fn pairs(&self) -> Vec<(&'static str, Value)> {
        let mut out = self.clean_pairs();
        if let Some(m) = self.w.malformed.get(&(self.oi, self.pos)) {
            self.malform(m, &mut out);
        }
        out
    }

    /// Apply a [`crate::Malformation`]; `referencia` (already computed) keeps naming the row.
    fn malform(&self, m: &crate::Malformation, out: &mut Vec<(&'static str, Value)>) {
        match m {
            crate::Malformation::NoKey => out.retain(|(k, _)| !self.spec.key.contains(k)),
            crate::Malformation::TextIn { field } => {
                let text = Value::from("não informado");
                if let Some(slot) = out.iter_mut().find(|(k, _)| *k == field.as_str()) {
                    slot.1 = text;
                } else if let Some(&FieldDef { name, .. }) = field_lists()[self.oi]
                    .iter()
                    .find(|f| f.name == field.as_str())
                {
                    // A documented field this row leaves out (a nested array with the quirk off).
                    out.push((name, text));
                }
            }
        }
    }

    fn clean_pairs(&self) -> Vec<(&'static str, Value)> {
        let list = &field_lists()[self.oi];
        let money_strings = self.q().metric_dirt
            && crate::dirt::MONEY_OBJECTS.contains(&self.spec.path)
            && crate::dirt::money_as_string(self.w.seed, self.oi, self.pos);
        let mut out: Vec<(&'static str, Value)> = Vec::with_capacity(list.len());
        for &FieldDef { name, kind } in list {
            if name == "referencia" {
                out.push((name, Value::Null)); // filled below, from the key fields
                continue;
            }
            if kind == FieldKind::Array && !self.q().nested_arrays {
                continue;
            }
            if let Some(v) = self.field(name, kind) {
                // Ids the reference types as strings (`idunidade` on /atendimentos...) are
                // sent as strings.
                let v = match v {
                    Value::Number(n) if kind == FieldKind::Text => Value::String(n.to_string()),
                    v if money_strings && crate::dirt::MONEY_FIELDS.contains(&name) => {
                        crate::dirt::money_string(v)
                    }
                    v => v,
                };
                out.push((name, v));
            }
        }
        if self.q().metric_dirt {
            self.dirty_ids(&mut out);
        }
        let referencia = self.referencia(&out);
        if let Some(slot) = out.iter_mut().find(|(k, _)| *k == "referencia") {
            slot.1 = referencia;
        }
        out
    }

    /// The id quirks of [`crate::dirt::id_dirt`]: ids left empty, or ids repeated from the
    /// previous row of a 1:N object (its content stays its own).
    fn dirty_ids(&self, out: &mut [(&'static str, Value)]) {
        match crate::dirt::id_dirt(self.w.seed, self.spec.path, self.pos) {
            None => {}
            Some(crate::dirt::IdDirt::Empty(fields)) => {
                for (k, v) in out.iter_mut() {
                    if fields.contains(k) {
                        *v = Value::from("");
                    }
                }
            }
            Some(crate::dirt::IdDirt::RepeatPrevious(fields)) => {
                let prev = R::new(self.w, self.oi, self.pos - 1);
                for (k, v) in out.iter_mut() {
                    if fields.contains(k) {
                        if let Some(p) = prev.field(k, FieldKind::Integer) {
                            *v = p;
                        }
                    }
                }
            }
        }
    }

    fn referencia(&self, pairs: &[(&'static str, Value)]) -> Value {
        if self.spec.path == "/unidades" {
            let id = self.row.ctx as u64 + 1;
            return if self.q().referencia_int {
                Value::from(id)
            } else {
                Value::from(id.to_string())
            };
        }
        let get = |k: &str| -> String {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        let key = match self.spec.path {
            "/leads/corretores" => get("idlead"),
            "/leads/momentos" => get("idmomento_lead"),
            "/pesquisas" => get("idpesquisa"),
            _ => self
                .spec
                .key
                .iter()
                .map(|k| get(k))
                .collect::<Vec<_>>()
                .join("_"),
        };
        if self.spec.referencia_int && self.q().referencia_int {
            if let Ok(n) = key.parse::<u64>() {
                return Value::from(n);
            }
        }
        Value::from(key)
    }
}

/// One row as a JSON value (keys sorted, as `serde_json::Value` does).
pub fn row_value(w: &World, oi: usize, pos: u32) -> Value {
    let r = R::new(w, oi, pos);
    Value::Object(
        r.pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// One row as [`row_value`] renders it, without its deliberate defect (if any).
pub fn clean_row_value(w: &World, oi: usize, pos: u32) -> Value {
    let r = R::new(w, oi, pos);
    Value::Object(
        r.clean_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Append one row's JSON (fields in documented order) to `out`.
pub fn write_row(w: &World, oi: usize, pos: u32, out: &mut Vec<u8>) {
    let r = R::new(w, oi, pos);
    out.push(b'{');
    for (i, (k, v)) in r.pairs().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Field names are plain ASCII identifiers: no escaping needed.
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, v);
    }
    out.push(b'}');
}
