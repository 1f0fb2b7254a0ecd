//! Fields of the sales objects that only they know: conditions, commissions and their
//! payments, distratos, reservation history and associates, repasses, registration flags.

use super::*;

impl RowRenderer<'_> {
    pub(super) fn sales_field(&self, f: &str) -> Option<Value> {
        let w = self.world;
        let c = self.row.ctx as usize;
        let v = match (self.spec.path, f) {
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
                        BANCOS[(self.hash(1) % BANCOS.len() as u64) as usize]
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
                        MOTIVOS_DISTRATO[(self.hash(2) % MOTIVOS_DISTRATO.len() as u64) as usize],
                    ),
                    "descricao_motivo_distrato" => self.absent(),
                    "venda" => Value::Null,
                    "aprovada" => Value::from("Sim"),
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
                    "documento" => Value::from(format!("{:011}", p.hash % 100_000_000_000)),
                    "renda_familiar" => money(((p.hash >> 12) % 30_000 + 2_000) as i64 * 100),
                    "tipo_associacao" => Value::from(if (p.hash >> 5) & 1 == 1 {
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
                    "banco" => Value::from(BANCOS[(self.hash(3) % BANCOS.len() as u64) as usize]),
                    "contrato_quitado" | "contrato_liquidado" | "registro_pago" | "itbi_pago"
                    | "laudemio_pago" => Value::from(if steps == 4 { "S" } else { "N" }),
                    "idcontrato" | "numero_contrato" => Value::from(format!("{}", 150_000 + c)),
                    "parcela" => Value::from("Não"),
                    "contrato" => Value::from("Adimplente"),
                    "campos_adicionais" => json!([]),
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
            _ => return None,
        };
        Some(v)
    }
}
