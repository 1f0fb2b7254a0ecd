//! The world's entities: compact structs holding only what keeps the world consistent,
//! and the situations and payment series they move through.

use super::*;

/// Reservation situations (the dev tenant's ids where known: 3 Vendida, 13 Distrato, §6).
pub const RS_RESERVADA: u8 = 1;
pub const RS_ANALISE: u8 = 2;
pub const RS_VENDIDA: u8 = 3;
pub const RS_CANCELADA: u8 = 6;
pub const RS_DISTRATO: u8 = 13;

/// Unit situations.
pub const US_DISPONIVEL: u8 = 1;
pub const US_RESERVADA: u8 = 2;
pub const US_VENDIDA: u8 = 3;
pub const US_BLOQUEADA: u8 = 4;

pub fn reserva_situacao_nome(s: u8) -> &'static str {
    match s {
        RS_RESERVADA => "Reservada",
        RS_ANALISE => "Em análise",
        RS_VENDIDA => "Vendida",
        RS_CANCELADA => "Cancelada",
        RS_DISTRATO => "Distrato",
        _ => "Reservada",
    }
}

pub fn unidade_situacao_nome(s: u8) -> &'static str {
    match s {
        US_DISPONIVEL => "Disponível",
        US_RESERVADA => "Reservada",
        US_VENDIDA => "Vendida",
        US_BLOQUEADA => "Bloqueada",
        _ => "Disponível",
    }
}

/// Payment series of a reservation's conditions.
pub const SERIES: &[&str] = &[
    "Ato",
    "Sinal",
    "Mensais",
    "Intermediárias",
    "FGTS",
    "Subsídio",
    "Financiamento",
];
pub const SERIE_FGTS: u8 = 4;
pub const SERIE_SUBSIDIO: u8 = 5;
pub const SERIE_FINANCIAMENTO: u8 = 6;

pub struct Emp {
    pub nome: String,
    pub city: u8,
    pub horizontal: bool,
    /// Price per m² in centavos.
    pub m2: i64,
    pub entrega: SimTime,
}
pub struct Etapa {
    pub emp: u32,
    pub n: u8,
}
pub struct Bloco {
    pub etapa: u32,
    pub emp: u32,
    pub n: u16,
}
pub struct Unidade {
    pub bloco: u32,
    pub andar: u8,
    pub coluna: u8,
    pub tip: u8,
    pub area: u32,
    pub preco: i64,
    pub sit: u8,
    pub holder: u32,
}
pub struct Imob {
    pub nome: u8,
    pub city: u8,
}
pub struct Corretor {
    pub imob: u32,
    pub time: u32,
}
pub struct Time {
    pub gestor: u32,
}
pub struct Integrante {
    pub time: u32,
    pub corretor: u32,
}
pub struct Lead {
    pub corretor: u32,
    pub emp: u32,
    pub midia: u8,
    pub sit: u8,
    pub cad: SimTime,
    pub reserva: u32,
}
pub struct Reserva {
    pub unidade: u32,
    pub lead: u32,
    pub corretor: u32,
    pub cad: SimTime,
    pub venda: SimTime,
    pub distrato: SimTime,
    pub cancel: SimTime,
    pub sit: u8,
    pub prev_sit: u8,
    pub valor: i64,
    pub cond_start: u32,
    pub cond_n: u8,
    pub tabela: u8,
    pub assoc: u32,
    /// The first of the sale's commissions; the others follow it ([`Reserva::comissao_n`]).
    pub comissao: u32,
    pub comissao_n: u8,
    pub repasse: u32,
    pub hist_venda: u32,
}
pub struct Condicao {
    pub reserva: u32,
    pub serie: u8,
    pub parcelas: u16,
    pub valor: i64,
    pub venc: SimTime,
}
pub struct Comissao {
    pub reserva: u32,
    /// Basis points of valor_contrato.
    pub bp: u16,
    pub valor: i64,
    pub pago: i64,
    pub parcelas: u8,
    pub n_pagas: u8,
    pub last_pag: SimTime,
    pub row: u32,
}
pub struct Pagamento {
    pub comissao: u32,
    pub valor: i64,
    pub venc: SimTime,
}
pub struct Repasse {
    pub reserva: u32,
    pub row: u32,
}
pub struct Assoc {
    pub reserva: u32,
    pub pessoa: u32,
}
pub struct Hist {
    pub ent: u32,
    pub de: u8,
    pub para: u8,
}
