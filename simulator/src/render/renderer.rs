//! The row renderer: a row with its context (reservation, unit, development, broker,
//! agency, lead) resolved once, and the helpers every field uses.

use super::*;

pub(super) struct RowRenderer<'a> {
    pub(super) world: &'a World,
    pub(super) spec: &'static ObjectSpec,
    pub(super) oi: usize,
    pub(super) pos: u32,
    pub(super) row: Row,
    pub(super) lead: Option<u32>,
    pub(super) res: Option<u32>,
    pub(super) uni: Option<u32>,
    pub(super) cor: Option<u32>,
    pub(super) emp: Option<u32>,
    pub(super) imob: Option<u32>,
}

impl<'a> RowRenderer<'a> {
    pub(super) fn new(w: &'a World, oi: usize, pos: u32) -> Self {
        let row = w.tables[oi].rows[pos as usize];
        let mut r = RowRenderer {
            world: w,
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
    pub(super) fn set_cor(&mut self, c: u32) {
        self.cor = Some(c);
        self.imob = Some(self.world.corretores[c as usize].imob);
    }
    pub(super) fn set_uni(&mut self, u: u32) {
        self.uni = Some(u);
        let b = self.world.unidades[u as usize].bloco;
        self.emp = Some(self.world.blocos[b as usize].emp);
    }
    pub(super) fn set_lead(&mut self, l: u32) {
        self.lead = Some(l);
        let lead = &self.world.leads[l as usize];
        self.set_cor(lead.corretor);
        self.emp = Some(lead.emp);
        // Not the lead's reservation: it appears later, and rows must not change content
        // without their `referencia_data` moving (incremental sync depends on it).
    }
    pub(super) fn set_res(&mut self, r: u32) {
        self.res = Some(r);
        let res = &self.world.reservas[r as usize];
        self.set_uni(res.unidade);
        self.set_cor(res.corretor);
        self.lead = Some(res.lead);
    }

    pub(super) fn hash(&self, salt: u64) -> u64 {
        h3(
            self.world.seed ^ ((self.oi as u64) << 40),
            self.pos as u64,
            salt,
        )
    }
    pub(super) fn quirks(&self) -> crate::Quirks {
        self.world.quirks
    }
    /// An optional string that is absent: `""` under the quirk, else `null`.
    pub(super) fn absent(&self) -> Value {
        if self.quirks().empty_strings {
            Value::from("")
        } else {
            Value::Null
        }
    }
    pub(super) fn zero_date(&self, date_only: bool) -> Value {
        Value::from(if date_only {
            "0000-00-00"
        } else {
            "0000-00-00 00:00:00"
        })
    }
    /// A time of the row as served: its own, unless the row hides its `referencia_data`
    /// (then its registration date is hidden the same way).
    fn row_time_value(&self, time: SimTime) -> Value {
        match self.row.state.reference_date() {
            ReferenceDate::Real => Value::from(fmt_dt(time)),
            ReferenceDate::Null => Value::Null,
            ReferenceDate::Zero => self.zero_date(false),
        }
    }
    pub(super) fn refdt_value(&self) -> Value {
        self.row_time_value(self.row.refdt)
    }
    pub(super) fn cad_value(&self) -> Value {
        self.row_time_value(self.row.cad)
    }
    pub(super) fn imob_name(&self, i: u32) -> Value {
        let base = IMOB_NAMES[self.world.imobs[i as usize].nome as usize];
        let n = i as usize / IMOB_NAMES.len();
        let name = if n > 0 {
            format!("{base} {}", n + 1)
        } else {
            base.to_string()
        };
        if self.quirks().html_entities {
            Value::from(name.replace('&', "&amp;"))
        } else {
            Value::from(name)
        }
    }
    pub(super) fn corretor_name(&self, c: u32) -> String {
        person(self.world.seed, 0xC0, c).nome()
    }
    pub(super) fn emp_of_unit(&self, u: u32) -> (&'a Emp, &'a Bloco) {
        let b = &self.world.blocos[self.world.unidades[u as usize].bloco as usize];
        (&self.world.emps[b.emp as usize], b)
    }
    pub(super) fn unit_name(&self, u: u32) -> String {
        let unit = &self.world.unidades[u as usize];
        let (emp, _) = self.emp_of_unit(u);
        if emp.horizontal {
            format!("CASA {:02}", unit.coluna)
        } else {
            format!("APTO {}{:02}", unit.andar, unit.coluna)
        }
    }
    pub(super) fn bloco_name(&self, b: u32) -> String {
        let bl = &self.world.blocos[b as usize];
        if self.world.emps[bl.emp as usize].horizontal {
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
    pub(super) fn etapa_name(&self, e: u32) -> String {
        format!("{}ª Etapa", self.world.etapas[e as usize].n)
    }
    pub(super) fn time_name(&self, t: u32) -> String {
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
    pub(super) fn serie_sum(&self, r: u32, serie: Serie) -> i64 {
        let res = &self.world.reservas[r as usize];
        (res.cond_start..res.cond_start + res.cond_n as u32)
            .map(|c| &self.world.condicoes[c as usize])
            .filter(|c| c.serie == serie)
            .map(|c| c.valor)
            .sum()
    }
    pub(super) fn idlead_value(&self, r: u32) -> Value {
        let res = &self.world.reservas[r as usize];
        let main = res.lead + 1;
        if !self.quirks().idlead_csv {
            return Value::from(main.to_string());
        }
        let h = h3(self.world.seed, 0x1EAD, r as u64);
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
    pub(super) fn field(&self, field: &'static str, kind: FieldKind) -> Option<Value> {
        if let Some(v) = self.object_field(field) {
            return Some(v);
        }
        if let Some(v) = self.context_field(field) {
            return Some(v);
        }
        self.filler(field, kind)
    }

    /// The dirty value of a field the metrics read, for the rows [`crate::dirt`] picks.
    pub(super) fn dirty_field(&self, f: &str) -> Option<Value> {
        let seed = self.world.seed;
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

    /// What the row's object itself says of field `f`: the fields every object shares,
    /// then its family's ([`super::sales`], [`super::units`], [`super::people`], else
    /// [`super::generic`]); `None` leaves the field to the context.
    pub(super) fn object_field(&self, f: &str) -> Option<Value> {
        if self.quirks().metric_dirt {
            if let Some(v) = self.dirty_field(f) {
                return Some(v);
            }
        }
        let path = self.spec.path;
        let v = match (path, f) {
            (_, "referencia_data") => self.refdt_value(),
            (_, "ativo") => Value::from(self.row.state.ativo()),
            (_, "data_cad" | "data_cadastro") => self.cad_value(),
            (_, "data_modificacao" | "data_ultima_alteracao" | "data_sincronizacao") => {
                self.refdt_value()
            }
            _ => {
                return match path {
                    "/comissoes"
                    | "/comissoes/pagamentos"
                    | "/distratos"
                    | "/repasses"
                    | "/reservas/associados"
                    | "/reservas/condicoes"
                    | "/reservas/historico/situacoes"
                    | "/reservas/registros/flags" => self.sales_field(f),
                    "/unidades" | "/unidades/precos" | "/unidades/situacao" => self.units_field(f),
                    "/atendimentos/times"
                    | "/atendimentos/times/integrantes"
                    | "/corretores"
                    | "/imobiliarias"
                    | "/leads" => self.people_field(f),
                    _ => self.generic_field(f),
                }
            }
        };
        Some(v)
    }
}
