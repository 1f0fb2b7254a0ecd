//! What a change at the source does to a row, and how the changes of one advance are
//! counted: an update moves the row's `referencia_data` (so a cursor sees it), an
//! inactivation serves it with `ativo='N'`, a hard delete drops it from every answer.

use super::*;

/// Per-advance change bookkeeping.
#[derive(Default)]
pub(super) struct Changes {
    pub(super) objects: BTreeMap<&'static str, ObjectChanges>,
    /// Rows inactivated, by object path: (object index, row position).
    pub(super) inactivated: BTreeMap<&'static str, Vec<(usize, u32)>>,
    /// Rows hard-deleted, by object path: (object index, row position).
    pub(super) deleted: BTreeMap<&'static str, Vec<(usize, u32)>>,
}

impl Changes {
    /// The counts of object `object`.
    pub(super) fn entry(&mut self, object: usize) -> &mut ObjectChanges {
        self.objects.entry(OBJECTS[object].path).or_default()
    }

    /// Count a row created in `object`.
    pub(super) fn created(&mut self, object: usize) {
        self.entry(object).created += 1;
    }

    /// Count and list row `pos` of `object`, inactivated.
    fn record_inactivated(&mut self, object: usize, pos: u32) {
        self.entry(object).inactivated += 1;
        list_row(&mut self.inactivated, object, pos);
    }

    /// Count and list row `pos` of `object`, hard-deleted.
    fn record_deleted(&mut self, object: usize, pos: u32) {
        self.entry(object).deleted += 1;
        list_row(&mut self.deleted, object, pos);
    }
}

fn list_row(rows: &mut BTreeMap<&'static str, Vec<(usize, u32)>>, object: usize, pos: u32) {
    rows.entry(OBJECTS[object].path)
        .or_default()
        .push((object, pos));
}

impl World {
    /// Add a row to `object` as an event creates it, and count it.
    pub(super) fn create_row(
        &mut self,
        object: usize,
        ctx: u32,
        when: SimTime,
        changes: &mut Changes,
    ) -> u32 {
        let row = self.tables[object].push(ctx, when, when);
        changes.created(object);
        row
    }

    /// Move a row's `referencia_data` (an UPDATE at the source).
    pub(super) fn touch(&mut self, object: usize, pos: u32, when: SimTime, changes: &mut Changes) {
        let row = &mut self.tables[object].rows[pos as usize];
        if row.state.is_deleted() {
            return;
        }
        if when > row.refdt || row.state.reference_date() != ReferenceDate::Real {
            row.refdt = when.max(row.refdt);
            row.state.set_reference_date(ReferenceDate::Real);
            self.tables[object].dirty = true;
            changes.entry(object).updated += 1;
        }
    }

    /// Serve a row with `ativo='N'` from `when` on (a soft delete).
    pub(super) fn inactivate(
        &mut self,
        object: usize,
        pos: u32,
        when: SimTime,
        changes: &mut Changes,
    ) {
        let row = &mut self.tables[object].rows[pos as usize];
        if row.state.is_inactive() || row.state.is_deleted() {
            return;
        }
        row.state.inactivate();
        row.state.set_reference_date(ReferenceDate::Real);
        row.refdt = row.refdt.max(when);
        self.tables[object].dirty = true;
        changes.record_inactivated(object, pos);
    }

    /// Drop a row from every answer (a hard delete: no cursor can see it).
    pub(super) fn hard_delete(&mut self, object: usize, pos: u32, changes: &mut Changes) {
        let row = &mut self.tables[object].rows[pos as usize];
        if row.state.is_deleted() {
            return;
        }
        row.state.delete();
        self.tables[object].dirty = true;
        changes.record_deleted(object, pos);
    }
}
