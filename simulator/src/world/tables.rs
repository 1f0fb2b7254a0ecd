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
    pub state: u8,
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
    /// Quirk: this object shows zero (`REF_ZERO`) or null (`REF_NULL`) `referencia_data`.
    pub zero_ref: u8,
    /// Semantic objects are filled by the world's own events, not by the generic generator.
    pub semantic: bool,
}

const fn g(ctx: Ctx, per: f64) -> Def {
    Def {
        ctx,
        per,
        one_per: false,
        zero_ref: 0,
        semantic: false,
    }
}
const fn one(ctx: Ctx, per: f64) -> Def {
    Def {
        ctx,
        per,
        one_per: true,
        zero_ref: 0,
        semantic: false,
    }
}
const fn sem(ctx: Ctx) -> Def {
    Def {
        ctx,
        per: 1.0,
        one_per: true,
        zero_ref: 0,
        semantic: true,
    }
}
const fn zr(mut d: Def, z: u8) -> Def {
    d.zero_ref = z;
    d
}

pub fn def_for(path: &str) -> Def {
    use Ctx::*;
    match path {
        "/agendamentos/vistorias" => g(Sold, 0.3),
        "/assistencias" => g(Sold, 0.5),
        "/assistencias/workflow/tempo" => g(Sold, 1.0),
        "/assistencias/itens" => g(Sold, 0.8),
        "/assistencias/itens/workflow/tempo" => g(Sold, 1.0),
        "/assistencias/visitas/workflow/tempo" => g(Sold, 0.8),
        "/atendimentos" => g(Sold, 0.6),
        "/atendimentos/workflow/tempo" => g(Sold, 1.2),
        "/atendimentos/interacoes" => g(Sold, 1.5),
        "/atendimentos/respostas" => g(Sold, 0.6),
        "/atendimentos/tarefas" => g(Sold, 0.6),
        "/atendimentos/times" => sem(Time),
        "/atendimentos/times/integrantes" => zr(sem(Integrante), REF_NULL),
        "/comissoes" => zr(sem(Comissao), REF_ZERO),
        "/comissoes/pagamentos" => sem(Pagamento),
        "/comissoes/workflow/tempo" => g(Sold, 1.5),
        "/leads/corretores" => one(Lead, 1.0),
        "/leads" => sem(Lead),
        "/leads/conversoes" => g(Lead, 1.2),
        "/leads/ganhos" => g(Lead, 0.05),
        "/leads/historico/situacoes" => g(Lead, 2.0),
        "/leads/infos" => one(Lead, 1.0),
        "/leads/interacoes" => zr(g(Lead, 3.0), REF_ZERO),
        "/leads/momentos" => one(Lead, 1.0),
        "/leads/perdas" => g(Lead, 0.2),
        "/leads/tarefas" => g(Lead, 1.0),
        "/leads/visitas" => g(Lead, 0.3),
        "/leads/workflow/tempo" => g(Lead, 2.0),
        "/usuarios_administrativos" => g(None, 40.0),
        "/demandas" => g(None, 17.0),
        "/processos" => g(Sold, 0.2),
        "/precadastros" => g(Reserva, 0.8),
        "/imobiliarias" => sem(Imob),
        "/corretores" => zr(sem(Corretor), REF_ZERO),
        "/precadastro/workflow/tempo" => g(Reserva, 1.5),
        "/precadastro/historico/situacoes" => g(Reserva, 1.5),
        "/campanhas_ativacao" => g(Lead, 0.01),
        "/repasses" => sem(Repasse),
        "/repasses/workflow/tempo" => g(Sold, 1.5),
        "/repasses/historico/situacoes" => g(Sold, 1.5),
        "/reservas" => sem(Reserva),
        "/reservas/comissoes" => g(Sold, 2.0),
        "/reservas/comissoes/programacao" => g(Sold, 2.0),
        "/reservas/coordenador" => g(Reserva, 0.5),
        "/reservas/historico/situacoes" => zr(sem(HistRes), REF_ZERO),
        "/reservas/historico" => g(Reserva, 2.0),
        "/reservas/condicoes" => sem(Condicao),
        "/reservas/associados" => sem(Assoc),
        "/reservas/contratos" => g(Sold, 1.0),
        "/reservas/workflow/tempo" => g(Reserva, 2.0),
        "/reservas/campos-adicionais" => g(Reserva, 1.0),
        "/vendas" => sem(Sold),
        "/distratos" => sem(Reserva),
        "/simulacoes" => g(Lead, 0.3),
        "/reservas/sienge" => g(Sold, 1.0),
        "/unidades/precos" => zr(sem(Preco), REF_ZERO),
        "/unidades" => sem(Unidade),
        "/campos_adicionais" => zr(g(Lead, 0.5), REF_ZERO),
        "/pessoas" => one(Lead, 1.0),
        "/pessoas/contatos" => one(Lead, 1.0),
        "/pessoas/profissional" => one(Lead, 0.6),
        "/pessoas/patrimoniais" => one(Lead, 0.3),
        "/pessoas/bancarios" => one(Lead, 0.4),
        "/pessoas/bens-empresa" => one(Lead, 0.05),
        "/pessoas/financeiros" => one(Lead, 0.5),
        "/reservas/registros/flags" => sem(Reserva),
        "/pesquisas" => one(Lead, 0.2),
        "/pesquisas/perguntas" => g(None, 20.0),
        "/pesquisas/respostas" => g(Lead, 0.4),
        "/unidades/situacao" => sem(HistUni),
        _ => g(None, 10.0),
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
            state: 0,
        });
        self.dirty = true;
        (self.rows.len() - 1) as u32
    }
    pub(super) fn rebuild(&mut self) {
        self.index.clear();
        self.index.reserve(self.rows.len());
        for (i, r) in self.rows.iter().enumerate() {
            if r.state & DELETED != 0 {
                continue;
            }
            let key = if r.state & (REF_NULL | REF_ZERO) != 0 {
                SimTime::MIN
            } else {
                r.refdt
            };
            self.index.push((key, i as u32));
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
        let lo = from.unwrap_or(SimTime::MIN + 1).max(SimTime::MIN + 1);
        let start = self.index.partition_point(|(k, _)| *k < lo);
        let end = match to {
            Some(to) => self.index.partition_point(|(k, _)| *k <= to),
            None => self.index.len(),
        };
        start..end.max(start)
    }
}
