//! Fields of the sales objects that only they know: conditions, commissions and their
//! payments, distratos, reservation history and associates, repasses, registration flags.

use super::*;

/// The steps of a repasse, one every 45 days after the sale.
const REPASSE_STEPS: [&str; 5] = [
    "Aguardando documentação",
    "Análise de crédito",
    "Contrato assinado",
    "Cartório",
    "Concluído",
];

impl RowRenderer<'_> {
    /// `/reservas/condicoes`: one payment series of a reservation.
    pub(super) fn condition_field(&self, field: &str) -> Option<Value> {
        let condition = &self.world.condicoes[self.row.ctx as usize];
        Some(match field {
            "serie" => Value::from(condition.serie.nome()),
            "parcela_quantidade" => Value::from(condition.parcelas),
            "valor"
            | "valor_com_juros"
            | "valor_sem_comissao"
            | "valor_com_comissao_fora_do_contrato" => money(condition.valor),
            "vencimento" => Value::from(fmt_date(condition.venc)),
            "portador" => Value::from(if condition.serie == Serie::Financiamento {
                BANCOS[(self.hash(1) % BANCOS.len() as u64) as usize]
            } else {
                "Carteira"
            }),
            "indexador" => Value::from(if condition.serie.is_financing() {
                "Sem correção"
            } else {
                "INCC"
            }),
            "data_reservas_condicoes" => Value::from(fmt_dt(self.row.cad)),
            _ => return None,
        })
    }

    /// `/comissoes`: a commission and how much of it is paid.
    pub(super) fn commission_field(&self, field: &str) -> Option<Value> {
        let index = self.row.ctx as usize;
        let commission = &self.world.comissoes[index];
        let paid_in_full = commission.n_pagas >= commission.parcelas;
        let partly_paid = commission.n_pagas > 0;
        Some(match field {
            "situacao" => Value::from(if paid_in_full {
                "Comissão Paga (3)"
            } else if partly_paid {
                "Comissão Parcialmente Paga (2)"
            } else {
                "Comissão Gerada (1)"
            }),
            "idsituacao" => Value::from(if paid_in_full {
                3
            } else if partly_paid {
                2
            } else {
                1
            }),
            "porcentagem_comissao" => money(commission.bp as i64),
            "valor_comissao" => money(commission.valor),
            "valor_comissao_apagar" => money(commission.valor - commission.pago),
            "valor_pagamento" => money(commission.pago),
            "nota_fiscal" if partly_paid => Value::from(format!("{}", 1000 + index)),
            "nota_fiscal" => self.absent(),
            "data_pagamento" if partly_paid => Value::from(fmt_date(commission.last_pag)),
            "data_pagamento" | "numero" => Value::Null,
            _ => return None,
        })
    }

    /// `/comissoes/pagamentos`: one paid instalment of a commission.
    pub(super) fn commission_payment_field(&self, field: &str) -> Option<Value> {
        let payment = &self.world.pagamentos[self.row.ctx as usize];
        Some(match field {
            "idcomissao" => Value::from(payment.comissao as u64 + 1),
            "valor" => money(payment.valor),
            "vencimento" => Value::from(fmt_date(payment.venc)),
            "situacao" => Value::from("Pago"),
            _ => return None,
        })
    }

    /// `/distratos`: the cancellation of a sale.
    pub(super) fn distrato_field(&self, field: &str) -> Option<Value> {
        let reservation = &self.world.reservas[self.row.ctx as usize];
        Some(match field {
            "situacao_atual" => Value::from("Distrato"),
            "idsituacao" => Value::from(ReservaSituacao::Distrato.id()),
            "situacao_data" => Value::from(fmt_dt(reservation.distrato)),
            "motivo_distrato" => Value::from(
                MOTIVOS_DISTRATO[(self.hash(2) % MOTIVOS_DISTRATO.len() as u64) as usize],
            ),
            "descricao_motivo_distrato" => self.absent(),
            "venda" => Value::Null,
            "aprovada" => Value::from("Sim"),
            _ => return None,
        })
    }

    /// `/reservas/historico/situacoes`: one change of a reservation's situation.
    pub(super) fn reservation_history_field(&self, field: &str) -> Option<Value> {
        let entry = &self.world.hist_res[self.row.ctx as usize];
        situation_change_field(field, entry.de, entry.para)
            .or_else(|| self.acting_user_field(field))
    }

    /// `/reservas/associados`: a co-buyer or spouse on a reservation.
    pub(super) fn associate_field(&self, field: &str) -> Option<Value> {
        let associate = &self.world.assocs[self.row.ctx as usize];
        let someone = person(self.world.seed, 0xB0, associate.pessoa);
        Some(match field {
            "idpessoa" => Value::from(associate.pessoa as u64 + 1),
            "idconjuge" => Value::Null,
            "nome" => Value::from(someone.nome()),
            "documento" => Value::from(format!("{:011}", someone.hash % 100_000_000_000)),
            "renda_familiar" => money(((someone.hash >> 12) % 30_000 + 2_000) as i64 * 100),
            "tipo_associacao" => Value::from(if (someone.hash >> 5) & 1 == 1 {
                "Cônjuge"
            } else {
                "Co-comprador"
            }),
            _ => return None,
        })
    }

    /// `/repasses`: the financing of a sale, one step every 45 days.
    pub(super) fn repasse_field(&self, field: &str) -> Option<Value> {
        let index = self.row.ctx as usize;
        let reserva = self.world.repasses[index].reserva;
        let reservation = &self.world.reservas[reserva as usize];
        let step = ((self.row.refdt - reservation.venda) / (45 * DAY)).clamp(0, 4) as usize;
        let done = step == REPASSE_STEPS.len() - 1;
        let financed = self.serie_sum(reserva, Serie::Financiamento);
        Some(match field {
            "idsituacao" => Value::from(step as u64 + 1),
            "situacao" => Value::from(REPASSE_STEPS[step]),
            "valor_financiado" | "valor_previsto" => money(financed),
            "saldo_devedor" => money(if done { 0 } else { financed }),
            "valor_divida" => money(reservation.valor),
            "banco" => Value::from(BANCOS[(self.hash(3) % BANCOS.len() as u64) as usize]),
            "contrato_quitado" | "contrato_liquidado" | "registro_pago" | "itbi_pago"
            | "laudemio_pago" => Value::from(if done { "S" } else { "N" }),
            "idcontrato" | "numero_contrato" => Value::from(format!("{}", 150_000 + index)),
            "parcela" => Value::from("Não"),
            "contrato" => Value::from("Adimplente"),
            "campos_adicionais" => json!([]),
            _ => return None,
        })
    }

    /// `/reservas/registros/flags`: each flag is `"Sim"` with its date once its event
    /// happened, `null` before.
    pub(super) fn registration_flag_field(&self, field: &str) -> Option<Value> {
        let reservation = &self.world.reservas[self.row.ctx as usize];
        let flag = field.trim_start_matches("data_");
        let happened_at = match flag {
            "flag_inicio" => reservation.cad,
            "flag_analisada" => reservation.cad + 3600,
            "flag_aprovada" | "flag_vendida" | "flag_contrato" | "flag_documentos" => {
                reservation.venda
            }
            "flag_distrato" => reservation.distrato,
            "flag_cancelada" => reservation.cancel,
            _ if field.contains("flag_") => 0,
            _ => return None,
        };
        Some(match (happened_at > 0, field.starts_with("data_")) {
            (false, _) => Value::Null,
            (true, true) => Value::from(fmt_dt(happened_at)),
            (true, false) => Value::from("Sim"),
        })
    }
}
