//! The world's entities: compact structs holding only what keeps the world consistent,
//! and the situations and payment series they move through.

use super::*;

/// A situation CVDW serves as an id and a name.
pub trait Situation: Copy {
    fn id(self) -> u8;
    fn nome(self) -> &'static str;
}

/// [`Situation`] enums: the discriminant is the id.
macro_rules! situations {
    ($($(#[$doc:meta])* $name:ident { $($variant:ident = $id:literal, $nome:literal;)+ })+) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub enum $name {
                $($variant = $id,)+
            }

            impl Situation for $name {
                fn id(self) -> u8 {
                    self as u8
                }
                fn nome(self) -> &'static str {
                    match self {
                        $(Self::$variant => $nome,)+
                    }
                }
            }
        )+
    };
}

situations! {
    /// A reservation's situation (the dev tenant's ids where known: 3 Vendida, 13 Distrato,
    /// §6).
    ReservaSituacao {
        Reservada = 1, "Reservada";
        EmAnalise = 2, "Em análise";
        Vendida = 3, "Vendida";
        Cancelada = 6, "Cancelada";
        Distrato = 13, "Distrato";
    }
    /// A unit's situation on the sales map.
    UnidadeSituacao {
        Disponivel = 1, "Disponível";
        Reservada = 2, "Reservada";
        Vendida = 3, "Vendida";
        Bloqueada = 4, "Bloqueada";
    }
}

/// The payment series of a reservation's conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serie {
    Ato,
    Sinal,
    Mensais,
    Intermediarias,
    Fgts,
    Subsidio,
    Financiamento,
}

impl Serie {
    pub fn nome(self) -> &'static str {
        match self {
            Self::Ato => "Ato",
            Self::Sinal => "Sinal",
            Self::Mensais => "Mensais",
            Self::Intermediarias => "Intermediárias",
            Self::Fgts => "FGTS",
            Self::Subsidio => "Subsídio",
            Self::Financiamento => "Financiamento",
        }
    }
    /// Paid by a bank or the government rather than by the buyer (not pró-soluto).
    pub fn is_financing(self) -> bool {
        matches!(self, Self::Fgts | Self::Subsidio | Self::Financiamento)
    }
}

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
    /// The phase's number within its development, from 1.
    pub number: u8,
}
pub struct Bloco {
    pub etapa: u32,
    pub emp: u32,
    /// The block's number within its development, from 1.
    pub number: u16,
}
pub struct Unidade {
    pub bloco: u32,
    pub andar: u8,
    pub coluna: u8,
    pub tip: u8,
    pub area: u32,
    pub preco: i64,
    pub sit: UnidadeSituacao,
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
    /// The lead's situation id (1–5, indexing `SITUACOES_LEAD` of names.rs); 5 once it
    /// reserved.
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
    pub sit: ReservaSituacao,
    pub prev_sit: ReservaSituacao,
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
    pub serie: Serie,
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
/// A `/reservas/historico/situacoes` entry.
pub struct HistReserva {
    pub reserva: u32,
    pub de: ReservaSituacao,
    pub para: ReservaSituacao,
}
/// A `/unidades/situacao` entry.
pub struct HistUnidade {
    pub unidade: u32,
    pub de: UnidadeSituacao,
    pub para: UnidadeSituacao,
}
