//! The row renderer: a row with its context (reservation, unit, development, broker,
//! agency, lead) resolved once, the helpers every field uses, and the order a field is
//! resolved in: the metric dirt, the fields every row shares, the entity's own id, the
//! object's own fields, the context ([`super::context`]), then filler ([`super::filler`]).

use super::*;

/// The objects whose rows are the world's own entities, and the field that is the entity's id
/// (its index + 1).
const ENTITY_ID_FIELDS: &[(&str, &str)] = &[
    ("/reservas/condicoes", "idreservascondicoes"),
    ("/comissoes", "idcomissao"),
    ("/comissoes/pagamentos", "idpagamento"),
    ("/reservas/historico/situacoes", "idhistorico"),
    ("/reservas/associados", "idassociado"),
    ("/repasses", "idrepasse"),
    ("/unidades/situacao", "idhistorico"),
    ("/atendimentos/times", "idtime"),
    ("/atendimentos/times/integrantes", "idintegrante"),
];

pub(super) struct RowRenderer<'a> {
    pub(super) world: &'a World,
    pub(super) spec: &'static ObjectSpec,
    /// The object's index in the catalogue (and in the world's tables).
    pub(super) object: usize,
    /// The row's position in its table.
    pub(super) pos: u32,
    pub(super) row: Row,
    /// The row's context, as entity indices: the lead (or person), the reservation, its
    /// unit, development, broker and agency, as far as the row's object reaches.
    pub(super) lead: Option<u32>,
    pub(super) reservation: Option<u32>,
    pub(super) unit: Option<u32>,
    pub(super) broker: Option<u32>,
    pub(super) development: Option<u32>,
    pub(super) agency: Option<u32>,
}

impl<'a> RowRenderer<'a> {
    pub(super) fn new(world: &'a World, object: usize, pos: u32) -> Self {
        let row = world.tables[object].rows[pos as usize];
        let mut renderer = RowRenderer {
            world,
            spec: &OBJECTS[object],
            object,
            pos,
            row,
            lead: None,
            reservation: None,
            unit: None,
            broker: None,
            development: None,
            agency: None,
        };
        let entity = row.ctx as usize;
        match world.defs[object].ctx {
            Ctx::Lead => renderer.set_lead(row.ctx),
            Ctx::Reserva | Ctx::Sold => renderer.set_reservation(row.ctx),
            Ctx::Unidade | Ctx::Preco => renderer.set_unit(row.ctx),
            Ctx::Corretor => renderer.set_broker(row.ctx),
            Ctx::Imob => renderer.agency = Some(row.ctx),
            Ctx::Time => renderer.set_broker(world.times[entity].gestor),
            Ctx::Integrante => renderer.set_broker(world.integrantes[entity].corretor),
            Ctx::Condicao => renderer.set_reservation(world.condicoes[entity].reserva),
            Ctx::Comissao => renderer.set_reservation(world.comissoes[entity].reserva),
            Ctx::Pagamento => {
                let commission = world.pagamentos[entity].comissao;
                renderer.set_reservation(world.comissoes[commission as usize].reserva)
            }
            Ctx::Repasse => renderer.set_reservation(world.repasses[entity].reserva),
            Ctx::Assoc => {
                renderer.set_reservation(world.assocs[entity].reserva);
                renderer.lead = Some(world.assocs[entity].pessoa);
            }
            Ctx::HistRes => renderer.set_reservation(world.hist_res[entity].reserva),
            Ctx::HistUni => renderer.set_unit(world.hist_uni[entity].unidade),
            Ctx::None => {}
        }
        renderer
    }
    fn set_broker(&mut self, broker: u32) {
        self.broker = Some(broker);
        self.agency = Some(self.world.corretores[broker as usize].imob);
    }
    fn set_unit(&mut self, unit: u32) {
        self.unit = Some(unit);
        let bloco = self.world.unidades[unit as usize].bloco;
        self.development = Some(self.world.blocos[bloco as usize].emp);
    }
    fn set_lead(&mut self, lead: u32) {
        self.lead = Some(lead);
        let entity = &self.world.leads[lead as usize];
        self.set_broker(entity.corretor);
        self.development = Some(entity.emp);
        // Not the lead's reservation: it appears later, and rows must not change content
        // without their `referencia_data` moving (incremental sync depends on it).
    }
    fn set_reservation(&mut self, reserva: u32) {
        self.reservation = Some(reserva);
        let entity = &self.world.reservas[reserva as usize];
        self.set_unit(entity.unidade);
        self.set_broker(entity.corretor);
        self.lead = Some(entity.lead);
    }

    /// The row's own hash for `salt`: every filler value of the row is cut from one.
    pub(super) fn hash(&self, salt: u64) -> u64 {
        hash3(
            self.world.seed ^ ((self.object as u64) << 40),
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
    /// The value of `field` for this row.
    pub(super) fn field(&self, field: &'static str, kind: FieldKind) -> Option<Value> {
        if let Some(value) = self.object_field(field) {
            return Some(value);
        }
        if let Some(value) = self.context_field(field) {
            return Some(value);
        }
        self.filler(field, kind)
    }

    /// The dirty value of a field the metrics read, for the rows [`crate::dirt`] picks.
    fn dirty_field(&self, field: &str) -> Option<Value> {
        let seed = self.world.seed;
        match (self.spec.path, field) {
            ("/vendas", "data_venda")
            | ("/distratos", "situacao_data")
            | ("/comissoes", "data_cad") => crate::dirt::no_event_date(seed, self.object, self.pos),
            ("/vendas", "valor_contrato") => crate::dirt::no_valor_contrato(seed, self.pos),
            ("/reservas", "idtime" | "nome_time" | "idgestor_time") => {
                crate::dirt::reserva_without_team(seed, self.row.ctx).then_some(Value::Null)
            }
            _ => None,
        }
    }

    /// What the row's object itself says of `field`: the fields every object shares, then
    /// the object's own ([`super::sales`], [`super::units`], [`super::people`], else
    /// [`super::generic`]); `None` leaves the field to the context.
    fn object_field(&self, field: &str) -> Option<Value> {
        if self.quirks().metric_dirt {
            if let Some(value) = self.dirty_field(field) {
                return Some(value);
            }
        }
        match field {
            "referencia_data"
            | "data_modificacao"
            | "data_ultima_alteracao"
            | "data_sincronizacao" => return Some(self.refdt_value()),
            "ativo" => return Some(Value::from(self.row.state.ativo())),
            "data_cad" | "data_cadastro" => return Some(self.cad_value()),
            _ => {}
        }
        if ENTITY_ID_FIELDS.contains(&(self.spec.path, field)) {
            return Some(Value::from(self.row.ctx as u64 + 1));
        }
        match self.spec.path {
            "/reservas/condicoes" => self.condition_field(field),
            "/comissoes" => self.commission_field(field),
            "/comissoes/pagamentos" => self.commission_payment_field(field),
            "/distratos" => self.distrato_field(field),
            "/reservas/historico/situacoes" => self.reservation_history_field(field),
            "/reservas/associados" => self.associate_field(field),
            "/repasses" => self.repasse_field(field),
            "/reservas/registros/flags" => self.registration_flag_field(field),
            "/unidades" => self.unit_field(field),
            "/unidades/precos" => self.unit_price_field(field),
            "/unidades/situacao" => self.unit_history_field(field),
            "/leads" => self.lead_field(field),
            "/corretores" => self.broker_field(field),
            "/imobiliarias" => self.agency_field(field),
            "/atendimentos/times" => self.team_field(field),
            "/atendimentos/times/integrantes" => self.team_member_field(field),
            _ => self.generic_field(field),
        }
    }
}
