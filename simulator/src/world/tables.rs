//! One table per CVDW object: 16-byte row headers, what each object's rows hang from
//! ([`Ctx`], [`Def`]), and the (`referencia_data`, position) index that orders, filters and
//! pages them.

use super::*;

/// One served row: 16 bytes.
#[derive(Clone, Copy, Debug)]
pub struct Row {
    pub ctx: u32,
    pub cad: SimTime,
    pub refdt: SimTime,
    pub state: RowState,
}

/// What a row's `ctx` points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctx {
    None,
    Lead,
    Reserva,
    /// Generic rows attached to sold reservations (ctx = reserva index).
    Sold,
    Unidade,
    /// `/unidades/precos`: ctx = unit, second table = position / units.
    Preco,
    Corretor,
    Imob,
    Time,
    Integrante,
    Condicao,
    Comissao,
    Pagamento,
    Repasse,
    Assoc,
    HistRes,
    HistUni,
}

/// How an object's rows are made.
#[derive(Clone, Copy, Debug)]
pub struct Def {
    pub ctx: Ctx,
    /// Generic objects: rows per context entity.
    pub per: f64,
    /// Generic objects: exactly one row per context entity (key = the entity id).
    pub one_per: bool,
    /// Quirk: how the few rows of this object that hide their `referencia_data` serve it
    /// ([`ReferenceDate::Real`]: none hides it).
    pub hidden_reference_date: ReferenceDate,
    /// Semantic objects are filled by the world's own events, not by the generic generator.
    pub semantic: bool,
}

/// Generic rows, `per` per context entity on average.
const fn per_entity(ctx: Ctx, per: f64) -> Def {
    Def {
        ctx,
        per,
        one_per: false,
        hidden_reference_date: ReferenceDate::Real,
        semantic: false,
    }
}
/// At most one generic row per context entity (a share `per` of them have one).
const fn one_per_entity(ctx: Ctx, per: f64) -> Def {
    Def {
        ctx,
        per,
        one_per: true,
        hidden_reference_date: ReferenceDate::Real,
        semantic: false,
    }
}
/// Rows made by the world's own events.
const fn semantic(ctx: Ctx) -> Def {
    Def {
        ctx,
        per: 1.0,
        one_per: true,
        hidden_reference_date: ReferenceDate::Real,
        semantic: true,
    }
}
/// The object shows null or zero `referencia_data` on a few rows.
const fn hiding_reference_date(mut def: Def, form: ReferenceDate) -> Def {
    def.hidden_reference_date = form;
    def
}

pub fn def_for(path: &str) -> Def {
    use Ctx::*;
    match path {
        "/agendamentos/vistorias" => per_entity(Sold, 0.3),
        "/assistencias" => per_entity(Sold, 0.5),
        "/assistencias/workflow/tempo" => per_entity(Sold, 1.0),
        "/assistencias/itens" => per_entity(Sold, 0.8),
        "/assistencias/itens/workflow/tempo" => per_entity(Sold, 1.0),
        "/assistencias/visitas/workflow/tempo" => per_entity(Sold, 0.8),
        "/atendimentos" => per_entity(Sold, 0.6),
        "/atendimentos/workflow/tempo" => per_entity(Sold, 1.2),
        "/atendimentos/interacoes" => per_entity(Sold, 1.5),
        "/atendimentos/respostas" => per_entity(Sold, 0.6),
        "/atendimentos/tarefas" => per_entity(Sold, 0.6),
        "/atendimentos/times" => semantic(Time),
        "/atendimentos/times/integrantes" => {
            hiding_reference_date(semantic(Integrante), ReferenceDate::Null)
        }
        "/comissoes" => hiding_reference_date(semantic(Comissao), ReferenceDate::Zero),
        "/comissoes/pagamentos" => semantic(Pagamento),
        "/comissoes/workflow/tempo" => per_entity(Sold, 1.5),
        "/leads/corretores" => one_per_entity(Lead, 1.0),
        "/leads" => semantic(Lead),
        "/leads/conversoes" => per_entity(Lead, 1.2),
        "/leads/ganhos" => per_entity(Lead, 0.05),
        "/leads/historico/situacoes" => per_entity(Lead, 2.0),
        "/leads/infos" => one_per_entity(Lead, 1.0),
        "/leads/interacoes" => hiding_reference_date(per_entity(Lead, 3.0), ReferenceDate::Zero),
        "/leads/momentos" => one_per_entity(Lead, 1.0),
        "/leads/perdas" => per_entity(Lead, 0.2),
        "/leads/tarefas" => per_entity(Lead, 1.0),
        "/leads/visitas" => per_entity(Lead, 0.3),
        "/leads/workflow/tempo" => per_entity(Lead, 2.0),
        "/usuarios_administrativos" => per_entity(None, 40.0),
        "/demandas" => per_entity(None, 17.0),
        "/processos" => per_entity(Sold, 0.2),
        "/precadastros" => per_entity(Reserva, 0.8),
        "/imobiliarias" => semantic(Imob),
        "/corretores" => hiding_reference_date(semantic(Corretor), ReferenceDate::Zero),
        "/precadastro/workflow/tempo" => per_entity(Reserva, 1.5),
        "/precadastro/historico/situacoes" => per_entity(Reserva, 1.5),
        "/campanhas_ativacao" => per_entity(Lead, 0.01),
        "/repasses" => semantic(Repasse),
        "/repasses/workflow/tempo" => per_entity(Sold, 1.5),
        "/repasses/historico/situacoes" => per_entity(Sold, 1.5),
        "/reservas" => semantic(Reserva),
        "/reservas/comissoes" => per_entity(Sold, 2.0),
        "/reservas/comissoes/programacao" => per_entity(Sold, 2.0),
        "/reservas/coordenador" => per_entity(Reserva, 0.5),
        "/reservas/historico/situacoes" => {
            hiding_reference_date(semantic(HistRes), ReferenceDate::Zero)
        }
        "/reservas/historico" => per_entity(Reserva, 2.0),
        "/reservas/condicoes" => semantic(Condicao),
        "/reservas/associados" => semantic(Assoc),
        "/reservas/contratos" => per_entity(Sold, 1.0),
        "/reservas/workflow/tempo" => per_entity(Reserva, 2.0),
        "/reservas/campos-adicionais" => per_entity(Reserva, 1.0),
        "/vendas" => semantic(Sold),
        "/distratos" => semantic(Reserva),
        "/simulacoes" => per_entity(Lead, 0.3),
        "/reservas/sienge" => per_entity(Sold, 1.0),
        "/unidades/precos" => hiding_reference_date(semantic(Preco), ReferenceDate::Zero),
        "/unidades" => semantic(Unidade),
        "/campos_adicionais" => hiding_reference_date(per_entity(Lead, 0.5), ReferenceDate::Zero),
        "/pessoas" => one_per_entity(Lead, 1.0),
        "/pessoas/contatos" => one_per_entity(Lead, 1.0),
        "/pessoas/profissional" => one_per_entity(Lead, 0.6),
        "/pessoas/patrimoniais" => one_per_entity(Lead, 0.3),
        "/pessoas/bancarios" => one_per_entity(Lead, 0.4),
        "/pessoas/bens-empresa" => one_per_entity(Lead, 0.05),
        "/pessoas/financeiros" => one_per_entity(Lead, 0.5),
        "/reservas/registros/flags" => semantic(Reserva),
        "/pesquisas" => one_per_entity(Lead, 0.2),
        "/pesquisas/perguntas" => per_entity(None, 20.0),
        "/pesquisas/respostas" => per_entity(Lead, 0.4),
        "/unidades/situacao" => semantic(HistUni),
        _ => per_entity(None, 10.0),
    }
}

/// One object's rows and their API order.
#[derive(Default)]
pub struct Table {
    pub rows: Vec<Row>,
    /// (sort key, position), sorted; hard-deleted rows are left out.
    pub index: Vec<(SimTime, u32)>,
    pub dirty: bool,
}

impl Table {
    pub(super) fn push(&mut self, ctx: u32, cad: SimTime, refdt: SimTime) -> u32 {
        self.rows.push(Row {
            ctx,
            cad,
            refdt,
            state: RowState::default(),
        });
        self.dirty = true;
        (self.rows.len() - 1) as u32
    }
    pub(super) fn rebuild(&mut self) {
        self.index.clear();
        self.index.reserve(self.rows.len());
        for (position, row) in self.rows.iter().enumerate() {
            if row.state.is_deleted() {
                continue;
            }
            let key = match row.state.reference_date() {
                ReferenceDate::Real => row.refdt,
                ReferenceDate::Null | ReferenceDate::Zero => SimTime::MIN,
            };
            self.index.push((key, position as u32));
        }
        self.index.sort_unstable();
        self.dirty = false;
    }
    /// The index range whose rows match the date filter. Rows with null/zero
    /// `referencia_data` never match a filter.
    pub fn range(&self, from: Option<SimTime>, to: Option<SimTime>) -> std::ops::Range<usize> {
        if from.is_none() && to.is_none() {
            return 0..self.index.len();
        }
        // Hidden reference dates sort at `SimTime::MIN`: a filter starts past them.
        let earliest = from.unwrap_or(SimTime::MIN + 1).max(SimTime::MIN + 1);
        let start = self.index.partition_point(|&(key, _)| key < earliest);
        let end = match to {
            Some(to) => self.index.partition_point(|&(key, _)| key <= to),
            None => self.index.len(),
        };
        start..end.max(start)
    }
}
