//! What the world serves: row counts, rendered rows, natural keys and the sales figures a
//! dashboard must reproduce.

use super::*;

impl World {
    pub fn now_string(&self) -> String {
        fmt_dt(self.now)
    }

    pub fn row_count(&self, spec: &ObjectSpec) -> usize {
        self.tables[obj_index(spec.path)].index.len()
    }

    /// Every row of an object in API order, rendered.
    pub fn all_rows(&self, spec: &ObjectSpec) -> Vec<serde_json::Value> {
        let oi = obj_index(spec.path);
        let t = &self.tables[oi];
        t.index
            .iter()
            .map(|&(_, pos)| crate::render::row_value(self, oi, pos))
            .collect()
    }

    /// See [`crate::SalesAggregates`]; computed from the served tables, not from intentions.
    pub fn sales_aggregates(&self) -> crate::SalesAggregates {
        use std::collections::HashSet;
        let mut a = crate::SalesAggregates {
            now: fmt_dt(self.now),
            ..Default::default()
        };
        let served = |oi: usize| {
            self.tables[oi]
                .index
                .iter()
                .map(move |&(_, pos)| &self.tables[oi].rows[pos as usize])
        };
        let distratos: HashSet<u32> = served(obj_index("/distratos")).map(|r| r.ctx).collect();
        for r in served(obj_index("/distratos")) {
            a.distratos.count += 1;
            a.distratos.valor += self.reservas[r.ctx as usize].valor;
        }
        for row in served(obj_index("/vendas")) {
            let res = &self.reservas[row.ctx as usize];
            a.vendas.count += 1;
            a.vendas.valor += res.valor;
            if distratos.contains(&row.ctx) {
                continue;
            }
            a.vendas_liquidas.count += 1;
            a.vendas_liquidas.valor += res.valor;
            let financed: i64 = (res.cond_start..res.cond_start + res.cond_n as u32)
                .map(|c| &self.condicoes[c as usize])
                .filter(|c| c.serie.is_financing())
                .map(|c| c.valor)
                .sum();
            a.pro_soluto_liquido += res.valor - financed;
            let add = |m: &mut BTreeMap<u64, crate::CountValue>, k: u64| {
                let e = m.entry(k).or_default();
                e.count += 1;
                e.valor += res.valor;
            };
            add(&mut a.por_corretor, res.corretor as u64 + 1);
            let time = self.corretores[res.corretor as usize].time;
            if time != NONE {
                add(&mut a.por_time, time as u64 + 1);
            }
            let emp = self.blocos[self.unidades[res.unidade as usize].bloco as usize].emp;
            add(&mut a.por_empreendimento, emp as u64 + 1);
        }
        a.unidades = self.unidades.len() as u64;
        a.estoque = self
            .unidades
            .iter()
            .filter(|u| u.sit == UnidadeSituacao::Disponivel)
            .count() as u64;
        let denom = a.vendas_liquidas.count + a.estoque;
        a.vso = if denom == 0 {
            0.0
        } else {
            a.vendas_liquidas.count as f64 / denom as f64
        };
        for row in served(obj_index("/comissoes")) {
            if row.state & ATIVO_N == 0 {
                a.comissoes_ativas += self.comissoes[row.ctx as usize].valor;
            }
        }
        for row in served(obj_index("/comissoes/pagamentos")) {
            a.comissoes_pagas += self.pagamentos[row.ctx as usize].valor;
        }
        a
    }

    /// The natural key of a row (as `ObjectSpec::natural_key` renders it), malformed or not.
    pub fn key_of(&self, oi: usize, pos: u32) -> String {
        let v = crate::render::clean_row_value(self, oi, pos);
        OBJECTS[oi].natural_key(&v).unwrap_or_default()
    }
}
