//! A row's assembly: its fields in the object's order, typed as documented, with the quirks,
//! the metric dirt and the id dirt of [`crate::dirt`], the deliberate defect of
//! [`crate::Malformation`] if the row has one, and `referencia` built from the key fields.

use super::*;

/// A rendered row: (field, value) pairs in field-list order.
pub(super) type Pairs = Vec<(&'static str, Value)>;

impl RowRenderer<'_> {
    /// The row as served: its fields, then the deliberate defect if it has one.
    pub(super) fn pairs(&self) -> Pairs {
        let mut pairs = self.clean_pairs();
        if let Some(malformation) = self.world.malformed.get(&(self.object, self.pos)) {
            self.malform(malformation, &mut pairs);
        }
        pairs
    }

    /// Apply a [`crate::Malformation`]; `referencia` (already computed) keeps naming the row.
    fn malform(&self, malformation: &crate::Malformation, pairs: &mut Pairs) {
        match malformation {
            crate::Malformation::NoKey => pairs.retain(|(name, _)| !self.spec.key.contains(name)),
            crate::Malformation::TextIn { field } => {
                let text = Value::from("não informado");
                if let Some(slot) = pairs.iter_mut().find(|(name, _)| *name == field.as_str()) {
                    slot.1 = text;
                } else if let Some(&FieldDef { name, .. }) = field_lists()[self.object]
                    .iter()
                    .find(|def| def.name == field.as_str())
                {
                    // A documented field this row leaves out (a nested array with the quirk off).
                    pairs.push((name, text));
                }
            }
        }
    }

    /// The row without its deliberate defect.
    pub(super) fn clean_pairs(&self) -> Pairs {
        let list = &field_lists()[self.object];
        let money_strings = self.quirks().metric_dirt
            && crate::dirt::MONEY_OBJECTS.contains(&self.spec.path)
            && crate::dirt::money_as_string(self.world.seed, self.object, self.pos);
        let mut pairs: Pairs = Vec::with_capacity(list.len());
        for &FieldDef { name, kind } in list {
            if name == "referencia" {
                pairs.push((name, Value::Null)); // filled below, from the key fields
                continue;
            }
            if kind == FieldKind::Array && !self.quirks().nested_arrays {
                continue;
            }
            if let Some(value) = self.field(name, kind) {
                // Ids the reference types as strings (`idunidade` on /atendimentos...) are
                // sent as strings.
                let value = match value {
                    Value::Number(number) if kind == FieldKind::Text => {
                        Value::String(number.to_string())
                    }
                    value if money_strings && crate::dirt::MONEY_FIELDS.contains(&name) => {
                        crate::dirt::money_string(value)
                    }
                    value => value,
                };
                pairs.push((name, value));
            }
        }
        if self.quirks().metric_dirt {
            self.dirty_ids(&mut pairs);
        }
        let referencia = self.referencia(&pairs);
        if let Some(slot) = pairs.iter_mut().find(|(name, _)| *name == "referencia") {
            slot.1 = referencia;
        }
        pairs
    }

    /// The id quirks of [`crate::dirt::id_dirt`]: ids left empty, or ids repeated from the
    /// previous row of a 1:N object (its content stays its own).
    fn dirty_ids(&self, pairs: &mut [(&'static str, Value)]) {
        match crate::dirt::id_dirt(self.world.seed, self.spec.path, self.pos) {
            None => {}
            Some(crate::dirt::IdDirt::Empty(fields)) => {
                for (name, value) in pairs.iter_mut() {
                    if fields.contains(name) {
                        *value = Value::from("");
                    }
                }
            }
            Some(crate::dirt::IdDirt::RepeatPrevious(fields)) => {
                let previous = RowRenderer::new(self.world, self.object, self.pos - 1);
                for (name, value) in pairs.iter_mut() {
                    if fields.contains(name) {
                        if let Some(repeated) = previous.field(name, FieldKind::Integer) {
                            *value = repeated;
                        }
                    }
                }
            }
        }
    }

    /// `referencia`: the key fields joined by `_` (a single id for the objects whose key is
    /// a group), an int under the quirk where CVDW sends one.
    fn referencia(&self, pairs: &[(&'static str, Value)]) -> Value {
        if self.spec.path == "/unidades" {
            let id = self.row.ctx as u64 + 1;
            return if self.quirks().referencia_int {
                Value::from(id)
            } else {
                Value::from(id.to_string())
            };
        }
        let text_of = |field: &str| -> String {
            pairs
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, value)| match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        let key = match self.spec.path {
            "/leads/corretores" => text_of("idlead"),
            "/leads/momentos" => text_of("idmomento_lead"),
            "/pesquisas" => text_of("idpesquisa"),
            _ => self
                .spec
                .key
                .iter()
                .map(|field| text_of(field))
                .collect::<Vec<_>>()
                .join("_"),
        };
        if self.spec.referencia_int && self.quirks().referencia_int {
            if let Ok(number) = key.parse::<u64>() {
                return Value::from(number);
            }
        }
        Value::from(key)
    }
}
