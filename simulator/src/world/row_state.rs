//! The state of one served row, in one byte: whether it is served with `ativo='N'`, whether
//! it was hard-deleted, and how it serves its `referencia_data`.
//!
//! A world of the large profile holds millions of rows, so a row is a 16-byte header and its
//! state must fit in the byte left after the context index and the two times. The flags are
//! bits of a private `u8`; callers only see the named methods, and the exclusive choice of
//! how `referencia_data` is served is the [`ReferenceDate`] enum.

/// How a row serves its `referencia_data` (and its registration date, which follows it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReferenceDate {
    /// The row's real reference time.
    Real,
    /// `null`, as a few rows of some objects do live (docs/cvdw-api.md §4).
    Null,
    /// `0000-00-00 00:00:00`, as a few rows of other objects do.
    Zero,
}

/// The state of one row: see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RowState(u8);

impl RowState {
    const INACTIVE: u8 = 1;
    const DELETED: u8 = 2;
    const REFERENCE_NULL: u8 = 4;
    const REFERENCE_ZERO: u8 = 8;
    const REFERENCE_MISSING: u8 = Self::REFERENCE_NULL | Self::REFERENCE_ZERO;

    /// Served with `ativo='N'`.
    pub fn is_inactive(self) -> bool {
        self.0 & Self::INACTIVE != 0
    }

    /// Gone from every answer (a hard delete at the source).
    pub fn is_deleted(self) -> bool {
        self.0 & Self::DELETED != 0
    }

    /// The row's `ativo`: `"N"` once inactivated, else `"S"`.
    pub fn ativo(self) -> &'static str {
        if self.is_inactive() {
            "N"
        } else {
            "S"
        }
    }

    pub fn reference_date(self) -> ReferenceDate {
        if self.0 & Self::REFERENCE_NULL != 0 {
            ReferenceDate::Null
        } else if self.0 & Self::REFERENCE_ZERO != 0 {
            ReferenceDate::Zero
        } else {
            ReferenceDate::Real
        }
    }

    pub fn inactivate(&mut self) {
        self.0 |= Self::INACTIVE;
    }

    pub fn delete(&mut self) {
        self.0 |= Self::DELETED;
    }

    pub fn set_reference_date(&mut self, form: ReferenceDate) {
        self.0 &= !Self::REFERENCE_MISSING;
        self.0 |= match form {
            ReferenceDate::Real => 0,
            ReferenceDate::Null => Self::REFERENCE_NULL,
            ReferenceDate::Zero => Self::REFERENCE_ZERO,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_state_is_one_byte_and_a_row_sixteen() {
        assert_eq!(std::mem::size_of::<RowState>(), 1);
        assert_eq!(std::mem::size_of::<super::super::Row>(), 16);
    }

    #[test]
    fn flags_and_reference_date_are_independent() {
        let mut state = RowState::default();
        assert_eq!(state.reference_date(), ReferenceDate::Real);
        assert_eq!(state.ativo(), "S");
        state.set_reference_date(ReferenceDate::Zero);
        state.inactivate();
        assert_eq!(state.reference_date(), ReferenceDate::Zero);
        assert!(state.is_inactive() && !state.is_deleted());
        state.set_reference_date(ReferenceDate::Null);
        assert_eq!(state.reference_date(), ReferenceDate::Null);
        state.delete();
        state.set_reference_date(ReferenceDate::Real);
        assert_eq!(state.reference_date(), ReferenceDate::Real);
        assert!(state.is_inactive() && state.is_deleted());
        assert_eq!(state.ativo(), "N");
    }
}
