//! The typed tables: which CVDW fields get a real column, and of which type.
//!
//! This list and `migrations/0002_cvdw_typed.sql` describe the same tables; the integration
//! test `load_schema` checks every column here exists in the database with the type below.
//! Only the fields analytics need are typed — every row also keeps its complete source row
//! in `payload`, so nothing is lost and new CVDW fields are visible at once.
//!
//! Every typed table also has the common columns [`COMMON`] (`referencia`, `referencia_data`,
//! `ativo`) and the bookkeeping columns described in [`super`].

/// A column's SQL type and the CVDW coercion rule that feeds it (`shared::values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `text`: strings as sent, `""` → NULL, numbers rendered.
    Text,
    /// `bigint`: ints, integral floats, numeric strings.
    Int,
    /// `numeric`: money, areas, percentages (JSON numbers or numeric strings).
    Num,
    /// `boolean`: `'S'/'N'`, `'Sim'/'Não'`.
    Bool,
    /// `timestamp` (naive, CVDW local time); zero dates → NULL.
    Ts,
    /// `date`; zero dates → NULL; `dd/mm/yyyy` accepted.
    Date,
}

impl Kind {
    pub fn sql_type(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "bigint",
            Kind::Num => "numeric",
            Kind::Bool => "boolean",
            Kind::Ts => "timestamp",
            Kind::Date => "date",
        }
    }
}

/// One typed column; the name is the CVDW field name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
}

impl Col {
    pub const fn of(name: &'static str, kind: Kind) -> Col {
        Col { name, kind }
    }
}

/// One-letter shorthands by kind, so that the table definitions below read as a column list.
macro_rules! column_shorthands {
    ($($shorthand:ident => $kind:ident),* $(,)?) => {
        $(const fn $shorthand(name: &'static str) -> Col {
            Col::of(name, Kind::$kind)
        })*
    };
}
column_shorthands!(t => Text, i => Int, n => Num, b => Bool, ts => Ts, d => Date);

/// Columns every typed table has, before its own.
pub const COMMON: &[Col] = &[t("referencia"), ts("referencia_data"), b("ativo")];

/// A nested array of a row (`vendas.associados`, `unidades.plantas`) unfolded into a child
/// table keyed by the parent's `(tenant, natural_key)` and the item's position.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    pub table: &'static str,
    /// The array field in the parent row.
    pub field: &'static str,
    pub cols: &'static [Col],
}

/// One typed table.
#[derive(Debug, Clone, Copy)]
pub struct TypedTable {
    /// Catalogue name of the CVDW object.
    pub object: &'static str,
    /// Table in schema `cvdw` (the same as the object name).
    pub table: &'static str,
    pub cols: &'static [Col],
    pub child: Option<Child>,
}

const fn table(object: &'static str, cols: &'static [Col]) -> TypedTable {
    TypedTable {
        object,
        table: object,
        cols,
        child: None,
    }
}

pub const TYPED: &[TypedTable] = &[
    TypedTable {
        child: Some(Child {
            table: "vendas_associados",
            field: "associados",
            cols: &[
                i("idpessoa_cv"),
                i("idtipo_associacao"),
                t("tipo_associacao"),
                n("percentagem_participacao"),
            ],
        }),
        ..table(
            "vendas",
            &[
                i("idreserva"),
                ts("data_reserva"),
                ts("data_venda"),
                i("idhistorico"),
                ts("data_historico"),
                b("aprovada"),
                n("valor_contrato"),
                t("contrato_interno"),
                i("idpessoa_cv"),
                i("idcliente"),
                t("cliente"),
                t("documento_cliente"),
                t("cidade"),
                n("renda"),
                i("idade"),
                i("idcorretor"),
                t("corretor"),
                i("idimobiliaria"),
                t("imobiliaria"),
                i("idempreendimento"),
                t("empreendimento"),
                t("codigointerno_empreendimento"),
                t("regiao"),
                t("planta"),
                t("etapa"),
                t("bloco"),
                i("idunidade"),
                t("unidade"),
                n("area_privativa"),
                t("campanha"),
                i("idmidia"),
                t("midia"),
                i("idtabela"),
                t("nometabela"),
                i("idtipovenda"),
                t("tipovenda"),
                t("idlead"),
            ],
        )
    },
    table(
        "reservas",
        &[
            i("idreserva"),
            ts("data_cad"),
            t("codigointerno"),
            t("numero_venda"),
            b("aprovada"),
            ts("data_venda"),
            t("situacao"),
            i("idsituacao"),
            t("situacao_comercial"),
            i("idempreendimento"),
            t("empreendimento"),
            t("etapa"),
            t("bloco"),
            i("idunidade"),
            t("unidade"),
            t("regiao"),
            b("venda"),
            i("idcliente"),
            t("cliente"),
            i("idcorretor"),
            t("corretor"),
            i("idimobiliaria"),
            t("imobiliaria"),
            n("valor_contrato"),
            n("valor_contrato_com_juros"),
            n("valor_proposta"),
            n("valor_fgts"),
            n("valor_financiamento"),
            n("valor_subsidio"),
            n("vpl_reserva"),
            n("vgv_tabela"),
            n("vpl_tabela"),
            ts("vencimento"),
            t("campanha"),
            t("motivo_cancelamento"),
            ts("data_cancelamento"),
            t("idlead"),
            ts("data_ultima_alteracao_situacao"),
            i("idsituacao_anterior"),
            t("situacao_anterior"),
            i("idtabela"),
            t("nometabela"),
            ts("data_contrato"),
            ts("data_aprovacao"),
            i("idtipovenda"),
            t("tipovenda"),
            i("idgrupo"),
            t("grupo"),
            i("idtime"),
            t("nome_time"),
            i("idgestor_time"),
            ts("data_entrega"),
            ts("data_modificacao"),
        ],
    ),
    table(
        "reservas_campos_adicionais",
        &[
            i("idcampo_valores"),
            i("idreserva"),
            i("idcampo"),
            t("nome"),
            t("tipo"),
            t("valor"),
        ],
    ),
    table(
        "reservas_condicoes",
        &[
            i("idreservascondicoes"),
            i("idreserva"),
            t("serie"),
            i("parcela_quantidade"),
            n("valor"),
            n("valor_com_juros"),
            n("valor_com_comissao_fora_do_contrato"),
            n("valor_sem_comissao"),
            d("vencimento"),
            t("portador"),
            t("indexador"),
            ts("data_reservas_condicoes"),
            ts("data_modificacao"),
        ],
    ),
    table(
        "distratos",
        &[
            i("idreserva"),
            b("aprovada"),
            ts("data_cad"),
            ts("situacao_data"),
            t("situacao_atual"),
            i("idsituacao"),
            i("idempreendimento"),
            t("empreendimento"),
            t("regiao"),
            t("etapa"),
            t("bloco"),
            i("idunidade"),
            t("unidade"),
            t("venda"),
            i("idcliente"),
            t("cliente"),
            i("idcorretor"),
            t("corretor"),
            i("idimobiliaria"),
            t("imobiliaria"),
            t("motivo_distrato"),
            t("descricao_motivo_distrato"),
            n("valor_contrato"),
            ts("data_sincronizacao"),
        ],
    ),
    table(
        "comissoes",
        &[
            i("idcomissao"),
            t("situacao"),
            i("idsituacao"),
            i("idreserva"),
            t("corretor"),
            t("imobiliaria"),
            t("empreendimento"),
            t("etapa"),
            t("bloco"),
            t("unidade"),
            t("regiao"),
            t("cliente"),
            n("valor_contrato"),
            n("porcentagem_comissao"),
            n("valor_comissao"),
            n("valor_comissao_apagar"),
            n("valor_pagamento"),
            t("nota_fiscal"),
            d("data_pagamento"),
            ts("data_cad"),
        ],
    ),
    table(
        "comissoes_pagamentos",
        &[
            i("idpagamento"),
            i("idcomissao"),
            n("valor"),
            d("vencimento"),
            t("bloco"),
            t("unidade"),
            t("situacao"),
        ],
    ),
    TypedTable {
        child: Some(Child {
            table: "unidades_plantas",
            field: "plantas",
            cols: &[i("idplanta"), t("nome")],
        }),
        ..table(
            "unidades",
            &[
                i("idunidade"),
                i("idempreendimento"),
                t("nome_empreendimento"),
                i("idtipo_empreendimento"),
                t("tipo_empreendimento"),
                i("idetapa"),
                t("etapa"),
                i("idbloco"),
                t("bloco"),
                t("nome"),
                n("area_privativa"),
                n("area_comum"),
                t("andar"),
                t("vagas_garagem"),
                t("tipologia"),
                t("tipo"),
                n("valor"),
                n("valor_avaliacao"),
                d("data_entrega"),
                d("data_entrega_chaves"),
                i("situacao_reservada"),
                i("situacao_vendida"),
                b("situacao_bloqueada"),
                i("situacao_para_venda"),
                i("situacao_mapa_disponibilidade"),
                t("situacao_tipo_nome"),
            ],
        )
    },
    table(
        "unidades_situacao",
        &[
            i("idhistorico"),
            i("idunidade"),
            t("de_situacao"),
            t("para_situacao"),
            ts("data_cad"),
        ],
    ),
    table(
        "repasses",
        &[
            i("idrepasse"),
            i("idsituacao"),
            t("situacao"),
            i("reserva"),
            i("idempreendimento"),
            t("empreendimento"),
            t("etapa"),
            t("bloco"),
            i("idunidade"),
            t("unidade"),
            t("regiao"),
            i("idcliente"),
            t("cliente"),
            t("idcontrato"),
            t("contrato"),
            b("contrato_quitado"),
            b("contrato_liquidado"),
            b("registro_pago"),
            n("valor_previsto"),
            n("parcela_conclusao"),
            n("saldo_devedor"),
            n("valor_divida"),
            n("valor_subsidio"),
            n("valor_fgts"),
            n("valor_registro"),
            n("valor_financiado"),
            n("valor_contrato"),
            t("banco"),
            t("correspondente"),
            d("data_registro"),
            ts("data_alteracao_status"),
            ts("data_venda"),
            d("data_contrato_contabilizado"),
            d("data_assinatura_de_contrato"),
            d("data_recurso_liberado"),
            ts("data_cadastro"),
            ts("data_modificacao"),
            t("idlead"),
        ],
    ),
    table(
        "atendimentos",
        &[
            i("idatendimento"),
            t("protocolo"),
            ts("data_cad"),
            t("prioridade"),
            t("situacao"),
            i("idsituacao"),
            ts("data_situacao"),
            t("canal"),
            i("idcanal"),
            i("idempreendimento"),
            t("empreendimento"),
            t("idunidade"),
            i("idcliente"),
            t("cliente"),
            t("assunto"),
            t("subassunto"),
            i("idcorretor"),
            i("idimobiliaria"),
            t("responsavel"),
            ts("previsao_conclusao"),
            ts("data_modificacao"),
        ],
    ),
    table(
        "atendimentos_times",
        &[
            i("idtime"),
            i("idgestor"),
            t("gestor"),
            t("nome"),
            t("descricao"),
            b("ativo_painel"),
            ts("data_cad"),
            ts("data_modificacao"),
        ],
    ),
    table(
        "atendimentos_times_integrantes",
        &[
            i("idintegrante"),
            i("idtime"),
            t("time"),
            i("idusuario"),
            t("usuario"),
            ts("data_cad"),
            ts("data_modificacao"),
        ],
    ),
    table(
        "corretores",
        &[
            i("idcorretor"),
            i("idimobiliaria"),
            t("imobiliaria"),
            ts("data_cad"),
            t("documento"),
            t("nome"),
            t("apelido"),
            t("email"),
            t("categoria"),
            t("nivel"),
            b("ativo_login"),
            t("cidade"),
            t("estado"),
            t("creci"),
            d("vencimento_creci"),
        ],
    ),
    table(
        "imobiliarias",
        &[
            i("idimobiliaria"),
            t("nome"),
            t("razao_social"),
            t("cnpj"),
            t("email"),
            t("creci"),
            t("sigla"),
            t("codigointerno"),
            t("gerente_nome"),
            b("ativo_painel"),
            ts("data_cad"),
            ts("data_modificacao"),
        ],
    ),
    table(
        "leads",
        &[
            i("idlead"),
            i("idsituacao"),
            t("situacao"),
            ts("data_cad"),
            t("nome"),
            t("email"),
            t("telefone"),
            // CVDW sends this one as a string (§5); kept as text.
            t("idempreendimento"),
            t("empreendimento"),
            i("idponto_venda"),
            t("ponto_venda"),
            i("idgestor"),
            t("gestor"),
            i("idcorretor"),
            t("corretor"),
            i("idimobiliaria"),
            t("imobiliaria"),
            t("origem"),
            t("midia_original"),
            t("midia_ultimo"),
            n("renda_familiar"),
            t("motivo_cancelamento"),
            ts("data_cancelamento"),
            ts("data_ultima_interacao"),
            ts("data_reativacao"),
            i("score"),
            i("possibilidade_venda"),
            i("reserva"),
            b("novo"),
            b("retorno"),
            ts("data_ultima_alteracao"),
            t("estado"),
            t("cidade"),
            t("regiao"),
        ],
    ),
];

/// The typed table of an object, if it has one (otherwise rows go to `cvdw.objects`).
pub fn typed(object: &str) -> Option<&'static TypedTable> {
    TYPED.iter().find(|t| t.object == object)
}

/// All columns of a typed table in order: common first, then its own.
pub fn all_cols(t: &TypedTable) -> impl Iterator<Item = &'static Col> + '_ {
    columns_of(Some(t))
}

/// The typed columns of an object's rows: its typed table's ([`all_cols`]), or for the
/// generic table `cvdw.objects` just the common ones.
pub fn columns_of(typed: Option<&TypedTable>) -> impl Iterator<Item = &'static Col> + '_ {
    COMMON.iter().chain(typed.map_or(&[][..], |t| t.cols))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn typed_objects_are_catalogue_objects_and_columns_unique() {
        for t in TYPED {
            assert!(crate::catalogue::find(t.object).is_some(), "{}", t.object);
            let mut seen = HashSet::new();
            for c in all_cols(t) {
                assert!(seen.insert(c.name), "{}.{} twice", t.table, c.name);
            }
        }
        assert_eq!(TYPED.len(), 16);
    }

    /// `cargo test -p shared print_ddl -- --ignored --nocapture` prints the typed-table DDL
    /// that `migrations/0002_cvdw_typed.sql` was written from.
    #[test]
    #[ignore]
    fn print_ddl() {
        let book = "  first_seen_run text NOT NULL,\n  last_seen_run text NOT NULL,\n  fetched_at timestamptz NOT NULL,\n  run_id text NOT NULL,\n  page integer NOT NULL,\n  source_key text NOT NULL,\n  deleted_at timestamptz,\n  deleted_by_run text,\n";
        for t in TYPED {
            println!(
                "CREATE TABLE cvdw.{} (\n  tenant text NOT NULL,\n  natural_key text NOT NULL,",
                t.table
            );
            for c in all_cols(t) {
                println!("  \"{}\" {},", c.name, c.kind.sql_type());
            }
            print!("  payload jsonb NOT NULL,\n{book}");
            println!("  PRIMARY KEY (tenant, natural_key)\n);");
            if let Some(ch) = t.child {
                println!("CREATE TABLE cvdw.{} (\n  tenant text NOT NULL,\n  natural_key text NOT NULL,\n  ordinal integer NOT NULL,", ch.table);
                for c in ch.cols {
                    println!("  \"{}\" {},", c.name, c.kind.sql_type());
                }
                println!(
                    "  payload jsonb NOT NULL,\n  PRIMARY KEY (tenant, natural_key, ordinal)\n);"
                );
            }
        }
    }
}
