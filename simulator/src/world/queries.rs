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
        let object = obj_index(spec.path);
        let table = &self.tables[object];
        table
            .index
            .iter()
            .map(|&(_, pos)| crate::render::row_value(self, object, pos))
            .collect()
    }

    /// See [`crate::SalesAggregates`]; computed from the served tables, not from intentions.
    pub fn sales_aggregates(&self) -> crate::SalesAggregates {
        use std::collections::HashSet;
        let mut aggregates = crate::SalesAggregates {
            now: fmt_dt(self.now),
            ..Default::default()
        };
        let served = |object: usize| {
            self.tables[object]
                .index
                .iter()
                .map(move |&(_, pos)| &self.tables[object].rows[pos as usize])
        };
        let distratos: HashSet<u32> = served(obj_index("/distratos")).map(|row| row.ctx).collect();
        for row in served(obj_index("/distratos")) {
            aggregates.distratos.count += 1;
            aggregates.distratos.valor += self.reservas[row.ctx as usize].valor;
        }
        for row in served(obj_index("/vendas")) {
            let reservation = &self.reservas[row.ctx as usize];
            aggregates.vendas.count += 1;
            aggregates.vendas.valor += reservation.valor;
            if distratos.contains(&row.ctx) {
                continue;
            }
            aggregates.vendas_liquidas.count += 1;
            aggregates.vendas_liquidas.valor += reservation.valor;
            let financed: i64 = self
                .conditions_of(row.ctx)
                .filter(|condition| condition.serie.is_financing())
                .map(|condition| condition.valor)
                .sum();
            aggregates.pro_soluto_liquido += reservation.valor - financed;
            let add = |ranking: &mut BTreeMap<u64, crate::CountValue>, key: u64| {
                let entry = ranking.entry(key).or_default();
                entry.count += 1;
                entry.valor += reservation.valor;
            };
            add(
                &mut aggregates.por_corretor,
                reservation.corretor as u64 + 1,
            );
            let team = self.corretores[reservation.corretor as usize].time;
            if team != NONE {
                add(&mut aggregates.por_time, team as u64 + 1);
            }
            let bloco = self.unidades[reservation.unidade as usize].bloco;
            let emp = self.blocos[bloco as usize].emp;
            add(&mut aggregates.por_empreendimento, emp as u64 + 1);
        }
        aggregates.unidades = self.unidades.len() as u64;
        aggregates.estoque = self
            .unidades
            .iter()
            .filter(|unit| unit.sit == UnidadeSituacao::Disponivel)
            .count() as u64;
        let sold_and_stock = aggregates.vendas_liquidas.count + aggregates.estoque;
        aggregates.vso = if sold_and_stock == 0 {
            0.0
        } else {
            aggregates.vendas_liquidas.count as f64 / sold_and_stock as f64
        };
        for row in served(obj_index("/comissoes")) {
            if !row.state.is_inactive() {
                aggregates.comissoes_ativas += self.comissoes[row.ctx as usize].valor;
            }
        }
        for row in served(obj_index("/comissoes/pagamentos")) {
            aggregates.comissoes_pagas += self.pagamentos[row.ctx as usize].valor;
        }
        aggregates
    }

    /// The payment conditions of reservation `reserva` (whether served or not).
    pub fn conditions_of(&self, reserva: u32) -> impl Iterator<Item = &Condicao> {
        let reservation = &self.reservas[reserva as usize];
        let first = reservation.cond_start as usize;
        self.condicoes[first..first + reservation.cond_n as usize].iter()
    }

    /// The natural key of a row (as `ObjectSpec::natural_key` renders it), malformed or not.
    pub fn key_of(&self, object: usize, pos: u32) -> String {
        let value = crate::render::clean_row_value(self, object, pos);
        OBJECTS[object].natural_key(&value).unwrap_or_default()
    }
}
