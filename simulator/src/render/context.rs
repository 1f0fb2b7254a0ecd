//! Fields resolved from the row's context rather than its object: the same sale shows the
//! same unit, broker, customer and values in every object that mentions it.

use super::*;

impl RowRenderer<'_> {
    pub(super) fn context_field(&self, f: &str) -> Option<Value> {
        let w = self.world;
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
            let city = CITIES[(p.hash >> 40) as usize % CITIES.len()];
            let absent = (p.hash >> 50).is_multiple_of(10);
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
                    Some(Value::from(format!("{:011}", p.hash % 100_000_000_000)))
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
                    (p.hash >> 8) % 10_000,
                    (p.hash >> 24) % 10_000
                ))),
                "cep_cliente" | "cep" => Some(if absent {
                    self.absent()
                } else {
                    Value::from(format!("{:08}", (p.hash >> 16) % 100_000_000))
                }),
                "cidade" => Some(Value::from(city.0)),
                "estado" => Some(Value::from(city.1)),
                "renda" | "renda_familiar" | "renda_cliente_principal" => {
                    let v = ((p.hash >> 12) % 30_000 + 2_500) as i64 * 100;
                    Some(
                        if self.spec.path == "/leads" || self.spec.path == "/precadastros" {
                            Value::from(format!("{:.2}", v as f64 / 100.0))
                        } else {
                            money(v)
                        },
                    )
                }
                "sexo" => Some(Value::from(if p.female { "Feminino" } else { "Masculino" })),
                "idade" => Some(Value::from((p.hash >> 28) % 50 + 21)),
                "estado_civil" => Some(Value::from(
                    ["Solteiro(a)", "Casado(a)", "Divorciado(a)", "União estável"]
                        [((p.hash >> 36) % 4) as usize],
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
}
